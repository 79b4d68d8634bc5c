import { AudioInputError } from "../../errors.js";
import { StreamScanner } from "./stream-scanner.js";

/** What a FLAC frame header says (RFC 9639 §9.1), as far as the integrity check needs it. */
export interface FlacFrameHeader {
  /** Header length in bytes, CRC-8 included. */
  length: number;
  /** Frame number (fixed block size) or number of the first sample (variable block size). */
  number: number;
  variable: boolean;
  blockSize: number;
}

const CRC8 = (() => {
  const t = new Uint8Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i;
    for (let j = 0; j < 8; j++) r = r & 0x80 ? ((r << 1) ^ 0x07) & 0xff : (r << 1) & 0xff;
    t[i] = r;
  }
  return t;
})();

const CRC16 = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let r = i << 8;
    for (let j = 0; j < 8; j++) r = r & 0x8000 ? ((r << 1) ^ 0x8005) & 0xffff : (r << 1) & 0xffff;
    t[i] = r;
  }
  return t;
})();

function crc16Step(crc: number, byte: number): number {
  return ((crc << 8) ^ CRC16[((crc >> 8) ^ byte) & 0xff]!) & 0xffff;
}

/**
 * Parses a FLAC frame header at `at`. Returns null when the bytes are not a valid header (bad sync, reserved
 * values, bad CRC-8), and "more" when `b` ends before the header does.
 */
export function parseFlacFrameHeader(b: Uint8Array, at: number): FlacFrameHeader | null | "more" {
  if (at + 4 > b.length) return "more";
  if (b[at] !== 0xff || (b[at + 1]! & 0xfe) !== 0xf8) return null;
  const variable = (b[at + 1]! & 1) === 1;
  const sizeCode = b[at + 2]! >> 4;
  const rateCode = b[at + 2]! & 0x0f;
  const channelCode = b[at + 3]! >> 4;
  const depthCode = (b[at + 3]! >> 1) & 7;
  if (sizeCode === 0 || rateCode === 15 || channelCode > 10 || depthCode === 3 || (b[at + 3]! & 1) !== 0)
    return null;
  // The frame or sample number, UTF-8 style: the count of leading ones gives the number of bytes.
  let p = at + 4;
  const first = b[p];
  if (first === undefined) return "more";
  let extra = 0;
  let number: number;
  if (first < 0x80) number = first;
  else if (first >= 0xc0 && first < 0xfe) {
    extra = first >= 0xfc ? 5 : first >= 0xf8 ? 4 : first >= 0xf0 ? 3 : first >= 0xe0 ? 2 : 1;
    if (!variable && extra > 5) return null;
    number = first & (0x3f >> extra);
  } else if (first === 0xfe && variable) {
    extra = 6;
    number = 0;
  } else return null;
  if (p + 1 + extra > b.length) return "more";
  for (let i = 1; i <= extra; i++) {
    const c = b[p + i]!;
    if ((c & 0xc0) !== 0x80) return null;
    number = number * 64 + (c & 0x3f);
  }
  p += 1 + extra;
  let blockSize: number;
  if (sizeCode === 1) blockSize = 192;
  else if (sizeCode <= 5) blockSize = 576 * 2 ** (sizeCode - 2);
  else if (sizeCode === 6) {
    if (p + 1 > b.length) return "more";
    blockSize = b[p]! + 1;
    p += 1;
  } else if (sizeCode === 7) {
    if (p + 2 > b.length) return "more";
    blockSize = ((b[p]! << 8) | b[p + 1]!) + 1;
    p += 2;
  } else blockSize = 256 * 2 ** (sizeCode - 8);
  if (rateCode === 12) p += 1;
  else if (rateCode === 13 || rateCode === 14) p += 2;
  if (p + 1 > b.length) return "more";
  let crc = 0;
  for (let i = at; i < p; i++) crc = CRC8[crc ^ b[i]!]!;
  if (crc !== b[p]) return null;
  return { length: p + 1 - at, number, variable, blockSize };
}

/** A generous bound on one FLAC frame: 65535 samples of 8 channels of 32-bit words, stored verbatim. */
const MAX_FRAME_BYTES = 65535 * 8 * 4 + 64;

/**
 * Checks a FLAC frame stream as it passes: every frame must start where the previous one ended, carry a valid
 * header CRC-8 and footer CRC-16, and the next frame (or sample) number. The FLAC decoder library drops a
 * frame that fails its CRC together with everything after it, silently, which would let a corrupt or cut
 * file through as a shorter one.
 */
