/**
 * Fingerprint extraction: 4 kHz mono signal → Meyda amplitude spectra → spectral peaks → triplet hashes.
 *
 * Each hash describes three peaks (t1 < t2 ≤ t3) by quantities that a change of speed, tempo or pitch
 * leaves alone: the pitch intervals p2 − p1 and p3 − p1 (in semitones, on a log-frequency axis where a
 * pitch shift is a translation), the time ratio (t2 − t1)/(t3 − t1), which of the three is loudest, and
 * two coarse terms that change rarely (the half-octave band of p1 and the log-scale length t3 − t1).
 * The design and its trade-offs are in docs/adr/0007-fingerprints.md.
 *
 * @module
 */

import { extractFeatureFrames, type FeatureOptions } from "../audio/features.js";
import { ANALYSIS_RATE, MonoDownsampler } from "./downsample.js";

/** Bump whenever hashes change meaning: stored fingerprints of another version are not comparable. */
export const FINGERPRINT_ALGORITHM = "earmark-triplets-1";

export const FRAME_SIZE = 256; // 64 ms at 4 kHz: 15.6 Hz bins
export const HOP = 128; // 32 ms
export const FRAMES_PER_SECOND = ANALYSIS_RATE / HOP;
const BINS = FRAME_SIZE / 2;
const K_LO = 6; // 94 Hz
const K_HI = 120; // 1875 Hz
/** Peak neighbourhood: a peak is the maximum of ±F_NEIGH bins and ±T_NEIGH frames. */
const F_NEIGH = 4;
const T_NEIGH = 4;
/**
 * Density: a local maximum is kept when fewer than RANK_LIMIT stronger ones (strength above their frame's
 * mean) lie within ±RANK_HALF_WINDOW frames — a window centred on each peak, so the choice does not depend
 * on where the audio starts (fixed blocks would).
 */
const RANK_HALF_WINDOW = 16;
const RANK_LIMIT = 10;
/** Peaks weaker than this (amplitude of Meyda's Hann-windowed 256-point spectrum) are silence. */
const MIN_AMPLITUDE = 0.01;
/** Targets per anchor: the strongest TARGETS peaks 1..ZONE_FRAMES frames later within ±MAX_INTERVAL. */
const TARGETS = 4;
const ZONE_FRAMES = 40;
const MAX_INTERVAL = 24;
/** The bins peak picking reads: K_LO..K_HI and their ±F_NEIGH neighbourhoods. */
const DB_LO = K_LO - F_NEIGH;
const DB_HI = K_HI + F_NEIGH;
/** Meyda's settings for the fingerprint's spectra (Hann window by default). */
const SPECTRUM_OPTIONS: FeatureOptions = { sampleRate: ANALYSIS_RATE, bufferSize: FRAME_SIZE };
/** Pitch of bin K_LO, the bottom of the lowest band. */
const P_LO = 12 * Math.log2((K_LO * ANALYSIS_RATE) / FRAME_SIZE / 440) + 69;

export interface Peak {
  t: number; // frame
  p: number; // pitch in fractional MIDI semitones
  strength: number; // dB above the frame mean
}

/** What a query is looked up by: its peaks (for the probes) and its stored-form hashes (for the candidates). */
export interface QueryPhase {
  peakList: Peak[];
  hashes: Uint32Array;
  times: Uint32Array;
}

export interface Fingerprint extends QueryPhase {
  algorithm: string;
  /** The peaks the hashes were made from (kept in memory for query probes; never stored). */
  peakList: Peak[];
  durationS: number;
  frames: number;
  /** One entry per hash: the hash value. */
  hashes: Uint32Array;
  /** One entry per hash: the anchor's frame (upper 26 bits) and t3 − t1 in frames (lower 6 bits). */
  times: Uint32Array;
  peaks: number;
  /**
   * The same analysis with every frame starting half a hop (16 ms) later, computed on first call and never
   * stored: a second try for a query whose frames fall between the reference's (see index.ts
   * `matchPhases`). Its frame t lies at t + ½ of this fingerprint's frames. Absent on fingerprints not made
   * by {@link FingerprintExtractor}.
   */
  halfHopPhase?: () => QueryPhase;
  /**
   * The share of the query's hashes that survive framing it half a hop later, measured on its middle 20 s
   * (a cheap stand-in for comparing the two phases in full), computed on first call and never stored. Given
   * `enough`, it may stop as soon as the share reaches `enough` and return what it has counted by then: a lower
   * bound, itself at least `enough`; the answer to "is it at least `enough`?" is the same either way. Absent on
   * fingerprints not made by {@link FingerprintExtractor}.
   */
  phaseStability?: (enough?: number) => number;
  /**
   * Advances the measurement {@link phaseStability}`(enough)` makes by 1 s of the window, so that it
   * can use time otherwise spent waiting (the lookup calls it while phase 1 is on the server); a later
   * `phaseStability(enough)` continues from there, with the same result. Returns whether more remains.
   */
  stabilityStep?: (enough: number) => boolean;
}

