/**
 * Streaming audio statistics: loudness (ITU-R BS.1770-4 / EBU R128), loudness range (EBU Tech 3342), sample
 * and true peak, silence, clipping and spectral flatness.
 *
 * Audio is pushed in chunks of planar float samples. Memory is bounded: besides a few fixed-size buffers the
 * accumulator keeps one number per 100 ms block (K-weighted energy) and one per 0.5 s analysis frame
 * (spectral flatness) — about 43,000 numbers for an hour of audio, whatever the sample rate or channel
 * count. Chunk boundaries never change a result: all state (filters, interpolator history, runs, frames) is
 * carried across chunks and every sum is accumulated in sample order, so any chunking gives bit-identical
 * figures.
 *
 * @module
 */
import { extractFeatures } from "./features.js";

/** Identifies the definitions below; bump when any figure's definition changes. */
export const STATS_VERSION = "stats-1";

export interface AudioStats {
  durationS: number;
  /** ITU-R BS.1770-4 / EBU R128 integrated loudness; null when every 400 ms block is below the absolute gate. */
  integratedLoudnessLufs: number | null;
  /**
   * EBU Tech 3342 loudness range from 3 s blocks every 100 ms; null when no block passes the gates (e.g. when
   * shorter than 3 s).
   */
  loudnessRangeLu: number | null;
  /** max |x| over all channels in dBFS; null for digital silence. */
  samplePeakDbfs: number | null;
  /** BS.1770-4 Annex 2 style oversampled peak in dBTP; null for digital silence. */
  truePeakDbtp: number | null;
  /** Fraction of 100 ms blocks whose RMS (loudest channel) is below −60 dBFS. */
  silenceRatio: number;
  /** Silence before the first non-silent 100 ms block (whole duration if all silent). */
  leadingSilenceS: number;
  /** Silence after the last non-silent 100 ms block (whole duration if all silent). */
  trailingSilenceS: number;
  /** Fraction of all samples at ≥ 0.999 full scale that belong to a run of ≥ 3 such samples in their channel. */
  clippingRatio: number;
  /** Median Meyda spectral flatness over non-silent 2048-sample frames taken every 0.5 s; null if none. */
  spectralFlatness: number | null;
}

export interface StatsAccumulator {
  /**
   * Adds one chunk: one array per channel, all the same length (any length, including 0).
   * @throws Error if the channel count or lengths are wrong, or after {@link StatsAccumulator.finish}.
   */
  push(channels: Float32Array[]): void;
  /** Completes the analysis and returns the figures. Later calls return the same object. */
  finish(): AudioStats;
}

// ---------------------------------------------------------------------------------------------------------
// K-weighting (BS.1770-4 Annex 1)

/** Biquad coefficients, normalised so that a0 = 1: y = b0·x + b1·x₁ + b2·x₂ − a1·y₁ − a2·y₂. */
export interface Biquad {
  b0: number;
  b1: number;
  b2: number;
  a1: number;
  a2: number;
}

/**
 * Analogue second-order section H(s) = (vHigh·s² + vBand·s/q + vLow) / (s² + s/q + 1), with s normalised to
 * the corner frequency f0. A high shelf has vLow = 1, vHigh = shelf gain; a high-pass has vBand = vLow = 0.
 */
interface AnaloguePrototype {
  f0: number;
  q: number;
  vLow: number;
  vBand: number;
  vHigh: number;
}

// The standard publishes the two K-weighting stages only as 48 kHz biquads (Tables 1 and 2 of BS.1770-4).
const BS1770_RATE = 48_000;
const BS1770_SHELF: Biquad = {
  b0: 1.53512485958697,
  b1: -2.69169618940638,
  b2: 1.19839281085285,
  a1: -1.69065929318241,
  a2: 0.73248077421585,
};
const BS1770_HIGHPASS: Biquad = { b0: 1, b1: -2, b2: 1, a1: -1.99004745483398, a2: 0.99007225036621 };

/**
 * Recovers the analogue prototype behind a digital biquad designed by the bilinear transform with the corner
 * frequency pre-warped, i.e. s = (1/K)·(z − 1)/(z + 1) with K = tan(π·f0/fs). Substituting gives
 *   a0 = 1 + K/q + K², a1 = 2(K² − 1)/a0, a2 = (1 − K/q + K²)/a0,
 *   b0 = (vHigh + vBand·K/q + vLow·K²)/a0, b1 = 2(vLow·K² − vHigh)/a0, b2 = (vHigh − vBand·K/q + vLow·K²)/a0,
 * which inverts in closed form (sums and differences of the coefficients evaluated at z = ±1).
 */
function analogueFromDigital(d: Biquad, fs: number): AnaloguePrototype {
  const atNyquist = 1 - d.a1 + d.a2; // = 4/a0
  const k2 = (1 + d.a1 + d.a2) / atNyquist;
  const k = Math.sqrt(k2);
  const a0 = 4 / atNyquist;
  const kOverQ = a0 - 1 - k2;
  return {
    f0: (fs * Math.atan(k)) / Math.PI,
    q: k / kOverQ,
    vLow: ((d.b0 + d.b1 + d.b2) * a0) / (4 * k2),
    vBand: ((d.b0 - d.b2) * a0) / (2 * kOverQ),
    vHigh: ((d.b0 - d.b1 + d.b2) * a0) / 4,
  };
}

