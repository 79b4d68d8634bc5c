import type { WavEncoding } from "../probe/wav.js";

const BYTES: Record<WavEncoding, number> = {
  u8: 1,
  s16: 2,
  s24: 3,
  s32: 4,
  f32: 4,
  f64: 8,
  alaw: 1,
  mulaw: 1,
};

/** G.711 expansions, built once: 256 entries each, scaled to ±1. */
const ALAW = new Float32Array(256);
const MULAW = new Float32Array(256);
for (let i = 0; i < 256; i++) {
  // A-law (ITU-T G.711): even bits inverted, 3-bit segment, 4-bit mantissa.
  const a = i ^ 0x55;
  const seg = (a & 0x70) >> 4;
  let t = (a & 0x0f) << 4;
  t = seg === 0 ? t + 8 : (t + 0x108) << (seg - 1);
  ALAW[i] = ((a & 0x80) !== 0 ? t : -t) / 32768;
  // µ-law: all bits inverted, bias 0x84.
  const u = ~i & 0xff;
  let m = (((u & 0x0f) << 3) + 0x84) << ((u & 0x70) >> 4);
  m -= 0x84;
  MULAW[i] = ((u & 0x80) !== 0 ? -m : m) / 32768;
}

/**
 * Converts interleaved little-endian PCM words into planar floats in [-1, 1).
 * `bytes.length` must be a whole number of frames.
 */
export function pcmToFloat(bytes: Uint8Array, encoding: WavEncoding, channels: number): Float32Array[] {
  const width = BYTES[encoding];
  const frames = Math.floor(bytes.length / (width * channels));
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let c = 0; c < channels; c++) {
    const dst = out[c]!;
    let at = c * width;
    const step = width * channels;
    switch (encoding) {
      case "u8":
        for (let i = 0; i < frames; i++, at += step) dst[i] = (bytes[at]! - 128) / 128;
        break;
      case "s16":
        for (let i = 0; i < frames; i++, at += step) dst[i] = dv.getInt16(at, true) / 32768;
        break;
      case "s24":
        for (let i = 0; i < frames; i++, at += step) {
          const v = bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16);
          dst[i] = ((v << 8) >> 8) / 8388608;
        }
        break;
      case "s32":
        for (let i = 0; i < frames; i++, at += step) dst[i] = dv.getInt32(at, true) / 2147483648;
        break;
      case "f32":
        for (let i = 0; i < frames; i++, at += step) dst[i] = dv.getFloat32(at, true);
        break;
      case "f64":
        for (let i = 0; i < frames; i++, at += step) dst[i] = dv.getFloat64(at, true);
        break;
      case "alaw":
        for (let i = 0; i < frames; i++, at += step) dst[i] = ALAW[bytes[at]!]!;
        break;
      case "mulaw":
        for (let i = 0; i < frames; i++, at += step) dst[i] = MULAW[bytes[at]!]!;
        break;
    }
  }
  return out;
}

export function bytesPerSample(encoding: WavEncoding): number {
  return BYTES[encoding];
}