export function packTime(t1: number, dt: number): number {
  return ((t1 << 6) | dt) >>> 0;
}
export function anchorFrame(packed: number): number {
  return packed >>> 6;
}
export function spanFrames(packed: number): number {
  return packed & 63;
}

/**
 * Streaming extractor: push decoded PCM chunks, then `finish()`. Holds the 4 kHz signal only a frame at a
 * time for the spectra, a few spectrum frames for peak picking, and the peaks (about 10 per second) for
 * hashing; and a 16-bit copy of the 4 kHz signal (8 kB per second of audio, 29 MB per hour) for the
 * fingerprint's {@link Fingerprint.halfHopPhase}, which is computed only if a lookup asks for it.
 *
 * Three stages, each its own class or function so that they can be timed apart (`bench/fingerprint/speed.ts
 * --phases`): {@link MonoDownsampler}, Meyda's spectra of each frame ({@link spectraOf}), {@link PeakPicker};
 * then {@link hashPeaks}.
 */
export class FingerprintExtractor {
  private readonly down: MonoDownsampler;
  private readonly framed = new FramedPeaks(0);
  private readonly kept: Int16Array[] = [];
  private samples = 0;

  constructor(sampleRate: number) {
    this.down = new MonoDownsampler(sampleRate);
  }

  push(channels: readonly Float32Array[]): void {
    this.samples += channels[0]?.length ?? 0;
    this.down.push(channels);
    this.consume(this.down.drain());
  }

  finish(): Fingerprint {
    this.consume(this.down.finish());
    const peaks = this.framed.finish();
    const { hashes, times } = hashPeaks(peaks);
    const kept = this.kept;
    let halfHop: QueryPhase | null = null;
    let stability: number | null = null;
    // A lower bound from a measurement that stopped early (see Fingerprint.phaseStability).
    let atLeast = 0;
    // The measurement under way, for the `enough` it was started with.
    let measuring: StabilityMeasure | null = null;
    const phase0 = { peakList: peaks, hashes, times };
    /** Runs the measurement for `enough` one piece (or to the end); the share once known, else null. */
    const measure = (enough: number, toEnd: boolean): number | null => {
      if (stability !== null) return stability;
      if (atLeast >= enough) return atLeast;
      if (measuring?.enough !== enough) measuring = new StabilityMeasure(kept, phase0, enough);
      let measured = measuring.step();
      while (toEnd && !measured) measured = measuring.step();
      if (!measured) return null;
      measuring = null;
      if (measured.exact) stability = measured.share;
      else atLeast = measured.share;
      return measured.share;
    };
    return {
      algorithm: FINGERPRINT_ALGORITHM,
      durationS: this.samples / this.down.inputRate,
      frames: this.framed.frames,
      hashes,
      times,
      peaks: peaks.length,
      peakList: peaks,
      halfHopPhase: () => {
        halfHop ??= halfHopPhaseOf(kept);
        return halfHop;
      },
      phaseStability: (enough = Number.POSITIVE_INFINITY) => measure(enough, true) as number,
      stabilityStep: (enough) => measure(enough, false) === null,
    };
  }

  private consume(x: Float32Array): void {
    if (x.length === 0) return;
    this.kept.push(toInt16(x));
    this.framed.push(x);
  }
}

/** A 4 kHz signal as 16-bit samples: its quantisation noise lies ~80 dB below the quietest peak kept. */
function toInt16(x: Float32Array): Int16Array {
  const out = new Int16Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = (x[i] as number) * 32767;
    out[i] = v > 32767 ? 32767 : v < -32767 ? -32767 : Math.round(v);
  }
  return out;
}

/** The peaks and hashes of a kept 4 kHz signal framed from half a hop in. */
function halfHopPhaseOf(kept: readonly Int16Array[]): QueryPhase {
  const framed = new FramedPeaks(HOP / 2);
  pushKept(framed, kept, 0, Number.POSITIVE_INFINITY);
  const peakList = framed.finish();
  return { peakList, ...hashPeaks(peakList) };
}