/** Bilinear transform of an analogue prototype at sample rate fs, with f0 pre-warped so it lands exactly. */
function digitalFromAnalogue(p: AnaloguePrototype, fs: number): Biquad {
  const k = Math.tan((Math.PI * p.f0) / fs);
  const kq = k / p.q;
  const k2 = k * k;
  const a0 = 1 + kq + k2;
  return {
    b0: (p.vHigh + p.vBand * kq + p.vLow * k2) / a0,
    b1: (2 * (p.vLow * k2 - p.vHigh)) / a0,
    b2: (p.vHigh - p.vBand * kq + p.vLow * k2) / a0,
    a1: (2 * (k2 - 1)) / a0,
    a2: (1 - kq + k2) / a0,
  };
}

// Shelf: f0 ≈ 1681.97 Hz, q ≈ 0.7072, +4.0 dB at high frequencies. High-pass ("RLB"): f0 ≈ 38.135 Hz,
// q ≈ 0.5003. The published high-pass keeps b = [1, −2, 1] un-normalised, i.e. a pass-band gain of
// vHigh ≈ 1.005 (+0.043 dB) that the −0.691 dB constant of the loudness formula was calibrated with; keeping
// vHigh in the prototype reproduces that gain at every rate instead of letting it drift with K (which would
// read 0.2 dB loud at 8 kHz).
const SHELF_PROTOTYPE = analogueFromDigital(BS1770_SHELF, BS1770_RATE);
const HIGHPASS_PROTOTYPE = analogueFromDigital(BS1770_HIGHPASS, BS1770_RATE);

/** |H(e^{j2πf/fs})| of a biquad. */
export function biquadMagnitude(d: Biquad, f: number, fs: number): number {
  const w = (2 * Math.PI * f) / fs;
  const c1 = Math.cos(w);
  const c2 = Math.cos(2 * w);
  const s1 = Math.sin(w);
  const s2 = Math.sin(2 * w);
  const num = Math.hypot(d.b0 + d.b1 * c1 + d.b2 * c2, d.b1 * s1 + d.b2 * s2);
  const den = Math.hypot(1 + d.a1 * c1 + d.a2 * c2, d.a1 * s1 + d.a2 * s2);
  return num / den;
}

/**
 * A shelf whose magnitude matches the standard's 48 kHz shelf at DC, at `fs`/2 and at f0, for rates where the
 * bilinear transform's frequency warping hurts: squeezing the whole analogue axis below fs/2 shifts the
 * 1–4 kHz part of the shelf by up to 0.28 dB at 8 kHz. The poles come from the analogue poles by z = e^{sT}
 * (no warping); the numerator is then solved from |B(e^{jω})|² = B0·cos²(ω/2) + B1·sin²(ω/2) +
 * B2·sin²ω, which is linear in B0 = (b0 + b1 + b2)², B1 = (b0 − b1 + b2)², B2 = −4·b0·b2, so three target
 * magnitudes give B0..B2 and hence b0..b2. Returns null if the targets are not realisable.
 */
function magnitudeMatchedShelf(fs: number): Biquad | null {
  const { f0, q } = SHELF_PROTOTYPE;
  const w0 = (2 * Math.PI * f0) / fs;
  const zeta = 1 / (2 * q);
  const r = Math.exp(-zeta * w0);
  const a1 =
    zeta < 1
      ? -2 * r * Math.cos(w0 * Math.sqrt(1 - zeta * zeta))
      : -2 * r * Math.cosh(w0 * Math.sqrt(zeta * zeta - 1));
  const a2 = r * r;
  const target = (f: number): number => biquadMagnitude(BS1770_SHELF, f, BS1770_RATE) ** 2;
  const denominator2 = (f: number): number => {
    const s = Math.sin((Math.PI * f) / fs) ** 2;
    return (1 + a1 + a2) ** 2 * (1 - s) + (1 - a1 + a2) ** 2 * s - 16 * a2 * s * (1 - s);
  };
  const bigB0 = target(0) * denominator2(0);
  const bigB1 = target(fs / 2) * denominator2(fs / 2);
  const s = Math.sin((Math.PI * f0) / fs) ** 2;
  const bigB2 = (target(f0) * denominator2(f0) - bigB0 * (1 - s) - bigB1 * s) / (4 * s * (1 - s));
  const sumAtDc = Math.sqrt(bigB0); // b0 + b1 + b2
  const sumAtNyquist = Math.sqrt(bigB1); // b0 − b1 + b2
  const outer = (sumAtDc + sumAtNyquist) / 2; // b0 + b2
  const disc = outer * outer + bigB2; // (b0 − b2)²
  if (!(disc >= 0)) return null;
  const b0 = (outer + Math.sqrt(disc)) / 2;
  return { b0, b1: (sumAtDc - sumAtNyquist) / 2, b2: outer - b0, a1, a2 };
}

/** Largest deviation in dB from the standard's 48 kHz shelf, from 20 Hz up to fs/2 (log-spaced grid). */
function shelfDeviationDb(d: Biquad, fs: number): number {
  let worst = 0;
  const top = fs / 2;
  for (let f = 20; f < top; f *= 1.01) {
    const err = Math.abs(
      20 * Math.log10(biquadMagnitude(d, f, fs) / biquadMagnitude(BS1770_SHELF, f, BS1770_RATE)),
    );
    if (err > worst) worst = err;
  }
  return worst;
}

