/**
 * The AI-likeness classifier's features — the one module training (`earmark detector train`) and inference
 * (the `classifier` stage, `earmark detector score`) both use, so the model sees at run time exactly what
 * it was trained on.
 *
 * Audio is mixed to mono and resampled to 16 kHz, cut into fixed 2 s windows, and each window becomes one
 * vector of {@link FEATURE_COUNT} statistics over 32 ms frames (16 ms hop): log-mel means and spreads, their
 * frame-to-frame change, cepstral spread, cepstral peak prominence and pitch steadiness, per-band spectral
 * flatness, fine spectral ripple, energy dynamics and the temporal modulation of eight bands. The frame
 * spectra are Meyda's `powerSpectrum` computed by our own FFT (stft.ts says why; its test checks it against
 * Meyda); the mel bank, the cepstrum (an inverse transform Meyda does not offer) and the window statistics are
 * computed here.
 *
 * @module
 */

import { MonoResampler } from "./resample.js";
import { PowerSpectrum } from "./stft.js";

/** Analysis rate: every input is resampled to it. */
export const ANALYSIS_RATE = 16000;
/** Frame length and hop (samples at 16 kHz): 32 ms and 16 ms. */
export const FRAME_SIZE = 512;
export const FRAME_HOP = 256;
/** Window length in seconds: one feature vector and one segment score per window. */
export const WINDOW_S = 2;
/** A tail shorter than this after the last full window is not scored on its own. */
export const MIN_TAIL_S = 1;
/** Audio shorter than this gives no window at all. */
export const MIN_AUDIO_S = 0.5;

const MEL_BANDS = 40;
const CEPS = 20;
const MOD_GROUPS = 8;
const MOD_BANDS: readonly (readonly [number, number])[] = [
  [1, 4],
  [4, 8],
  [8, 16],
  [16, 31],
];
const FLAT_BANDS: readonly (readonly [number, number])[] = [
  [0, 1000],
  [1000, 2000],
  [2000, 4000],
  [4000, 8000],
];
const RIPPLE_BANDS: readonly (readonly [number, number])[] = [
  [100, 2000],
  [2000, 4000],
  [4000, 7800],
];

/** Names of the vector's entries, in order (the model card and tests refer to them). */
export const FEATURE_NAMES: readonly string[] = [
  ...range(MEL_BANDS).map((i) => `mel${i}.mean`),
  ...range(MEL_BANDS).map((i) => `mel${i}.std`),
  ...range(MEL_BANDS).map((i) => `mel${i}.delta`),
  ...range(CEPS - 1).map((i) => `cep${i + 1}.std`),
  "cpp.mean",
  "cpp.std",
  "cpp.p90",
  "pitch.jump",
  "pitch.std",
  ...FLAT_BANDS.flatMap(([a, b]) => [`flat${a}-${b}.mean`, `flat${a}-${b}.std`]),
  ...RIPPLE_BANDS.flatMap(([a, b]) => [`ripple${a}-${b}.mean`, `ripple${a}-${b}.std`]),
  ...RIPPLE_BANDS.map(([a, b]) => `flux${a}-${b}`),
  "energy.std",
  "energy.delta",
  "energy.lowFraction",
  ...range(MOD_GROUPS).flatMap((g) => MOD_BANDS.map(([a, b]) => `mod${g}.${a}-${b}Hz`)),
];
export const FEATURE_COUNT = FEATURE_NAMES.length;

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

const BINS = FRAME_SIZE / 2 + 1;
const hzToBin = (hz: number) => Math.round((hz / ANALYSIS_RATE) * FRAME_SIZE);
const hzToMel = (hz: number) => 2595 * Math.log10(1 + hz / 700);
const melToHz = (mel: number) => 700 * (10 ** (mel / 2595) - 1);