/** Pushes samples [from, to) of a kept 4 kHz signal (fewer if it ends first), as floats, to `framed`. */
function pushKept(framed: FramedPeaks, kept: readonly Int16Array[], from: number, to: number): void {
  let at = 0;
  for (const chunk of kept) {
    const lo = Math.max(0, from - at);
    const hi = Math.min(chunk.length, to - at);
    at += chunk.length;
    if (hi > lo) framed.push(fromInt16(chunk.subarray(lo, hi)));
  }
}

function fromInt16(x: Int16Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = (x[i] as number) / 32767;
  return out;
}

/**
 * Triplets anchored this many frames or more before the last frame seen are final: a peak is picked from
 * ±T_NEIGH frames, kept by the candidates ±RANK_HALF_WINDOW frames around it, and a triplet's targets lie up to
 * ZONE_FRAMES after its anchor.
 */
export const SETTLED_FRAMES = T_NEIGH + RANK_HALF_WINDOW + ZONE_FRAMES + 1;

/** The stretch of a query whose phase stability is measured: its middle, at most this long. */
export const STABILITY_WINDOW_S = 20;
/**
 * Frames left out at each end of that stretch: peaks there see a shorter neighbourhood (±T_NEIGH frames, the
 * ±RANK_HALF_WINDOW rank) and triplets fewer targets (ZONE_FRAMES), so they differ for another reason.
 */
export const STABILITY_MARGIN_FRAMES = RANK_HALF_WINDOW + ZONE_FRAMES;

/**
 * How much of a query's fingerprint survives moving its frames by half a hop: of its distinct hashes
 * anchored in the middle of {@link STABILITY_WINDOW_S} seconds from its centre, the share that the same
 * stretch framed half a hop later also yields. A copy cut half a hop off shares about this share of hashes
 * with its reference, near the same time, at its own phase. On the evaluation corpus's 249 files: median
 * 0.17, 10th percentile 0.09, lowest 0.019; white-noise rain 0.007. Measured on a window, not the whole
 * query, because a hash repeated elsewhere in the piece would count as surviving (whole-file overlaps are
 * 0.05–0.6).
 */
class StabilityMeasure {
  readonly enough: number;
  private readonly kept: readonly Int16Array[];
  private readonly framed = new FramedPeaks(HOP / 2);
  private readonly from: number;
  private readonly end: number;
  private readonly f0: number;
  private readonly lo: number;
  private readonly hi: number;
  private readonly own = new Set<number>();
  /** Own hashes that the half-hop framing also yields, anchored in [lo, hi). */
  private readonly shared = new Set<number>();
  private at: number;

  constructor(kept: readonly Int16Array[], phase0: QueryPhase, enough: number) {
    this.enough = enough;
    this.kept = kept;
    let samples = 0;
    for (const chunk of kept) samples += chunk.length;
    const window = Math.min(samples, STABILITY_WINDOW_S * ANALYSIS_RATE);
    this.from = Math.floor((samples - window) / 2 / HOP) * HOP;
    this.end = this.from + window;
    this.at = this.from;
    this.f0 = this.from / HOP;
    this.lo = this.f0 + STABILITY_MARGIN_FRAMES;
    this.hi = this.f0 + window / HOP - STABILITY_MARGIN_FRAMES;
    for (let i = 0; i < phase0.hashes.length; i++) {
      const t = anchorFrame(phase0.times[i] as number);
      if (t >= this.lo && t < this.hi) this.own.add(phase0.hashes[i] as number);
    }
  }

  /**
   * Frames the next half piece of the window; the result once it is known (the window done, or with `enough` finite,
   * the triplets settled so far reaching it), else null. The window is framed a piece at a time: the triplets
   * settled after each piece (SETTLED_FRAMES) are among the whole window's, so once they reach `enough` so
   * does the whole, and most music gets there in the first half of the window.
   */
  step(): { share: number; exact: boolean } | null {
    const { own, shared } = this;
    if (own.size === 0) return { share: 0, exact: true };
    // Half a piece per step (about 1 ms of work), checked at the end of each whole piece.
    const next = Math.min(this.end, this.at + STABILITY_PIECE / 2);
    pushKept(this.framed, this.kept, this.at, next);
    this.at = next;
    if (next < this.end) {
      if (!Number.isFinite(this.enough) || (next - this.from) % STABILITY_PIECE !== 0) return null;
      this.count(this.framed.peaksSoFar(), this.f0 + this.framed.frames - SETTLED_FRAMES);
      return shared.size >= this.enough * own.size ? { share: shared.size / own.size, exact: false } : null;
    }
    this.count(this.framed.finish(), Number.POSITIVE_INFINITY);
    return { share: shared.size / own.size, exact: true };
  }

