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

/** Typed-array views read the host's byte order; WAV words are little-endian, as almost every host is. */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Converts interleaved little-endian PCM words into planar floats in [-1, 1).
 * `bytes.length` must be a whole number of frames.
 *
 * 16- and 32-bit integer and float words aligned in memory (as the WAV decoder's own buffers are) are read
 * through a typed-array view of the bytes, several times faster than a DataView call per sample; other
 * input takes the DataView path. Both give the same floats: the scales are powers of two, so the divisions
 * are exact.
 *
 * @example
 * pcmToFloat(new Uint8Array([0x00, 0x40, 0x00, 0xc0]), "s16", 2); // [Float32Array [0.5], Float32Array [-0.5]]
 */
export function pcmToFloat(bytes: Uint8Array, encoding: WavEncoding, channels: number): Float32Array[] {
  const width = BYTES[encoding];
  const frames = Math.floor(bytes.length / (width * channels));
  const out = Array.from({ length: channels }, () => new Float32Array(frames));
  if (LITTLE_ENDIAN_HOST && bytes.byteOffset % width === 0) {
    const words = frames * channels;
    switch (encoding) {
      case "s16":
        deinterleave(new Int16Array(bytes.buffer, bytes.byteOffset, words), out, 1 / 32768);
        return out;
      case "s32":
        deinterleave(new Int32Array(bytes.buffer, bytes.byteOffset, words), out, 1 / 2147483648);
        return out;
      case "f32":
        deinterleave(new Float32Array(bytes.buffer, bytes.byteOffset, words), out, 1);
        return out;
      case "f64":
        deinterleave(new Float64Array(bytes.buffer, bytes.byteOffset, words), out, 1);
        return out;
      default:
        break;
    }
  }
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

/** Planar copies of interleaved words times `scale` (a power of two: exact); mono and stereo unrolled. */
function deinterleave(
  words: Int16Array | Int32Array | Float32Array | Float64Array,
  out: Float32Array[],
  scale: number,
): void {
  const channels = out.length;
  const frames = out[0]?.length ?? 0;
  if (channels === 1) {
    const d0 = out[0]!;
    for (let i = 0; i < frames; i++) d0[i] = words[i]! * scale;
  } else if (channels === 2) {
    const d0 = out[0]!;
    const d1 = out[1]!;
    for (let i = 0, j = 0; i < frames; i++, j += 2) {
      d0[i] = words[j]! * scale;
      d1[i] = words[j + 1]! * scale;
    }
  } else {
    for (let c = 0; c < channels; c++) {
      const dst = out[c]!;
      for (let i = 0, j = c; i < frames; i++, j += channels) dst[i] = words[j]! * scale;
    }
  }
}

export function bytesPerSample(encoding: WavEncoding): number {
  return BYTES[encoding];
}