/** Triangular mel filters from 50 Hz to 8 kHz, as [first bin, weights] per band. */
const MEL_BANK: { first: number; weights: Float32Array }[] = (() => {
  const lo = hzToMel(50);
  const hi = hzToMel(ANALYSIS_RATE / 2);
  const edges = range(MEL_BANDS + 2).map(
    (i) => (melToHz(lo + ((hi - lo) * i) / (MEL_BANDS + 1)) / ANALYSIS_RATE) * FRAME_SIZE,
  );
  return range(MEL_BANDS).map((b) => {
    const [l, c, r] = [edges[b] as number, edges[b + 1] as number, edges[b + 2] as number];
    const first = Math.max(0, Math.floor(l));
    const last = Math.min(BINS - 1, Math.ceil(r));
    const weights = new Float32Array(last - first + 1);
    for (let k = first; k <= last; k++) {
      const w = k <= c ? (k - l) / Math.max(c - l, 1e-9) : (r - k) / Math.max(r - c, 1e-9);
      weights[k - first] = Math.max(0, Math.min(1, w));
    }
    // Width-normalised, so a flat spectrum gives equal band values.
    const s = weights.reduce((a, v) => a + v, 0) || 1;
    for (let i = 0; i < weights.length; i++) weights[i] = (weights[i] as number) / s;
    return { first, weights };
  });
})();

/** DCT-II rows for the cepstrum of the log-mel frame. */
const DCT: Float32Array[] = range(CEPS).map((k) => {
  const row = new Float32Array(MEL_BANDS);
  for (let n = 0; n < MEL_BANDS; n++) row[n] = Math.cos((Math.PI * k * (n + 0.5)) / MEL_BANDS);
  return row;
});

/** Quefrencies searched for the pitch peak, in samples: 2.5–16 ms (400–62.5 Hz). */
const Q_LO = 40;
const Q_HI = 256;
const CEPSTRUM = new PowerSpectrum(FRAME_SIZE);

/** Cosine and sine tables of the modulation DFT, per trajectory length (a window has one of a few lengths). */
const dftTables = new Map<number, { cos: Float32Array; sin: Float32Array }>();
function dftTable(T: number) {
  let t = dftTables.get(T);
  if (!t) {
    const cos = new Float32Array(T * T);
    const sin = new Float32Array(T * T);
    for (let f = 0; f < T; f++)
      for (let n = 0; n < T; n++) {
        cos[f * T + n] = Math.cos((2 * Math.PI * f * n) / T);
        sin[f * T + n] = Math.sin((2 * Math.PI * f * n) / T);
      }
    t = { cos, sin };
    if (dftTables.size > 16) dftTables.clear();
    dftTables.set(T, t);
  }
  return t;
}

const EPS = 1e-10;
const STFT = new PowerSpectrum(FRAME_SIZE);

/** Per-frame measurements a window's statistics are made from. */
interface FrameData {
  logMel: Float32Array[];
  ceps: Float32Array[];
  cpp: number[];
  pitchQ: number[];
  flat: number[][];
  ripple: number[][];
  logPow: Float32Array[];
  energy: number[];
  /** Indices of the louder half of the frames; `cpp` and `pitchQ` are for these frames, in order. */
  loud: number[];
}