/**
 * The two K-weighting stages (high shelf, then RLB high-pass) for `sampleRate`.
 *
 * Both come from the analogue prototypes by the bilinear transform with the corner pre-warped; at 48 kHz that
 * reproduces the coefficients printed in BS.1770-4. Below 48 kHz the shelf is also designed by magnitude
 * matching ({@link magnitudeMatchedShelf}) and whichever stays closer to the standard's response is used: the
 * bilinear design is within 0.002 dB from 44.1 kHz up, the matched one within 0.04 dB at 8 kHz where the
 * bilinear one is 0.28 dB off. The high-pass (38 Hz) is far enough from every Nyquist frequency that the
 * bilinear transform is always accurate.
 */
export function kWeightingCoefficients(sampleRate: number): { shelf: Biquad; highPass: Biquad } {
  let shelf = digitalFromAnalogue(SHELF_PROTOTYPE, sampleRate);
  if (sampleRate < BS1770_RATE) {
    const matched = magnitudeMatchedShelf(sampleRate);
    if (matched && shelfDeviationDb(matched, sampleRate) < shelfDeviationDb(shelf, sampleRate))
      shelf = matched;
  }
  return { shelf, highPass: digitalFromAnalogue(HIGHPASS_PROTOTYPE, sampleRate) };
}

// ---------------------------------------------------------------------------------------------------------
// True-peak interpolator (BS.1770-4 Annex 2 style)

/**
 * Input samples spanned by each polyphase branch (the Annex 2 example uses 12; 16 keeps ±0.03 dB up to 0.4·fs).
 * The unrolled kernels peak4x/peak2x are written for exactly 16.
 */
const TP_TAPS = 16;
/** Windows per skip test in the true-peak scan (see Accumulator.truePeak). */
const TP_GROUP = 32;
/** Kaiser window β for the interpolating sinc: ≈ 50 dB side lobes, flat pass band for this length. */
const TP_KAISER_BETA = 5;

/** Zeroth-order modified Bessel function of the first kind (power series; converges fast for β ≤ 10). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  for (let k = 1; k < 40; k++) {
    term *= (x / (2 * k)) ** 2;
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/**
 * Polyphase branches of a Kaiser-windowed sinc interpolator for `factor`× oversampling. Branch p (1..factor−1)
 * estimates the signal at fraction p/factor between window samples TP_TAPS/2 − 1 and TP_TAPS/2; branch 0 would
 * be the samples themselves, which the sample peak already covers. Each branch is normalised to unity DC gain.
 * Returned flat: coefficient j of branch p at [(p − 1)·TP_TAPS + j], for window sample j (oldest first).
 */
function interpolatorBranches(factor: number): Float64Array {
  const out = new Float64Array((factor - 1) * TP_TAPS);
  const half = TP_TAPS / 2;
  const i0Beta = besselI0(TP_KAISER_BETA);
  for (let p = 1; p < factor; p++) {
    const frac = p / factor;
    let sum = 0;
    for (let j = 0; j < TP_TAPS; j++) {
      const t = frac - (j - (half - 1)); // distance from window sample j to the interpolated instant
      const sinc = Math.sin(Math.PI * t) / (Math.PI * t);
      const r = t / half;
      const w = besselI0(TP_KAISER_BETA * Math.sqrt(Math.max(0, 1 - r * r))) / i0Beta;
      out[(p - 1) * TP_TAPS + j] = sinc * w;
      sum += sinc * w;
    }
    for (let j = 0; j < TP_TAPS; j++) out[(p - 1) * TP_TAPS + j]! /= sum;
  }
  return out;
}

/** 4× below 96 kHz, 2× up to 192 kHz, none from 192 kHz (BS.1770-4 Annex 2 asks for ≥ 192 kHz after it). */
function oversamplingFactor(sampleRate: number): number {
  if (sampleRate < 96_000) return 4;
  if (sampleRate < 192_000) return 2;
  return 1;
}

/**
 * Packs the branches for the unrolled kernels below, which exploit the symmetry of a windowed sinc: the 1/2
 * branch is symmetric (coefficient j = coefficient 15 − j) and the 3/4 branch is the 1/4 branch reversed, so
 * with u_j = x_j + x_(15−j) and v_j = x_j − x_(15−j) (j < 8) the three branches cost 24 multiplications
 * instead of 48. Layout: [half(8), even part of 1/4 (8), odd part of 1/4 (8)].
 */
function packKernel(factor: number): Float64Array {
  const br = interpolatorBranches(factor);
  const half = TP_TAPS / 2;
  const k = new Float64Array(3 * half);
  const mid = factor === 4 ? TP_TAPS : 0; // offset of the 1/2 branch in `br`
  for (let j = 0; j < half; j++) {
    k[j] = br[mid + j]!;
    if (factor === 4) {
      const a = br[j]!;
      const b = br[TP_TAPS - 1 - j]!;
      k[half + j] = (a + b) / 2;
      k[2 * half + j] = (a - b) / 2;
    }
  }
  return k;
}

