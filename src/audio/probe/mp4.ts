import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import type { AudioProbe } from "../format.js";

interface Box {
  type: string;
  start: number;
  headerSize: number;
  size: number;
}

const MAX_TOP_LEVEL_BOXES = 10000;
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl", "edts"]);

/** The boxes in `b` between `from` and `to`; `base` is the file offset of `b`, for messages. */
function boxesIn(b: Uint8Array, from: number, to: number, base = 0): Box[] {
  const out: Box[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = from;
  while (at + 8 <= to) {
    let size = dv.getUint32(at);
    let headerSize = 8;
    if (size === 1) {
      if (at + 16 > to) break;
      size = Number(dv.getBigUint64(at + 8));
      headerSize = 16;
    } else if (size === 0) size = to - at;
    const type = String.fromCharCode(...b.subarray(at + 4, at + 8));
    if (size < headerSize || at + size > to)
      throw new AudioInputError(
        "audio-header-invalid",
        `The MP4 "${type}" box at byte ${base + at} declares ${size} bytes, past the end of the box that holds it.`,
      );
    out.push({ type, start: at, headerSize, size });
    at += size;
  }
  return out;
}

/** Walks the ISO BMFF boxes: finds `moov` wherever it is and reads the first sound track's parameters. */
export async function probeMp4(src: ByteSource): Promise<AudioProbe> {
  let moov: { at: number; size: number } | null = null;
  let mdat: { at: number; size: number } | null = null;
  let fragmented = false;
  let at = 0;
  for (let n = 0; at + 8 <= src.size; n++) {
    if (n > MAX_TOP_LEVEL_BOXES)
      throw new AudioInputError("audio-header-invalid", "The MP4 file has too many boxes.");
    const h = await src.read(at, 16);
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    let size = dv.getUint32(0);
    let headerSize = 8;
    if (size === 1) {
      if (h.length < 16) break;
      size = Number(dv.getBigUint64(8));
      headerSize = 16;
    } else if (size === 0) size = src.size - at;
    if (size < headerSize)
      throw new AudioInputError("audio-header-invalid", `The MP4 box at byte ${at} has an invalid size.`);
    const type = String.fromCharCode(...h.subarray(4, 8));
    if (at + size > src.size) {
      throw new AudioInputError(
        "audio-truncated",
        `The MP4 "${type}" box declares ${size} bytes but the file ends ${src.size - at} bytes into it.`,
      );
    }
    if (type === "moov") moov = { at, size };
    else if (type === "mdat" && !mdat) mdat = { at, size };
    else if (type === "moof") fragmented = true;
    at += size;
  }
  if (!moov) {
    throw new AudioInputError(
      mdat ? "audio-truncated" : "audio-header-invalid",
      mdat
        ? "The MP4 file has media data but no moov box: it is incomplete."
        : "The MP4 file has no moov box.",
    );
  }
  if (moov.size > MAX_MOOV_BYTES)
    throw new AudioInputError("audio-header-invalid", "The MP4 moov box is larger than 64 MiB.");
  const m = await src.read(moov.at, moov.size);
  const track = findSoundTrack(m, moov.at);
  if (!track) throw new AudioInputError("no-audio", "The MP4 file has no sound track.");
  if (!mdat && !fragmented) throw new AudioInputError("no-audio", "The MP4 file has no media data.");
  return {
    format: "m4a",
    codec: track.codec,
    sampleRate: track.sampleRate,
    channels: track.channels,
    bitDepth: track.codec === "alac" || track.codec === "flac" ? track.sampleSize : null,
    durationS: track.durationS,
    audioOffset: mdat?.at ?? 0,
    audioBytes: mdat?.size ?? src.size,
    details: { fragmented, sampleEntry: track.entry },
  };
}

const CODEC_NAMES: Record<string, string> = {
  mp4a: "aac",
  alac: "alac",
  ".mp3": "mp3",
  fLaC: "flac",
  Opus: "opus",
  "ac-3": "ac3",
  "ec-3": "eac3",
};

function findSoundTrack(
  b: Uint8Array,
  base: number,
): {
  codec: string;
  entry: string;
  sampleRate: number;
  channels: number;
  sampleSize: number;
  durationS: number | null;
} | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // moov's own header is 8 or 16 bytes; children follow.
  const root = boxesIn(b, 0, b.length, base)[0];
  if (!root) return null;
  const traks = boxesIn(b, root.start + root.headerSize, root.start + root.size, base).filter(
    (x) => x.type === "trak",
  );
  for (const trak of traks) {
    const found: Record<string, Box> = {};
    const walk = (box: Box) => {
      for (const child of boxesIn(b, box.start + box.headerSize, box.start + box.size, base)) {
        found[child.type] ??= child;
        if (CONTAINERS.has(child.type)) walk(child);
      }
    };
    walk(trak);
    const hdlr = found.hdlr;
    if (
      !hdlr ||
      String.fromCharCode(
        ...b.subarray(hdlr.start + hdlr.headerSize + 8, hdlr.start + hdlr.headerSize + 12),
      ) !== "soun"
    )
      continue;
    const stsd = found.stsd;
    if (!stsd) continue;
    const entryAt = stsd.start + stsd.headerSize + 8;
    if (entryAt + 36 > stsd.start + stsd.size) continue;
    const entry = String.fromCharCode(...b.subarray(entryAt + 4, entryAt + 8));
    // The sample entry's channel count is 2 by rule for AAC in MP4 (ISO/IEC 14496-12); the real one is in the
    // AudioSpecificConfig of its esds box.
    const entryEnd = Math.min(stsd.start + stsd.size, entryAt + dv.getUint32(entryAt));
    const channels =
      (entry === "mp4a" ? aacChannels(b, entryAt, entryEnd) : null) ?? dv.getUint16(entryAt + 24);
    const sampleSize = dv.getUint16(entryAt + 26);
    let sampleRate = dv.getUint32(entryAt + 32) >>> 16;
    let durationS: number | null = null;
    const mdhd = found.mdhd;
    if (mdhd) {
      const p = mdhd.start + mdhd.headerSize;
      const v1 = b[p] === 1;
      const timescale = dv.getUint32(p + (v1 ? 20 : 12));
      const duration = v1 ? Number(dv.getBigUint64(p + 24)) : dv.getUint32(p + 16);
      if (timescale > 0 && duration > 0 && duration !== 0xffffffff) {
        // The media duration counts the encoder's priming samples too; an edit list says where playback starts.
        const start = editStart(b, found.elst);
        durationS = (duration - (start < duration ? start : 0)) / timescale;
      }
      // Sample entries hold the rate as 16.16; rates above 65535 Hz only show in the media timescale.
      if (sampleRate === 0 && timescale >= 8000) sampleRate = timescale;
    }
    return { codec: CODEC_NAMES[entry] ?? entry.trim(), entry, sampleRate, channels, sampleSize, durationS };
  }
  return null;
}