function analyseFrames(window: Float32Array): FrameData {
  const frames: Float32Array[] = [];
  for (let start = 0; start + FRAME_SIZE <= window.length; start += FRAME_HOP)
    frames.push(STFT.compute(window.subarray(start, start + FRAME_SIZE)));
  const d: FrameData = {
    logMel: [],
    ceps: [],
    cpp: [],
    pitchQ: [],
    flat: [],
    ripple: [],
    logPow: [],
    energy: [],
    loud: [],
  };
  for (const p of frames) {
    const logPow = new Float32Array(BINS);
    let total = 0;
    for (let k = 0; k < BINS; k++) {
      const v = p[k] ?? 0;
      total += v;
      logPow[k] = Math.log(v + EPS);
    }
    d.logPow.push(logPow);
    d.energy.push(10 * Math.log10(total / BINS + EPS));

    const mel = new Float32Array(MEL_BANDS);
    for (let b = 0; b < MEL_BANDS; b++) {
      const { first, weights } = MEL_BANK[b] as { first: number; weights: Float32Array };
      let s = 0;
      for (let i = 0; i < weights.length; i++) s += (weights[i] as number) * (p[first + i] ?? 0);
      mel[b] = Math.log(s + EPS);
    }
    d.logMel.push(mel);
    const c = new Float32Array(CEPS);
    for (let k = 0; k < CEPS; k++) {
      const row = DCT[k] as Float32Array;
      let s = 0;
      for (let n = 0; n < MEL_BANDS; n++) s += (row[n] as number) * (mel[n] as number);
      c[k] = s / MEL_BANDS;
    }
    d.ceps.push(c);

    d.flat.push(
      FLAT_BANDS.map(([a, b]) => {
        const lo = Math.max(1, hzToBin(a));
        const hi = Math.min(BINS - 1, hzToBin(b));
        let logSum = 0;
        let sum = 0;
        for (let k = lo; k < hi; k++) {
          logSum += logPow[k] as number;
          sum += p[k] ?? 0;
        }
        const n = hi - lo;
        return Math.exp(logSum / n) / (sum / n + EPS);
      }),
    );
    d.ripple.push(
      RIPPLE_BANDS.map(([a, b]) => {
        const lo = Math.max(1, hzToBin(a));
        const hi = Math.min(BINS - 2, hzToBin(b));
        let s = 0;
        for (let k = lo; k < hi; k++)
          s += Math.abs((logPow[k + 1] as number) - 2 * (logPow[k] as number) + (logPow[k - 1] as number));
        return s / (hi - lo);
      }),
    );
  }
  // Real cepstrum over the pitch quefrencies, for the louder half of the frames (voiced speech, mostly); the
  // prominence of its peak over the mean, and where it is.
  d.loud = loudHalf(d.energy);
  const ceps = new Float32Array(BINS);
  for (const t of d.loud) {
    CEPSTRUM.evenCosine(d.logPow[t] as Float32Array, ceps);
    let best = -Infinity;
    let bestQ = Q_LO;
    let mean = 0;
    for (let q = Q_LO; q < Q_HI; q++) {
      const c = ceps[q] as number;
      mean += c;
      if (c > best) {
        best = c;
        bestQ = q;
      }
    }
    d.cpp.push((best - mean / (Q_HI - Q_LO)) / FRAME_SIZE);
    d.pitchQ.push(bestQ);
  }
  return d;
}

function loudHalf(energy: number[]): number[] {
  const T = energy.length;
  const order = range(T).sort((a, b) => (energy[b] as number) - (energy[a] as number));
  return order.slice(0, Math.max(2, Math.ceil(T / 2))).sort((a, b) => a - b);
}

function meanStd(xs: ArrayLike<number>): [number, number] {
  const n = xs.length;
  if (n === 0) return [0, 0];
  let m = 0;
  for (let i = 0; i < n; i++) m += xs[i] as number;
  m /= n;
  let v = 0;
  for (let i = 0; i < n; i++) v += ((xs[i] as number) - m) ** 2;
  return [m, Math.sqrt(v / n)];
}

/**
 * One window's feature vector (length {@link FEATURE_COUNT}) from mono samples at {@link ANALYSIS_RATE}.
 * Windows shorter than one frame give zeros.
 *
 * @example
 * ```ts
 * const v = windowFeatures(new Float32Array(32000)); // 2 s of 16 kHz audio
 * v.length === FEATURE_COUNT;
 * ```
 */