  /** Adds the own hashes of `peaks`' triplets anchored in [lo, hi) and before `before`. */
  private count(peaks: readonly Peak[], before: number): void {
    const { hashes, times } = hashPeaks(peaks);
    for (let i = 0; i < hashes.length; i++) {
      const t = this.f0 + anchorFrame(times[i] as number);
      const h = hashes[i] as number;
      if (t >= this.lo && t < this.hi && t < before && this.own.has(h)) this.shared.add(h);
    }
  }
}

/** Samples per piece of the stability window between early checks: 2 s. */
const STABILITY_PIECE = 2 * ANALYSIS_RATE;

/**
 * Frames a streamed 4 kHz signal (frame i starts at `skip` + i · HOP samples), takes each frame's spectrum and
 * picks the peaks: push chunks, then `finish()`.
 */
export class FramedPeaks {
  private readonly picker = new PeakPicker();
  private pending = new Float32Array(FRAME_SIZE * 8);
  private pendingLen = 0;
  private skip: number;

  constructor(skip: number) {
    this.skip = skip;
  }

  /** Frames picked so far. */
  get frames(): number {
    return this.picker.frames;
  }

  push(chunk: Float32Array): void {
    let x = chunk;
    if (this.skip > 0) {
      const dropped = Math.min(this.skip, x.length);
      this.skip -= dropped;
      x = x.subarray(dropped);
    }
    if (this.pendingLen + x.length > this.pending.length) {
      const bigger = new Float32Array(Math.max(this.pending.length * 2, this.pendingLen + x.length));
      bigger.set(this.pending.subarray(0, this.pendingLen));
      this.pending = bigger;
    }
    this.pending.set(x, this.pendingLen);
    this.pendingLen += x.length;
    const spectra = spectraOf(this.pending.subarray(0, this.pendingLen));
    for (const spectrum of spectra) this.picker.add(spectrum);
    const start = spectra.length * HOP;
    this.pending.copyWithin(0, start, this.pendingLen);
    this.pendingLen -= start;
  }

  finish(): Peak[] {
    return this.picker.finish();
  }

  /** {@link PeakPicker.peaksSoFar}. */
  peaksSoFar(): Peak[] {
    return this.picker.peaksSoFar();
  }
}

/**
 * Meyda's amplitude spectra (Hann window) of every whole frame of a 4 kHz signal: frame i starts at i · HOP.
 * One call per chunk: Meyda's options are set once for all its frames, in the same synchronous call (see
 * audio/features.ts). The frames are views of the signal; Meyda windows a copy.
 */
export function spectraOf(signal: Float32Array): Float32Array[] {
  return extractFeatureFrames(signal, HOP, ["amplitudeSpectrum"], SPECTRUM_OPTIONS).map(
    (f) => f.amplitudeSpectrum,
  );
}

/**
 * Peak picking over successive amplitude spectra: `add` each frame's, then `finish()` for the peaks kept, in
 * time order. Holds the last 2·T_NEIGH + 1 frames and the candidate peaks.
 */
export class PeakPicker {
  // Ring of the last 2·T_NEIGH + 1 frames: dB spectrum, its ±F_NEIGH max over bins, and the frame mean.
  private readonly ringDb: Float32Array[] = [];
  private readonly ringFmax: Float32Array[] = [];
  private readonly ringMean: number[] = [];
  // Maxima over 2, 4 and 8 neighbouring bins, from which the ±F_NEIGH maxima are built.
  private readonly max2 = new Float32Array(BINS);
  private readonly max4 = new Float32Array(BINS);
  private readonly max8 = new Float32Array(BINS);
  private framesSeen = 0;
  private candidates: Peak[] = [];

  constructor() {
    for (let i = 0; i < 2 * T_NEIGH + 1; i++) {
      this.ringDb.push(new Float32Array(BINS));
      this.ringFmax.push(new Float32Array(BINS));
      this.ringMean.push(0);
    }
  }

  /** Frames added so far. */
  get frames(): number {
    return this.framesSeen;
  }

  /** Adds one frame's amplitude spectrum (FRAME_SIZE / 2 bins). */
  add(amplitudeSpectrum: Float32Array): void {
    this.addSpectrum(amplitudeSpectrum);
  }

