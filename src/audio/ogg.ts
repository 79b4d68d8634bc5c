/** Ogg page layout (RFC 3533) — shared by probing (first and last page) and the decoder's integrity check. */
export interface OggPage {
  offset: number;
  headerType: number;
  granule: bigint;
  serial: number;
  sequence: number;
  headerLength: number;
  bodyLength: number;
}

export const OGG_BOS = 0x02;
export const OGG_EOS = 0x04;

/** Parses the page header at `at`, or null if there is none or it is incomplete in `b`. */
export function parseOggPage(b: Uint8Array, at: number, base = 0): OggPage | null {
  if (at + 27 > b.length || b[at] !== 0x4f || b[at + 1] !== 0x67 || b[at + 2] !== 0x67 || b[at + 3] !== 0x53)
    return null;
  if (b[at + 4] !== 0) return null;
  const segments = b[at + 26]!;
  if (at + 27 + segments > b.length) return null;
  let body = 0;
  for (let i = 0; i < segments; i++) body += b[at + 27 + i]!;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  return {
    offset: base + at,
    headerType: b[at + 5]!,
    granule: dv.getBigInt64(at + 6, true),
    serial: dv.getUint32(at + 14, true),
    sequence: dv.getUint32(at + 18, true),
    headerLength: 27 + segments,
    bodyLength: body,
  };
}

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 24;
    for (let j = 0; j < 8; j++) r = r & 0x80000000 ? (r << 1) ^ 0x04c11db7 : r << 1;
    t[i] = r >>> 0;
  }
  return t;
})();

/** Ogg's CRC-32 (polynomial 0x04c11db7, no reflection), computed with the checksum field taken as zero. */
export function oggPageCrc(page: Uint8Array): number {
  let crc = 0;
  for (let i = 0; i < page.length; i++) {
    const byte = i >= 22 && i < 26 ? 0 : page[i]!;
    crc = ((crc << 8) ^ CRC_TABLE[((crc >>> 24) ^ byte) & 0xff]!) >>> 0;
  }
  return crc;
}

export function storedOggCrc(page: Uint8Array): number {
  return new DataView(page.buffer, page.byteOffset, page.byteLength).getUint32(22, true);
}