export function windowFeatures(window: Float32Array): Float32Array {
  const out = new Float32Array(FEATURE_COUNT);
  const d = analyseFrames(window);
  const T = d.logMel.length;
  if (T < 2) return out;
  let o = 0;
  const put = (v: number) => {
    out[o++] = Number.isFinite(v) ? v : 0;
  };
  const col = (rows: ArrayLike<number>[], i: number) => rows.map((r) => r[i] as number);
  const melStats = range(MEL_BANDS).map((b) => meanStd(col(d.logMel, b)));
  for (const [m] of melStats) put(m);
  for (const [, s] of melStats) put(s);
  for (let b = 0; b < MEL_BANDS; b++) {
    let s = 0;
    for (let t = 1; t < T; t++)
      s += Math.abs((d.logMel[t]?.[b] as number) - (d.logMel[t - 1]?.[b] as number));
    put(s / (T - 1));
  }
  for (let k = 1; k < CEPS; k++) put(meanStd(col(d.ceps, k))[1]);

  // Pitch measures over the louder half of the frames (voiced speech, mostly).
  const cpp = d.cpp;
  const [cm, cs] = meanStd(cpp);
  put(cm);
  put(cs);
  put([...cpp].sort((a, b) => a - b)[Math.floor(cpp.length * 0.9)] ?? 0);
  const logQ = d.pitchQ.map((q) => Math.log(q));
  let jump = 0;
  for (let i = 1; i < logQ.length; i++) jump += Math.abs((logQ[i] as number) - (logQ[i - 1] as number));
  put(jump / Math.max(1, logQ.length - 1));
  put(meanStd(logQ)[1]);

  for (let b = 0; b < FLAT_BANDS.length; b++) {
    const [m, s] = meanStd(col(d.flat, b));
    put(m);
    put(s);
  }
  for (let b = 0; b < RIPPLE_BANDS.length; b++) {
    const [m, s] = meanStd(col(d.ripple, b));
    put(m);
    put(s);
  }
  for (const [a, b] of RIPPLE_BANDS) {
    const lo = Math.max(1, hzToBin(a));
    const hi = Math.min(BINS - 1, hzToBin(b));
    let s = 0;
    for (let t = 1; t < T; t++) {
      const x = d.logPow[t] as Float32Array;
      const y = d.logPow[t - 1] as Float32Array;
      for (let k = lo; k < hi; k++) s += Math.abs((x[k] as number) - (y[k] as number));
    }
    put(s / ((T - 1) * (hi - lo)));
  }
  const [, es] = meanStd(d.energy);
  put(es);
  let ed = 0;
  for (let t = 1; t < T; t++) ed += Math.abs((d.energy[t] as number) - (d.energy[t - 1] as number));
  put(ed / (T - 1));
  const emax = Math.max(...d.energy);
  put(d.energy.filter((e) => e < emax - 30).length / T);

  // Temporal modulation: share of each group's log-energy trajectory's variance in four modulation bands.
  const frameRate = ANALYSIS_RATE / FRAME_HOP;
  const per = MEL_BANDS / MOD_GROUPS;
  for (let g = 0; g < MOD_GROUPS; g++) {
    const traj = range(T).map((t) => {
      let s = 0;
      for (let b = g * per; b < (g + 1) * per; b++) s += d.logMel[t]?.[b] as number;
      return s / per;
    });
    const [m] = meanStd(traj);
    const power = MOD_BANDS.map(() => 0);
    let total = EPS;
    const { cos, sin } = dftTable(T);
    for (let f = 1; f <= Math.floor(T / 2); f++) {
      const hz = (f * frameRate) / T;
      let re = 0;
      let im = 0;
      for (let t = 0; t < T; t++) {
        const v = (traj[t] as number) - m;
        re += v * (cos[f * T + t] as number);
        im -= v * (sin[f * T + t] as number);
      }
      const pw = re * re + im * im;
      total += pw;
      MOD_BANDS.forEach(([a, b], i) => {
        if (hz >= a && hz < b) power[i] = (power[i] as number) + pw;
      });
    }
    for (const pw of power) put(pw / total);
  }
  return out;
}

/** Where one window lies in the analysed audio. */
export interface WindowSpan {
  startS: number;
  endS: number;
}

/**
 * The windows a signal of `samples` samples (at {@link ANALYSIS_RATE}) is cut into: every `hopS` seconds a
 * {@link WINDOW_S} window; a tail of at least {@link MIN_TAIL_S} gets one more window ending at the end; audio
 * shorter than a window but at least {@link MIN_AUDIO_S} is one short window.
 */
export function windowSpans(samples: number, hopS = WINDOW_S): { from: number; to: number }[] {
  const w = WINDOW_S * ANALYSIS_RATE;
  const hop = Math.round(hopS * ANALYSIS_RATE);
  if (samples < w) return samples >= MIN_AUDIO_S * ANALYSIS_RATE ? [{ from: 0, to: samples }] : [];
  const spans: { from: number; to: number }[] = [];
  let from = 0;
  for (; from + w <= samples; from += hop) spans.push({ from, to: from + w });
  const lastEnd = (spans.at(-1) as { to: number }).to;
  if (samples - lastEnd >= MIN_TAIL_S * ANALYSIS_RATE) spans.push({ from: samples - w, to: samples });
  return spans;
}