  /** The peaks kept, in time order; the picker takes no more frames afterwards. */
  finish(): Peak[] {
    // Flush the last frames with silent neighbours so peaks near the end are still picked.
    for (let i = 0; i < T_NEIGH; i++) this.addSpectrum(null);
    const peaks = strongestAround(this.candidates);
    this.candidates = [];
    return peaks;
  }

  /**
   * The peaks the frames added so far give, without ending the picker. Those before the last
   * {@link SETTLED_FRAMES} frames, and the triplets anchored there, are the ones {@link finish} will give;
   * later ones may still change with the frames to come.
   */
  peaksSoFar(): Peak[] {
    return strongestAround(this.candidates);
  }

  /** Adds one frame's spectrum (null = silence) and picks the peaks of the frame T_NEIGH frames back. */
  private addSpectrum(amplitudeSpectrum: Float32Array | null): void {
    const slot = this.framesSeen % (2 * T_NEIGH + 1);
    const db = this.ringDb[slot] as Float32Array;
    const fmax = this.ringFmax[slot] as Float32Array;
    if (amplitudeSpectrum) {
      // Only the bins peak picking reads; the mean is over K_LO..K_HI, summed in bin order.
      let sum = 0;
      for (let k = DB_LO; k <= DB_HI; k++) {
        const a = amplitudeSpectrum[k] as number;
        const v = a > MIN_AMPLITUDE ? 20 * Math.log10(a) : -100;
        db[k] = v;
        if (k >= K_LO && k <= K_HI) sum += v;
      }
      this.ringMean[slot] = sum / (K_HI - K_LO + 1);
    } else {
      db.fill(-100);
      this.ringMean[slot] = -100;
    }
    // The maximum of the 2·F_NEIGH + 1 = 9 bins around each k, from maxima of 2, 4 and 8 neighbours: four
    // comparisons a bin instead of eight. (A maximum is exact, so this is the same value as a direct scan.)
    const { max2, max4, max8 } = this;
    for (let j = DB_LO; j < DB_HI; j++) {
      const a = db[j] as number;
      const b = db[j + 1] as number;
      max2[j] = a > b ? a : b;
    }
    for (let j = DB_LO; j < DB_HI - 2; j++) {
      const a = max2[j] as number;
      const b = max2[j + 2] as number;
      max4[j] = a > b ? a : b;
    }
    for (let j = DB_LO; j < DB_HI - 6; j++) {
      const a = max4[j] as number;
      const b = max4[j + 4] as number;
      max8[j] = a > b ? a : b;
    }
    for (let k = K_LO; k <= K_HI; k++) {
      const a = max8[k - F_NEIGH] as number; // bins k − 4 … k + 3
      const b = db[k + F_NEIGH] as number;
      fmax[k] = a > b ? a : b;
    }
    this.framesSeen++;
    const centre = this.framesSeen - 1 - T_NEIGH;
    if (centre >= 0) this.pickPeaks(centre);
  }

  private pickPeaks(t: number): void {
    const size = 2 * T_NEIGH + 1;
    const slot = t % size;
    const db = this.ringDb[slot] as Float32Array;
    const mean = this.ringMean[slot] as number;
    for (let k = K_LO; k <= K_HI; k++) {
      const v = db[k] as number;
      if (v <= -100 || v < (this.ringFmax[slot] as Float32Array)[k]!) continue;
      let isMax = true;
      for (let d = 1; d <= T_NEIGH && isMax; d++) {
        // Frames before t are always in the ring; frames after t exist once t + d < framesSeen.
        const before = t - d;
        if (before >= 0 && (this.ringFmax[before % size] as Float32Array)[k]! > v) isMax = false;
        const after = t + d;
        if (after < this.framesSeen && (this.ringFmax[after % size] as Float32Array)[k]! >= v) isMax = false;
      }
      if (!isMax) continue;
      // Parabolic interpolation of the peak's bin on the dB spectrum.
      const a = db[k - 1] as number;
      const c = db[k + 1] as number;
      const den = a - 2 * v + c;
      const delta = den < 0 ? Math.max(-0.5, Math.min(0.5, (0.5 * (a - c)) / den)) : 0;
      const hz = ((k + delta) * ANALYSIS_RATE) / FRAME_SIZE;
      this.candidates.push({ t, p: 12 * Math.log2(hz / 440) + 69, strength: v - mean });
    }
  }
}