/** Media time (in the media timescale) at which the first non-empty edit of an `elst` starts, or 0. */
function editStart(b: Uint8Array, elst: Box | undefined): number {
  if (!elst) return 0;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const p = elst.start + elst.headerSize;
  const end = elst.start + elst.size;
  if (p + 8 > end) return 0;
  const v1 = b[p] === 1;
  const count = dv.getUint32(p + 4);
  const entry = v1 ? 20 : 12;
  for (let i = 0, at = p + 8; i < count && at + entry <= end; i++, at += entry) {
    const mediaTime = v1 ? Number(dv.getBigInt64(at + 8)) : dv.getInt32(at + 4);
    if (mediaTime >= 0) return mediaTime; // -1 marks an empty edit (a pause before the track starts)
  }
  return 0;
}

/**
 * Channel count from the AudioSpecificConfig inside an `mp4a` sample entry's `esds` box (ISO/IEC 14496-1
 * descriptors, 14496-3 §1.6.2.1), or null when there is none or it defers to a program config element.
 */
function aacChannels(b: Uint8Array, entryAt: number, entryEnd: number): number | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // QuickTime sound description versions 1 and 2 add 16 and 36 bytes before the child boxes.
  const version = dv.getUint16(entryAt + 16);
  let at = entryAt + 36 + (version === 1 ? 16 : version === 2 ? 36 : 0);
  while (at + 8 <= entryEnd) {
    const size = dv.getUint32(at);
    if (size < 8 || at + size > entryEnd) return null;
    if (String.fromCharCode(...b.subarray(at + 4, at + 8)) === "esds")
      return ascChannels(b, at + 12, at + size);
    at += size;
  }
  return null;
}

function ascChannels(b: Uint8Array, from: number, to: number): number | null {
  let at = from;
  const descriptor = (): { tag: number; end: number } | null => {
    if (at >= to) return null;
    const tag = b[at++]!;
    let size = 0;
    for (let i = 0; i < 4 && at < to; i++) {
      const c = b[at++]!;
      size = (size << 7) | (c & 0x7f);
      if ((c & 0x80) === 0) break;
    }
    return at + size <= to ? { tag, end: at + size } : null;
  };
  const es = descriptor();
  if (es?.tag !== 3 || at + 3 > to) return null;
  const flags = b[at + 2]!;
  at += 3;
  if (flags & 0x80) at += 2;
  if (flags & 0x40) at += 1 + (b[at] ?? 0);
  if (flags & 0x20) at += 2;
  const config = descriptor();
  if (config?.tag !== 4) return null;
  at += 13;
  const specific = descriptor();
  if (specific?.tag !== 5 || specific.end - at < 2) return null;
  // audioObjectType (5 bits, 31 escapes to 6 more), samplingFrequencyIndex (4, 15 escapes to 24), channels (4).
  let bit = at * 8;
  const read = (n: number) => {
    let v = 0;
    for (let i = 0; i < n; i++, bit++) v = (v << 1) | ((b[bit >> 3]! >> (7 - (bit & 7))) & 1);
    return v;
  };
  if (read(5) === 31) read(6);
  if (read(4) === 15) read(24);
  if (bit + 4 > specific.end * 8) return null;
  const config4 = read(4);
  const byConfig = [null, 1, 2, 3, 4, 5, 6, 8, null, null, null, 7, 8];
  return byConfig[config4] ?? null;
}