/** 4× kernel: for each window buf[i..i+15], i in [from, to), the peak of the branches at 1/4, 1/2 and 3/4. */
function peak4x(buf: Float32Array, from: number, to: number, k: Float64Array, peak: number): number {
  const h0 = k[0]!;
  const h1 = k[1]!;
  const h2 = k[2]!;
  const h3 = k[3]!;
  const h4 = k[4]!;
  const h5 = k[5]!;
  const h6 = k[6]!;
  const h7 = k[7]!;
  const e0 = k[8]!;
  const e1 = k[9]!;
  const e2 = k[10]!;
  const e3 = k[11]!;
  const e4 = k[12]!;
  const e5 = k[13]!;
  const e6 = k[14]!;
  const e7 = k[15]!;
  const o0 = k[16]!;
  const o1 = k[17]!;
  const o2 = k[18]!;
  const o3 = k[19]!;
  const o4 = k[20]!;
  const o5 = k[21]!;
  const o6 = k[22]!;
  const o7 = k[23]!;
  let best = peak;
  let x0 = buf[from]!;
  let x1 = buf[from + 1]!;
  let x2 = buf[from + 2]!;
  let x3 = buf[from + 3]!;
  let x4 = buf[from + 4]!;
  let x5 = buf[from + 5]!;
  let x6 = buf[from + 6]!;
  let x7 = buf[from + 7]!;
  let x8 = buf[from + 8]!;
  let x9 = buf[from + 9]!;
  let x10 = buf[from + 10]!;
  let x11 = buf[from + 11]!;
  let x12 = buf[from + 12]!;
  let x13 = buf[from + 13]!;
  let x14 = buf[from + 14]!;
  for (let i = from + 15, end = to + 15; i < end; i++) {
    const x15 = buf[i]!;
    const u0 = x0 + x15;
    const u1 = x1 + x14;
    const u2 = x2 + x13;
    const u3 = x3 + x12;
    const u4 = x4 + x11;
    const u5 = x5 + x10;
    const u6 = x6 + x9;
    const u7 = x7 + x8;
    const v0 = x0 - x15;
    const v1 = x1 - x14;
    const v2 = x2 - x13;
    const v3 = x3 - x12;
    const v4 = x4 - x11;
    const v5 = x5 - x10;
    const v6 = x6 - x9;
    const v7 = x7 - x8;
    const half = h0 * u0 + h1 * u1 + h2 * u2 + h3 * u3 + h4 * u4 + h5 * u5 + h6 * u6 + h7 * u7;
    const even = e0 * u0 + e1 * u1 + e2 * u2 + e3 * u3 + e4 * u4 + e5 * u5 + e6 * u6 + e7 * u7;
    const odd = o0 * v0 + o1 * v1 + o2 * v2 + o3 * v3 + o4 * v4 + o5 * v5 + o6 * v6 + o7 * v7;
    // The 1/4 and 3/4 branches are mirror images: even ± odd. max(|a + b|, |a − b|) = |a| + |b|.
    const quarter = Math.abs(even) + Math.abs(odd);
    if (quarter > best) best = quarter;
    const mid = Math.abs(half);
    if (mid > best) best = mid;
    x0 = x1;
    x1 = x2;
    x2 = x3;
    x3 = x4;
    x4 = x5;
    x5 = x6;
    x6 = x7;
    x7 = x8;
    x8 = x9;
    x9 = x10;
    x10 = x11;
    x11 = x12;
    x12 = x13;
    x13 = x14;
    x14 = x15;
  }
  return best;
}

/** 2× kernel: for each window buf[i..i+15], i in [from, to), the peak of the branch at 1/2. */
function peak2x(buf: Float32Array, from: number, to: number, k: Float64Array, peak: number): number {
  const h0 = k[0]!;
  const h1 = k[1]!;
  const h2 = k[2]!;
  const h3 = k[3]!;
  const h4 = k[4]!;
  const h5 = k[5]!;
  const h6 = k[6]!;
  const h7 = k[7]!;
  let best = peak;
  let x0 = buf[from]!;
  let x1 = buf[from + 1]!;
  let x2 = buf[from + 2]!;
  let x3 = buf[from + 3]!;
  let x4 = buf[from + 4]!;
  let x5 = buf[from + 5]!;
  let x6 = buf[from + 6]!;
  let x7 = buf[from + 7]!;
  let x8 = buf[from + 8]!;
  let x9 = buf[from + 9]!;
  let x10 = buf[from + 10]!;
  let x11 = buf[from + 11]!;
  let x12 = buf[from + 12]!;
  let x13 = buf[from + 13]!;
  let x14 = buf[from + 14]!;
  for (let i = from + 15, end = to + 15; i < end; i++) {
    const x15 = buf[i]!;
    const u0 = x0 + x15;
    const u1 = x1 + x14;
    const u2 = x2 + x13;
    const u3 = x3 + x12;
    const u4 = x4 + x11;
    const u5 = x5 + x10;
    const u6 = x6 + x9;
    const u7 = x7 + x8;
    const half = h0 * u0 + h1 * u1 + h2 * u2 + h3 * u3 + h4 * u4 + h5 * u5 + h6 * u6 + h7 * u7;
    const mid = Math.abs(half);
    if (mid > best) best = mid;
    x0 = x1;
    x1 = x2;
    x2 = x3;
    x3 = x4;
    x4 = x5;
    x5 = x6;
    x6 = x7;
    x7 = x8;
    x8 = x9;
    x9 = x10;
    x10 = x11;
    x11 = x12;
    x12 = x13;
    x13 = x14;
    x14 = x15;
  }
  return best;
}

// ---------------------------------------------------------------------------------------------------------
// Thresholds