/** The candidates among the RANK_LIMIT strongest around them (see RANK_HALF_WINDOW), in time order. */
function strongestAround(c: readonly Peak[]): Peak[] {
  const peaks: Peak[] = [];
  let lo = 0;
  for (let i = 0; i < c.length; i++) {
    const p = c[i] as Peak;
    while ((c[lo] as Peak).t < p.t - RANK_HALF_WINDOW) lo++;
    let stronger = 0;
    for (let j = lo; j < c.length && stronger < RANK_LIMIT; j++) {
      const q = c[j] as Peak;
      if (q.t > p.t + RANK_HALF_WINDOW) break;
      if (q.strength > p.strength || (q.strength === p.strength && j < i)) stronger++;
    }
    if (stronger < RANK_LIMIT) peaks.push(p);
  }
  return peaks;
}

/** The 4-level log-scale length of a triplet (t3 − t1 in frames) that goes into its hash. */
export function dtLevel(dt: number): number {
  return dt <= 4 ? 0 : dt <= 9 ? 1 : dt <= 18 ? 2 : 3;
}

/** The rank pattern of three strengths: 0..5. */
export function loudestOrder(a: number, b: number, c: number): number {
  if (a >= b) {
    if (b >= c) return 0;
    return a >= c ? 1 : 2;
  }
  if (a >= c) return 3;
  return b >= c ? 4 : 5;
}

/** Quantised parts of a triplet; the query side also builds neighbours of values near a cell edge. */
export interface TripletParts {
  d12: number; // semitones, unrounded
  d13: number;
  ratio: number; // (t2 − t1)/(t3 − t1), 0..1
  band: number; // (p1 − P_LO)/6, unrounded
  dt: number; // t3 − t1 in frames
  order: number;
}

export function composeHash(
  d12: number,
  d13: number,
  r: number,
  band: number,
  dtl: number,
  order: number,
): number {
  // 6 + 6 + 3 + 3 + 2 + 3 = 23 bits
  return ((((((d12 + 24) * 49 + (d13 + 24)) * 8 + r) * 8 + band) * 4 + dtl) * 6 + order) >>> 0;
}

export function quantise(parts: TripletParts): number {
  return composeHash(
    Math.round(parts.d12),
    Math.round(parts.d13),
    Math.min(7, Math.floor(parts.ratio * 8)),
    Math.max(0, Math.min(7, Math.floor(parts.band))),
    dtLevel(parts.dt),
    parts.order,
  );
}

/** Visits every triplet of the peak list (anchor, then pairs of its strongest targets). */
export function forEachTriplet(
  peaks: readonly Peak[],
  visit: (parts: TripletParts, t1: number, s1: number, s2: number, s3: number) => void,
): void {
  const targets: Peak[] = [];
  for (let i = 0; i < peaks.length; i++) {
    const a = peaks[i] as Peak;
    targets.length = 0;
    for (let j = i + 1; j < peaks.length; j++) {
      const b = peaks[j] as Peak;
      const dt = b.t - a.t;
      if (dt < 1) continue;
      if (dt > ZONE_FRAMES) break;
      if (Math.abs(b.p - a.p) > MAX_INTERVAL - 0.5) continue;
      targets.push(b);
    }
    if (targets.length < 2) continue;
    if (targets.length > TARGETS) {
      targets.sort((x, y) => y.strength - x.strength);
      targets.length = TARGETS;
      targets.sort((x, y) => x.t - y.t || x.p - y.p);
    }
    for (let j = 0; j < targets.length; j++) {
      for (let k = j + 1; k < targets.length; k++) {
        const b = targets[j] as Peak;
        const c = targets[k] as Peak;
        const dt = c.t - a.t;
        visit(
          {
            d12: b.p - a.p,
            d13: c.p - a.p,
            ratio: (b.t - a.t) / dt,
            band: (a.p - P_LO) / 6,
            dt,
            order: loudestOrder(a.strength, b.strength, c.strength),
          },
          a.t,
          a.strength,
          b.strength,
          c.strength,
        );
      }
    }
  }
}

export function hashPeaks(peaks: readonly Peak[]): { hashes: Uint32Array; times: Uint32Array } {
  const hashes: number[] = [];
  const times: number[] = [];
  forEachTriplet(peaks, (parts, t1) => {
    hashes.push(quantise(parts));
    times.push(packTime(t1, Math.min(63, parts.dt)));
  });
  return { hashes: Uint32Array.from(hashes), times: Uint32Array.from(times) };
}