export class FlacIntegrityCheck extends StreamScanner {
  /** Within `pending`: where the search for the next header resumes, and the CRC-16 of its first `crcLen` bytes. */
  private scanned = 0;
  private crc = 0;
  private crcLen = 0;
  private header: FlacFrameHeader | null = null;
  private expected: number | null = null;
  /** A later header with a number past the expected one was seen inside a frame that does not check out. */
  private resyncSeen = false;
  frames = 0;

  /** @param audioOffset where the frames begin: after the "fLaC" marker and metadata blocks (and any ID3 tag). */
  constructor(audioOffset: number) {
    super(audioOffset);
  }

  push(chunk: Uint8Array): void {
    const buf = this.joined(chunk);
    if (!buf) return;
    this.pending = buf;
    this.scan(false);
  }

  finish(): void {
    this.scan(true);
  }

  private scan(final: boolean): void {
    for (;;) {
      const b = this.pending;
      if (b.length === 0) return;
      if (!this.header) {
        const h = parseFlacFrameHeader(b, 0);
        if (h === "more") {
          if (final) this.endsEarly();
          return;
        }
        if (!h) {
          if (final && this.isTrailingTag(b)) {
            this.pending = new Uint8Array(0);
            return;
          }
          throw new AudioInputError(
            "audio-corrupt",
            `The FLAC stream has data that is not a frame at byte ${this.offset}${this.frames > 0 ? ` (after frame ${this.frames - 1})` : ""}.`,
          );
        }
        this.header = h;
        this.resyncSeen = false;
      }
      const end = this.findFrameEnd(final);
      if (end === null) {
        if (final) this.endsEarly();
        if (b.length > MAX_FRAME_BYTES) this.corrupt();
        return;
      }
      this.accept(end);
    }
  }

  /**
   * Where the current frame ends: at the next header whose preceding two bytes are the frame's CRC-16 or, at
   * the end of the stream, at the end (or before a trailing ID3v1 tag).
   */
  private findFrameEnd(final: boolean): number | null {
    const b = this.pending;
    const h = this.header!;
    const next = h.variable ? h.number + h.blockSize : h.number + 1;
    let crc = this.crc;
    let crcLen = this.crcLen;
    let i = Math.max(this.scanned, h.length + 2);
    for (; i < b.length; i++) {
      if (b[i] !== 0xff) continue;
      const candidate = parseFlacFrameHeader(b, i);
      if (candidate === "more") break;
      if (!candidate) continue;
      // The CRC-16 covers everything before its own two bytes.
      while (crcLen < i - 2) crc = crc16Step(crc, b[crcLen++]!);
      if (((b[i - 2]! << 8) | b[i - 1]!) === crc) {
        this.crc = 0;
        this.crcLen = 0;
        this.scanned = 0;
        return i;
      }
      if (candidate.variable === h.variable) {
        if (candidate.number === next) this.corrupt();
        if (candidate.number > next) this.resyncSeen = true;
      }
    }
    this.scanned = i;
    this.crc = crc;
    this.crcLen = crcLen;
    if (final) {
      const ends = [b.length];
      if (this.isTrailingTag(b.subarray(b.length - 128))) ends.push(b.length - 128);
      for (const end of ends) {
        if (end < h.length + 2) continue;
        let c = 0;
        for (let k = 0; k < end - 2; k++) c = crc16Step(c, b[k]!);
        if (((b[end - 2]! << 8) | b[end - 1]!) === c) return end;
      }
    }
    return null;
  }

  private accept(end: number): void {
    const h = this.header!;
    if (this.expected !== null && h.number !== this.expected) {
      const unit = h.variable ? "sample" : "frame";
      throw new AudioInputError(
        "audio-corrupt",
        `FLAC ${unit} ${this.expected} is missing (the frame at byte ${this.offset} starts at ${unit} ${h.number}).`,
      );
    }
    this.expected = h.variable ? h.number + h.blockSize : h.number + 1;
    this.frames++;
    this.offset += end;
    this.pending = this.pending.subarray(end);
    this.header = null;
  }

  private corrupt(): never {
    const h = this.header!;
    throw new AudioInputError(
      "audio-corrupt",
      `FLAC ${h.variable ? "frame at sample" : "frame"} ${h.number} at byte ${this.offset} fails its checksum.`,
    );
  }

  private endsEarly(): never {
    if (this.resyncSeen) this.corrupt();
    throw new AudioInputError(
      "audio-truncated",
      `The FLAC stream ends inside a frame at byte ${this.offset}: it was cut off.`,
    );
  }

  /** An ID3v1 tag (128 bytes, "TAG") after the last frame is tolerated, as players do. */
  private isTrailingTag(b: Uint8Array): boolean {
    return b.length === 128 && b[0] === 0x54 && b[1] === 0x41 && b[2] === 0x47;
  }
}