const SUB_BLOCKS_PER_SECOND = 10; // 100 ms: the hop of both the 400 ms and the 3 s loudness windows
const GATING_SUB_BLOCKS = 4; // 400 ms momentary block, 75 % overlap
const SHORT_TERM_SUB_BLOCKS = 30; // 3 s short-term block, hop 100 ms (Tech 3342 allows any hop ≤ 1 s)
const LOUDNESS_OFFSET = -0.691;
const ABSOLUTE_GATE_LUFS = -70;
const RELATIVE_GATE_LU = -10;
const LRA_RELATIVE_GATE_LU = -20;
const SILENCE_MEAN_SQUARE = 1e-6; // (−60 dBFS)² as RMS²
const CLIP_LEVEL = 0.999;
const CLIP_MIN_RUN = 3;
const FLATNESS_FRAME = 2048;
const FLATNESS_HOP_S = 0.5;
/**
 * Filter states below this are flushed to 0 at block ends: a decaying IIR would otherwise sink into slow
 * subnormal arithmetic (or a subnormal limit cycle) during long digital silence. Their energy (< 1e-50) is
 * far below anything measured.
 */
const DENORMAL_GUARD = 1e-25;

/**
 * Channel weights G_i of BS.1770-4. With 6 channels the order is taken to be L R C LFE Ls Rs (SMPTE/ITU
 * 5.1): the LFE is excluded and the surrounds get +1.5 dB (1.41). Any other channel count — mono, stereo,
 * and also layouts whose order we cannot know, such as 5.0 or 7.1 — weights every channel 1.0.
 */
function channelWeights(channelCount: number): Float64Array {
  if (channelCount === 6) return Float64Array.from([1, 1, 1, 0, 1.41, 1.41]);
  return new Float64Array(channelCount).fill(1);
}

/** A copy of `x` with NaN and ±Infinity replaced by 0. */
function withoutNonFinite(x: Float32Array): Float32Array {
  const out = Float32Array.from(x);
  for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i]!)) out[i] = 0;
  return out;
}

function energyToLufs(meanSquare: number): number {
  return LOUDNESS_OFFSET + 10 * Math.log10(meanSquare);
}

/** A growable Float64Array used for the per-block series (one value per 100 ms / per 0.5 s). */
class Series {
  data = new Float64Array(256);
  length = 0;
  push(v: number): void {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = v;
  }
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}

/** Nearest-rank percentile of sorted values: sorted[round((n − 1)·p)]. */
function percentileSorted(sorted: Float64Array, p: number): number {
  return sorted[Math.round((sorted.length - 1) * p)]!;
}