/** A signal's windows and their feature vectors. */
export interface WindowedFeatures {
  durationS: number;
  windows: (WindowSpan & { features: Float32Array })[];
}

/**
 * Computes window features as 16 kHz audio arrives, keeping only the samples the next window needs (a 4-hour
 * upload never sits in memory at 16 kHz). Gives exactly the windows of {@link windowSpans}.
 */
export class WindowFeatureStream {
  private readonly w = WINDOW_S * ANALYSIS_RATE;
  private readonly hop: number;
  private buf = new Float32Array(0);
  /** Absolute index of buf[0]. */
  private bufStart = 0;
  private total = 0;
  private nextFrom = 0;
  readonly windows: WindowedFeatures["windows"] = [];

  constructor(hopS = WINDOW_S) {
    this.hop = Math.round(hopS * ANALYSIS_RATE);
  }

  push(pcm: Float32Array): void {
    const joined = new Float32Array(this.buf.length + pcm.length);
    joined.set(this.buf);
    joined.set(pcm, this.buf.length);
    this.buf = joined;
    this.total += pcm.length;
    while (this.nextFrom + this.w <= this.total) {
      this.emit(this.nextFrom, this.nextFrom + this.w);
      this.nextFrom += this.hop;
    }
    // Keep what the next window, or a tail window ending at the end, may need.
    const keepFrom = Math.max(0, Math.min(this.nextFrom, this.total - this.w));
    if (keepFrom > this.bufStart) {
      this.buf = this.buf.slice(keepFrom - this.bufStart);
      this.bufStart = keepFrom;
    }
  }

  finish(): WindowedFeatures {
    const spans = windowSpans(this.total, this.hop / ANALYSIS_RATE);
    for (const span of spans.slice(this.windows.length)) this.emit(span.from, span.to);
    return { durationS: this.total / ANALYSIS_RATE, windows: this.windows };
  }

  private emit(from: number, to: number): void {
    this.windows.push({
      startS: from / ANALYSIS_RATE,
      endS: to / ANALYSIS_RATE,
      features: windowFeatures(this.buf.subarray(from - this.bufStart, to - this.bufStart)),
    });
  }
}

/**
 * Cuts mono 16 kHz audio into windows ({@link windowSpans}) and computes each window's features.
 *
 * @example
 * ```ts
 * const { windows } = featuresOf(pcm16k); // pcm16k: Float32Array at 16 kHz
 * windows.map((w) => [w.startS, w.endS]); // [[0, 2], [2, 4], …]
 * ```
 */
export function featuresOf(pcm: Float32Array, hopS = WINDOW_S): WindowedFeatures {
  const stream = new WindowFeatureStream(hopS);
  stream.push(pcm);
  return stream.finish();
}

/**
 * Decoded chunks (any rate, any channel count) → mono at {@link ANALYSIS_RATE} → window features. Training,
 * evaluation, `earmark detector score` and the pipeline stage all read audio through this function.
 */
export async function featuresOfChunks(
  chunks: AsyncIterable<{ channels: Float32Array[]; sampleRate: number }>,
  hopS = WINDOW_S,
): Promise<WindowedFeatures> {
  let resampler: MonoResampler | null = null;
  const stream = new WindowFeatureStream(hopS);
  for await (const chunk of chunks) {
    resampler ??= new MonoResampler(chunk.sampleRate, ANALYSIS_RATE);
    const n = chunk.channels[0]?.length ?? 0;
    const mono = new Float32Array(n);
    for (const ch of chunk.channels)
      for (let i = 0; i < n; i++) mono[i] = (mono[i] as number) + (ch[i] as number);
    const k = chunk.channels.length || 1;
    for (let i = 0; i < n; i++) mono[i] = (mono[i] as number) / k;
    stream.push(resampler.push(mono));
  }
  if (resampler) stream.push(resampler.finish());
  return stream.finish();
}