function median(values: Float64Array): number | null {
  if (values.length === 0) return null;
  const s = Float64Array.from(values).sort();
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Integrated loudness from the 400 ms block energies: absolute gate, then relative gate (BS.1770-4 §2.8). */
function gatedLoudness(blocks: Float64Array, relativeGateLu: number): number | null {
  const absGate = 10 ** ((ABSOLUTE_GATE_LUFS - LOUDNESS_OFFSET) / 10);
  let sum = 0;
  let count = 0;
  for (const z of blocks) {
    if (z > absGate) {
      sum += z;
      count++;
    }
  }
  if (count === 0) return null;
  const relGate = (sum / count) * 10 ** (relativeGateLu / 10);
  let gatedSum = 0;
  let gatedCount = 0;
  for (const z of blocks) {
    if (z > absGate && z > relGate) {
      gatedSum += z;
      gatedCount++;
    }
  }
  return energyToLufs(gatedSum / gatedCount);
}

/** EBU Tech 3342 loudness range from the 3 s block energies. */
function loudnessRange(shortTerm: Float64Array): number | null {
  const absGate = 10 ** ((ABSOLUTE_GATE_LUFS - LOUDNESS_OFFSET) / 10);
  let sum = 0;
  let count = 0;
  for (const z of shortTerm) {
    if (z > absGate) {
      sum += z;
      count++;
    }
  }
  if (count === 0) return null;
  const relGate = (sum / count) * 10 ** (LRA_RELATIVE_GATE_LU / 10);
  const kept = new Float64Array(count);
  let n = 0;
  for (const z of shortTerm) {
    if (z > absGate && z > relGate) kept[n++] = energyToLufs(z);
  }
  const sorted = kept.subarray(0, n).sort();
  return percentileSorted(sorted, 0.95) - percentileSorted(sorted, 0.1);
}

// ---------------------------------------------------------------------------------------------------------
// The accumulator

/**
 * Creates a streaming accumulator for audio at `sampleRate` Hz with `channelCount` planar channels.
 *
 * Definitions (all chunk-independent):
 * - Loudness: K-weighted, gated over 400 ms blocks every 100 ms (BS.1770-4); LRA over 3 s blocks every 100 ms.
 * - True peak: 4× (below 96 kHz) or 2× (below 192 kHz) oversampling with a 16-tap-per-phase Kaiser-windowed
 *   sinc; the signal is taken to be zero before the start and after the end.
 * - Silence: 100 ms blocks whose loudest channel's RMS is below −60 dBFS; a trailing partial block counts when
 *   it is ≥ 50 ms (or when it is all there is).
 * - Non-finite samples (NaN, ±Infinity) are treated as 0 so that one bad sample cannot poison the filters.
 *
 * @example
 * ```ts
 * const acc = createStatsAccumulator(48_000, 2);
 * for await (const chunk of decoded) acc.push(chunk); // chunk: [left, right] Float32Arrays
 * const stats = acc.finish();
 * ```
 */
export function createStatsAccumulator(sampleRate: number, channelCount: number): StatsAccumulator {
  if (!(Number.isFinite(sampleRate) && sampleRate >= 8_000 && sampleRate <= 384_000)) {
    throw new Error(
      `createStatsAccumulator: sampleRate must be between 8000 and 384000 Hz, got ${sampleRate}`,
    );
  }
  if (!(Number.isInteger(channelCount) && channelCount >= 1 && channelCount <= 64)) {
    throw new Error(`createStatsAccumulator: channelCount must be an integer 1..64, got ${channelCount}`);
  }
  return new Accumulator(sampleRate, channelCount);
}

class Accumulator implements StatsAccumulator {
  private readonly fs: number;
  private readonly channels: number;
  private readonly weights: Float64Array;
  private readonly shelf: Biquad;
  private readonly highPass: Biquad;

  private totalSamples = 0; // per channel
  private finished: AudioStats | null = null;

  // 100 ms sub-blocks. Sub-block k covers samples [floor(k·fs/10), floor((k + 1)·fs/10)).
  private subBlock = 0;
  private subBlockFill = 0;
  private subBlockLength: number;
  /** Per channel: K-weighted sum of squares, plain sum of squares of the current sub-block. */
  private readonly kwSum: Float64Array;
  private readonly rawSum: Float64Array;
  /** Per channel biquad state (transposed direct form II): shelf s1, s2, high-pass s1, s2. */
  private readonly filterState: Float64Array;
  /** Channel-weighted K-weighted sum of squares of every completed sub-block (one number per 100 ms). */
  private readonly subBlockEnergy = new Series();

  // Silence
  private silentBlocks = 0;
  private countedBlocks = 0;
  private firstLoudStart = -1; // sample index where the first non-silent block starts
  private lastLoudEnd = -1; // sample index where the last non-silent block ends

  // Peaks and clipping
  private readonly peak: Float64Array;
  private readonly clipRun: Float64Array; // current run length of ≥ CLIP_LEVEL samples, per channel
  private clippedSamples = 0;

  // True peak
  private readonly oversampling: number;
  private readonly kernel: Float64Array;
  /** Per channel: the last TP_TAPS − 1 input samples, followed by room for as many new ones. */
  private readonly tpHistory: Float32Array[];
  /** Bound on |interpolated| / max|window|: a window whose max times this cannot beat the peak is skipped. */
  private readonly branchGain: number;
  private interpolatedPeak = 0;

  // Spectral flatness
  private readonly frameHop: number;
  private readonly frame = new Float32Array(FLATNESS_FRAME);
  private readonly flatness = new Series();

  constructor(sampleRate: number, channelCount: number) {
    this.fs = sampleRate;
    this.channels = channelCount;
    this.weights = channelWeights(channelCount);
    const kw = kWeightingCoefficients(sampleRate);
    this.shelf = kw.shelf;
    this.highPass = kw.highPass;
    this.subBlockLength = this.subBlockBoundary(1);
    this.kwSum = new Float64Array(channelCount);
    this.rawSum = new Float64Array(channelCount);
    this.filterState = new Float64Array(channelCount * 4);
    this.peak = new Float64Array(channelCount);
    this.clipRun = new Float64Array(channelCount);
    this.oversampling = oversamplingFactor(sampleRate);
    this.kernel = packKernel(this.oversampling);
    const branches = interpolatorBranches(this.oversampling);
    let gain = 0;
    for (let p = 0; p < this.oversampling - 1; p++) {
      let l1 = 0;
      for (let j = 0; j < TP_TAPS; j++) l1 += Math.abs(branches[p * TP_TAPS + j]!);
      gain = Math.max(gain, l1);
    }
    // Slack covers rounding in the dot products, so skipping never changes the result.
    this.branchGain = gain * (1 + 1e-9);
    this.tpHistory = Array.from({ length: channelCount }, () => new Float32Array(2 * (TP_TAPS - 1)));
    this.frameHop = Math.max(FLATNESS_FRAME, Math.ceil(FLATNESS_HOP_S * sampleRate));
  }

  private subBlockBoundary(k: number): number {
    return Math.floor((k * this.fs) / SUB_BLOCKS_PER_SECOND);
  }

  push(channels: Float32Array[]): void {
    if (this.finished) throw new Error("StatsAccumulator.push: called after finish()");
    if (channels.length !== this.channels) {
      throw new Error(`StatsAccumulator.push: expected ${this.channels} channel(s), got ${channels.length}`);
    }
    const first = channels[0]!;
    const n = first.length;
    for (let c = 1; c < channels.length; c++) {
      if (channels[c]!.length !== n) {
        throw new Error(
          `StatsAccumulator.push: channel ${c} has ${channels[c]!.length} samples, channel 0 has ${n}`,
        );
      }
    }
    if (n === 0) return;

    // Loudness, silence, sample peak and clipping, segment by segment so each segment ends at the latest
    // at a sub-block boundary.
    let finite = true;
    let pos = 0;
    while (pos < n) {
      const end = Math.min(n, pos + (this.subBlockLength - this.subBlockFill));
      for (let c = 0; c < this.channels; c++) {
        if (!this.runChannel(c, channels[c]!, pos, end)) {
          // Rare: NaN or ±Infinity in this segment. Redo it on a copy with those samples set to 0 (nothing
          // was committed), and give the later passes a cleaned chunk too.
          this.runChannel(c, withoutNonFinite(channels[c]!.subarray(pos, end)), 0, end - pos);
          finite = false;
        }
      }
      this.subBlockFill += end - pos;
      pos = end;
      if (this.subBlockFill === this.subBlockLength) this.closeSubBlock();
    }
    const data = finite ? channels : channels.map((ch) => withoutNonFinite(ch.subarray(0, n)));

    for (let c = 0; c < this.channels; c++) this.truePeak(c, data[c]!, n);
    this.collectFrames(data, n);
    this.totalSamples += n;
  }

  /**
   * The per-sample hot loop: K-weighting, sums of squares, sample peak and clipping runs for one channel.
   * Returns false without committing anything if the segment holds a non-finite sample: the plain sum of
   * squares, which is computed anyway, is then non-finite too (finite float32 squares cannot overflow it).
   */
  private runChannel(c: number, x: Float32Array, from: number, to: number): boolean {
    const { b0, b1, b2, a1, a2 } = this.shelf;
    const hp = this.highPass;
    const hb0 = hp.b0;
    const hb1 = hp.b1;
    const hb2 = hp.b2;
    const ha1 = hp.a1;
    const ha2 = hp.a2;
    const st = this.filterState;
    const o = c * 4;
    let s1 = st[o]!;
    let s2 = st[o + 1]!;
    let h1 = st[o + 2]!;
    let h2 = st[o + 3]!;
    let kw = this.kwSum[c]!;
    let raw = this.rawSum[c]!;
    let pk = this.peak[c]!;
    let run = this.clipRun[c]!;
    let clipped = 0;
    for (let i = from; i < to; i++) {
      const v = x[i]!;
      // Stage 1: high shelf (head effects); stage 2: RLB high-pass. Transposed direct form II.
      const y = b0 * v + s1;
      s1 = b1 * v - a1 * y + s2;
      s2 = b2 * v - a2 * y;
      const z = hb0 * y + h1;
      h1 = hb1 * y - ha1 * z + h2;
      h2 = hb2 * y - ha2 * z;
      kw += z * z;
      raw += v * v;
      const a = Math.abs(v);
      if (a > pk) pk = a;
      // A run of ≥ 3 samples at full scale means a flattened waveform; an undistorted peak touches it once.
      if (a >= CLIP_LEVEL) {
        run++;
        if (run === CLIP_MIN_RUN) clipped += CLIP_MIN_RUN;
        else if (run > CLIP_MIN_RUN) clipped++;
      } else {
        run = 0;
      }
    }
    if (!Number.isFinite(raw)) return false;
    st[o] = s1;
    st[o + 1] = s2;
    st[o + 2] = h1;
    st[o + 3] = h2;
    this.kwSum[c] = kw;
    this.rawSum[c] = raw;
    this.peak[c] = pk;
    this.clipRun[c] = run;
    this.clippedSamples += clipped;
    return true;
  }

  private closeSubBlock(): void {
    let energy = 0;
    let loudest = 0;
    for (let c = 0; c < this.channels; c++) {
      energy += this.weights[c]! * this.kwSum[c]!;
      if (this.rawSum[c]! > loudest) loudest = this.rawSum[c]!;
      this.kwSum[c] = 0;
      this.rawSum[c] = 0;
    }
    this.subBlockEnergy.push(energy);
    const start = this.subBlockBoundary(this.subBlock);
    this.countSilence(loudest / this.subBlockLength, start, start + this.subBlockLength);
    const st = this.filterState;
    for (let i = 0; i < st.length; i++) if (Math.abs(st[i]!) < DENORMAL_GUARD) st[i] = 0;
    this.subBlock++;
    this.subBlockFill = 0;
    this.subBlockLength = this.subBlockBoundary(this.subBlock + 1) - this.subBlockBoundary(this.subBlock);
  }

  private countSilence(loudestMeanSquare: number, start: number, end: number): void {
    this.countedBlocks++;
    if (loudestMeanSquare < SILENCE_MEAN_SQUARE) {
      this.silentBlocks++;
    } else {
      if (this.firstLoudStart < 0) this.firstLoudStart = start;
      this.lastLoudEnd = end;
    }
  }

  /**
   * Interpolates between samples with the polyphase branches. For each new sample, the window is the last
   * TP_TAPS samples and the branches estimate instants between its two middle samples (a TP_TAPS/2 latency,
   * drained by finish()). Groups of windows whose largest sample times the branch gain cannot exceed the
   * current peak are skipped: that bound is exact, so skipping saves time without changing the result.
   */
  private truePeak(c: number, x: Float32Array, n: number): void {
    if (this.oversampling === 1) return;
    const history = TP_TAPS - 1;
    let best = this.interpolatedPeak;
    for (let ch = 0; ch < this.channels; ch++) if (this.peak[ch]! > best) best = this.peak[ch]!;
    // Windows that straddle the previous chunk: stitch the saved history and the first samples together.
    const stitch = this.tpHistory[c]!;
    const head = Math.min(n, history);
    stitch.set(x.subarray(0, head), history);
    best = this.scanWindows(stitch, 0, head, best);
    // The remaining windows lie inside the chunk: read it in place.
    if (n > history) best = this.scanWindows(x, 0, n - history, best);
    this.interpolatedPeak = best;
    if (n >= history) stitch.set(x.subarray(n - history, n), 0);
    else stitch.copyWithin(0, n, n + history);
  }

  /** Peak over the windows buf[i..i + TP_TAPS − 1], i in [from, to), skipping groups that cannot beat `best`. */
  private scanWindows(buf: Float32Array, from: number, to: number, best: number): number {
    const span = TP_TAPS - 1;
    const gain = this.branchGain;
    const four = this.oversampling === 4;
    for (let g0 = from; g0 < to; g0 += TP_GROUP) {
      const g1 = Math.min(to, g0 + TP_GROUP);
      let m = 0;
      for (let i = g0, last = g1 + span; i < last; i++) {
        const a = Math.abs(buf[i]!);
        if (a > m) m = a;
      }
      if (m * gain <= best) continue;
      best = four ? peak4x(buf, g0, g1, this.kernel, best) : peak2x(buf, g0, g1, this.kernel, best);
    }
    return best;
  }

  /** Mixes frames of FLATNESS_FRAME samples starting every frameHop samples to mono and analyses them. */
  private collectFrames(data: Float32Array[], n: number): void {
    const hop = this.frameHop;
    const frame = this.frame;
    const scale = 1 / this.channels;
    let pos = 0;
    while (pos < n) {
      const t = (this.totalSamples + pos) % hop;
      if (t >= FLATNESS_FRAME) {
        pos += Math.min(hop - t, n - pos);
        continue;
      }
      const m = Math.min(FLATNESS_FRAME - t, n - pos);
      const ch0 = data[0]!;
      for (let k = 0; k < m; k++) frame[t + k] = ch0[pos + k]!;
      for (let c = 1; c < this.channels; c++) {
        const ch = data[c]!;
        for (let k = 0; k < m; k++) frame[t + k]! += ch[pos + k]!;
      }
      if (this.channels > 1) for (let k = 0; k < m; k++) frame[t + k]! *= scale;
      pos += m;
      if (t + m === FLATNESS_FRAME) this.analyseFrame();
    }
  }

  private analyseFrame(): void {
    let sq = 0;
    for (const v of this.frame) sq += v * v;
    if (sq / FLATNESS_FRAME < SILENCE_MEAN_SQUARE) return; // silent frames say nothing about the spectrum
    const { spectralFlatness } = extractFeatures(this.frame, ["spectralFlatness"], {
      sampleRate: this.fs,
      bufferSize: FLATNESS_FRAME,
      windowingFunction: "hanning",
    });
    if (Number.isFinite(spectralFlatness)) this.flatness.push(spectralFlatness);
  }

  finish(): AudioStats {
    if (this.finished) return this.finished;
    const fs = this.fs;
    const total = this.totalSamples;

    // Drain the interpolator: the signal is taken to be zero after its end.
    if (total > 0) {
      const tail = new Float32Array(TP_TAPS / 2);
      for (let c = 0; c < this.channels; c++) this.truePeak(c, tail, tail.length);
    }

    // A trailing partial sub-block counts for silence when ≥ 50 ms, or when it is all the audio there is.
    if (this.subBlockFill > 0 && (this.subBlockFill >= 0.05 * fs || this.countedBlocks === 0)) {
      let loudest = 0;
      for (let c = 0; c < this.channels; c++) loudest = Math.max(loudest, this.rawSum[c]!);
      const start = this.subBlockBoundary(this.subBlock);
      this.countSilence(loudest / this.subBlockFill, start, start + this.subBlockFill);
    }

    // Window energies: sums of consecutive sub-block sums divided by their sample count.
    const energies = this.subBlockEnergy.view();
    const windowed = (width: number): Float64Array => {
      const out = new Float64Array(Math.max(0, energies.length - width + 1));
      for (let k = 0; k < out.length; k++) {
        let sum = 0;
        for (let i = k; i < k + width; i++) sum += energies[i]!;
        out[k] = sum / (this.subBlockBoundary(k + width) - this.subBlockBoundary(k));
      }
      return out;
    };

    let peak = 0;
    for (const p of this.peak) peak = Math.max(peak, p);
    const truePeak = Math.max(peak, this.interpolatedPeak);
    const durationS = total / fs;
    const allSilent = this.firstLoudStart < 0;

    this.finished = {
      durationS,
      integratedLoudnessLufs: gatedLoudness(windowed(GATING_SUB_BLOCKS), RELATIVE_GATE_LU),
      loudnessRangeLu: loudnessRange(windowed(SHORT_TERM_SUB_BLOCKS)),
      samplePeakDbfs: peak > 0 ? 20 * Math.log10(peak) : null,
      truePeakDbtp: peak > 0 ? 20 * Math.log10(truePeak) : null,
      silenceRatio: this.countedBlocks > 0 ? this.silentBlocks / this.countedBlocks : 1,
      leadingSilenceS: allSilent ? durationS : this.firstLoudStart / fs,
      trailingSilenceS: allSilent ? durationS : (total - this.lastLoudEnd) / fs,
      clippingRatio: total > 0 ? this.clippedSamples / (total * this.channels) : 0,
      spectralFlatness: median(this.flatness.view()),
    };
    return this.finished;
  }
}
