/**
 * Blind detector. One Hann STFT of the mono mix (~46 ms frames, 50 % overlap) is reduced to a
 * compact matrix: FINE_BINS log-frequency bins (a quarter band each) per frame. The input is cut
 * into windows of four blocks; in each, a grid of hypotheses — frequency shift (whole fine bins),
 * time scale and sub-slot phase — maps the matrix onto the block's band × slot cells, the cells are
 * centred (per slot across bands, per band across neighbouring slots), folded modulo the block
 * length and correlated with the keyed pilots at every block offset. The best few alignments are
 * refined and their data cells decoded (soft tail-biting Viterbi), each band's cells weighted by how
 * clearly its pilots show the mark; a payload counts only when its MAC matches. Across windows,
 * alignments that agree (scale, shift, predicted block position) are summed cell by cell and decoded
 * together, and the strongest such group is followed into every new window at its predicted
 * alignment, so windows whose own search missed the mark still count (see Group).
 */
import type { PcmChunk } from "../audio/decode/index.js";
import { rfft } from "../audio/fft.js";
import { CODED_BITS, decodePayload, encodePayload } from "./code.js";
import {
  BAND_HI_HZ,
  BAND_LO_HZ,
  BANDS,
  BLOCK_SLOTS,
  CENTRE_SLOTS,
  ENERGY_FLOOR,
  FINE_BINS,
  FINE_MARGIN,
  FINE_PER_BAND,
  FINE_RATIO,
  frameSize,
  type KeyedPattern,
  keyedPattern,
  mixToMono,
  SLOT_S,
} from "./pattern.js";

export interface WatermarkDetection {
  found: boolean;
  payload: Uint8Array | null;
  confidence: number;
  ranges: { startS: number; endS: number }[];
  speedRatio: number | null;
}

export interface DetectOptions {
  key: Uint8Array;
  signal?: AbortSignal;
}

/** Window length in seconds (four blocks) and the most MAC checks one detection may make (FP bound, ADR 0010). */
export const WINDOW_S = 4 * BLOCK_SLOTS * SLOT_S;
const ACCUMULATE_Z = 4;
const RANGE_Z = 5;
export const CANDIDATES_PER_WINDOW = 3;
export const MAX_MAC_CHECKS = 4096;
const MIN_WINDOW_S = 3;
const MAX_SHIFT = 3;
const COARSE_SCALES = Array.from({ length: 13 }, (_, i) => 0.94 + 0.01 * i);
const COARSE_PHASES = 2;
const FINE_PHASES = 8;
const CLIP = 3;
/** Least variance a band is weighted with, as a fraction of the mean cell power (see bandWeights). */
const VARIANCE_FLOOR = 0.1;

/** Fine-bin power spectrum of one frame, with its centre time in input seconds. */
export interface FeatureFrame {
  t: number;
  fine: Float32Array;
}

interface Hypothesis {
  shift: number;
  scale: number;
  phase: number;
}

interface Aligned extends Hypothesis {
  offset: number;
  z: number;
  folded: Float64Array;
  counts: Float64Array;
}

/** Log band energies of a window for one frequency shift: BANDS rows × frames. */
export function bandLogEnergies(frames: FeatureFrame[], shift: number): Float64Array[] {
  const rows = Array.from({ length: BANDS }, () => new Float64Array(frames.length));
  frames.forEach((fr, f) => {
    for (let b = 0; b < BANDS; b++) {
      let e = 0;
      const from = FINE_MARGIN + b * FINE_PER_BAND + shift;
      for (let m = 0; m < FINE_PER_BAND; m++) e += fr.fine[from + m] as number;
      (rows[b] as Float64Array)[f] = e;
    }
  });
  return rows;
}

/**
 * Maps band energies onto slots for one time scale and phase, centres and normalises them and
 * folds them modulo the block: folded[b·BLOCK_SLOTS + j], plus the fold counts.
 */
export function foldCells(
  energies: Float64Array[],
  frames: FeatureFrame[],
  t0: number,
  scale: number,
  phase: number,
): { folded: Float64Array; counts: Float64Array } {
  const nFrames = frames.length;
  const last = frames[nFrames - 1] as FeatureFrame;
  const nSlots = Math.floor((scale * (last.t - t0)) / SLOT_S + phase) + 1;
  const slotOf = new Int32Array(nFrames);
  for (let f = 0; f < nFrames; f++)
    slotOf[f] = Math.floor((scale * ((frames[f] as FeatureFrame).t - t0)) / SLOT_S + phase);
  const cells = new Float64Array(BANDS * nSlots);
  const count = new Float64Array(nSlots);
  for (let f = 0; f < nFrames; f++) count[slotOf[f] as number] = (count[slotOf[f] as number] as number) + 1;
  let total = 0;
  for (let b = 0; b < BANDS; b++) {
    const row = energies[b] as Float64Array;
    const base = b * nSlots;
    for (let f = 0; f < nFrames; f++) {
      const i = base + (slotOf[f] as number);
      cells[i] = (cells[i] as number) + (row[f] as number);
      total += row[f] as number;
    }
  }
  const eps = ENERGY_FLOOR * (total / (BANDS * nFrames) + 1e-20);
  // Log energy, then remove each slot's mean across bands (loudness, onsets, echoes hit all bands).
  for (let k = 0; k < nSlots; k++) {
    if (count[k] === 0) continue;
    let mean = 0;
    for (let b = 0; b < BANDS; b++) {
      const i = b * nSlots + k;
      const v = Math.log((cells[i] as number) / (count[k] as number) + eps);
      cells[i] = v;
      mean += v;
    }
    mean /= BANDS;
    for (let b = 0; b < BANDS; b++) cells[b * nSlots + k] = (cells[b * nSlots + k] as number) - mean;
  }
  // Remove each band's local mean over ±CENTRE_SLOTS slots (spectral shape, slow changes).
  const centred = new Float64Array(BANDS * nSlots);
  let sumAbs = 0;
  let used = 0;
  for (let b = 0; b < BANDS; b++) {
    const base = b * nSlots;
    // Running sum and count over the window [k − CENTRE_SLOTS, k + CENTRE_SLOTS] of occupied slots.
    let s = 0;
    let c = 0;
    for (let j = 0; j <= Math.min(nSlots - 1, CENTRE_SLOTS); j++) {
      if (count[j] === 0) continue;
      s += cells[base + j] as number;
      c++;
    }
    for (let k = 0; k < nSlots; k++) {
      if (k > 0) {
        const add = k + CENTRE_SLOTS;
        const drop = k - CENTRE_SLOTS - 1;
        if (add < nSlots && count[add] !== 0) {
          s += cells[base + add] as number;
          c++;
        }
        if (drop >= 0 && count[drop] !== 0) {
          s -= cells[base + drop] as number;
          c--;
        }
      }
      if (count[k] === 0) continue;
      const v = (cells[base + k] as number) - s / c;
      centred[base + k] = v;
      sumAbs += Math.abs(v);
      used++;
    }
  }
  // Scale by the mean absolute deviation (×1.25 ≈ σ for a normal law): less swayed by outliers than σ.
  const inv = used > 0 && sumAbs > 0 ? 1 / ((1.25 * sumAbs) / used) : 0;
  const folded = new Float64Array(BANDS * BLOCK_SLOTS);
  const counts = new Float64Array(BLOCK_SLOTS);
  for (let k = 0; k < nSlots; k++) {
    if (count[k] === 0) continue;
    const j = k % BLOCK_SLOTS;
    counts[j] = (counts[j] as number) + 1;
    for (let b = 0; b < BANDS; b++) {
      const v = Math.max(-CLIP, Math.min(CLIP, (centred[b * nSlots + k] as number) * inv));
      folded[b * BLOCK_SLOTS + j] = (folded[b * BLOCK_SLOTS + j] as number) + v;
    }
  }
  return { folded, counts };
}

/** Pilot cells as parallel arrays (band, block position, chip), cached per pattern. */
const pilotLists = new WeakMap<KeyedPattern, { band: Int32Array; pos: Int32Array; chip: Float64Array }>();

function pilotsOf(pattern: KeyedPattern) {
  let l = pilotLists.get(pattern);
  if (!l) {
    const band: number[] = [];
    const pos: number[] = [];
    const chip: number[] = [];
    pattern.pilot.forEach((c, cell) => {
      if (c === 0) return;
      band.push(Math.floor(cell / BLOCK_SLOTS));
      pos.push(cell % BLOCK_SLOTS);
      chip.push(c);
    });
    l = { band: Int32Array.from(band), pos: Int32Array.from(pos), chip: Float64Array.from(chip) };
    pilotLists.set(pattern, l);
  }
  return l;
}

/** Pilot correlation z-score at every block offset; returns the best. */
export function bestOffset(
  pattern: KeyedPattern,
  folded: Float64Array,
  counts: Float64Array,
): { offset: number; z: number } {
  const { band, pos, chip } = pilotsOf(pattern);
  const n = chip.length;
  let best = { offset: 0, z: Number.NEGATIVE_INFINITY };
  for (let o = 0; o < BLOCK_SLOTS; o++) {
    let score = 0;
    let variance = 0;
    for (let i = 0; i < n; i++) {
      // Pilot at block position p sits in folded column j = p − o.
      const j = ((pos[i] as number) - o + BLOCK_SLOTS) % BLOCK_SLOTS;
      score += (chip[i] as number) * (folded[(band[i] as number) * BLOCK_SLOTS + j] as number);
      variance += counts[j] as number;
    }
    const z = variance > 0 ? score / Math.sqrt(variance) : 0;
    if (z > best.z) best = { offset: o, z };
  }
  return best;
}

/**
 * Per-band weights for combining cells into soft bits (maximum-ratio combining): a band's pilots estimate
 * how strongly the mark shows in it (mean of chip × cell) and its cells how much the host varies there
 * (variance); the weight mean / variance turns each cell into a log-likelihood ratio, so bands where the
 * mark is buried in the host count little and clean bands count fully. Bands whose pilots disagree get 0.
 */
export function bandWeights(pattern: KeyedPattern, folded: Float64Array, offset: number): Float64Array {
  const { band, pos, chip } = pilotsOf(pattern);
  const mean = new Float64Array(BANDS);
  const n = new Float64Array(BANDS);
  for (let i = 0; i < chip.length; i++) {
    const b = band[i] as number;
    const j = ((pos[i] as number) - offset + BLOCK_SLOTS) % BLOCK_SLOTS;
    mean[b] = (mean[b] as number) + (chip[i] as number) * (folded[b * BLOCK_SLOTS + j] as number);
    n[b] = (n[b] as number) + 1;
  }
  const mu = new Float64Array(BANDS);
  const variance = new Float64Array(BANDS);
  let power = 0;
  for (let b = 0; b < BANDS; b++) {
    mu[b] = (mean[b] as number) / Math.max(1, n[b] as number);
    let sq = 0;
    for (let j = 0; j < BLOCK_SLOTS; j++) sq += (folded[b * BLOCK_SLOTS + j] as number) ** 2;
    variance[b] = Math.max(0, sq / BLOCK_SLOTS - (mu[b] as number) ** 2);
    power += sq / BLOCK_SLOTS;
  }
  // A band where the mark is all there is (clipped cells, variance ≈ 0) must not outweigh the rest without
  // bound: its variance counts as at least VARIANCE_FLOOR of the mean cell power.
  const floor = Math.max(1e-12, (VARIANCE_FLOOR * power) / BANDS);
  const w = new Float64Array(BANDS);
  for (let b = 0; b < BANDS; b++)
    w[b] = Math.max(0, mu[b] as number) / Math.max(floor, variance[b] as number);
  return w;
}

/** Soft coded bits (log-likelihood ratios) from folded cells whose block starts at column `offset`. */
export function softBits(pattern: KeyedPattern, folded: Float64Array, offset: number): Float64Array {
  const soft = new Float64Array(CODED_BITS);
  const weight = bandWeights(pattern, folded, offset);
  for (let b = 0; b < BANDS; b++) {
    const w = weight[b] as number;
    if (w === 0) continue;
    for (let j = 0; j < BLOCK_SLOTS; j++) {
      const cell = b * BLOCK_SLOTS + ((j + offset) % BLOCK_SLOTS);
      const bit = pattern.bitOf[cell] as number;
      if (bit < 0) continue;
      soft[bit] =
        (soft[bit] as number) + w * (pattern.sign[cell] as number) * (folded[b * BLOCK_SLOTS + j] as number);
    }
  }
  return soft;
}

interface WindowResult {
  startS: number;
  endS: number;
  /** Soft bits of the best few alignments, best first, with their pilot z-scores and scales. */
  candidates: { soft: Float64Array; z: number; scale: number }[];
}

/** A window's folded cells at its best alignment, by block position (column p = block slot p), and counts. */
interface BlockCells {
  cells: Float64Array;
  counts: Float64Array;
}

/** Rotates folded cells whose block starts at column `offset` so that column p holds block position p. */
export function toBlockPositions(folded: Float64Array, counts: Float64Array, offset: number): BlockCells {
  const cells = new Float64Array(BANDS * BLOCK_SLOTS);
  const byPos = new Float64Array(BLOCK_SLOTS);
  for (let j = 0; j < BLOCK_SLOTS; j++) {
    const p = (j + offset) % BLOCK_SLOTS;
    byPos[p] = counts[j] as number;
    for (let b = 0; b < BANDS; b++) cells[b * BLOCK_SLOTS + p] = folded[b * BLOCK_SLOTS + j] as number;
  }
  return { cells, counts: byPos };
}

/** A window's alignment with its cells by block position, as it joins a group (see Group). */
interface GroupMember {
  z: number;
  scale: number;
  shift: number;
  /** Block position (in slots, continuous) at the window's first frame: sub-slot phase + offset. */
  position: number;
  block: BlockCells;
}

/** One of a window's best alignments: a group member that is also decoded on its own, by its soft bits. */
interface Candidate extends GroupMember {
  soft: Float64Array;
}

/** An alignment to follow into the next window: where the block should be, at what scale and shift. */
interface Track {
  scale: number;
  shift: number;
  position: number;
}

const FOLLOW_STEPS = 4;

function analyseWindow(
  pattern: KeyedPattern,
  frames: FeatureFrame[],
  follow: Track | null,
): { startS: number; endS: number; candidates: Candidate[]; followed: GroupMember | null } {
  const t0 = (frames[0] as FeatureFrame).t;
  const startS = t0;
  const endS = (frames[frames.length - 1] as FeatureFrame).t;
  const byShift = new Map<number, Float64Array[]>();
  const energiesFor = (shift: number) => {
    let e = byShift.get(shift);
    if (!e) {
      e = bandLogEnergies(frames, shift);
      byShift.set(shift, e);
    }
    return e;
  };
  const align = (h: Hypothesis): Aligned => {
    const { folded, counts } = foldCells(energiesFor(h.shift), frames, t0, h.scale, h.phase);
    const { offset, z } = bestOffset(pattern, folded, counts);
    return { ...h, offset, z, folded, counts };
  };
  const coarse: Aligned[] = [];
  for (let shift = -MAX_SHIFT; shift <= MAX_SHIFT; shift++) {
    for (const scale of COARSE_SCALES) {
      for (let p = 0; p < COARSE_PHASES; p++) coarse.push(align({ shift, scale, phase: p / COARSE_PHASES }));
    }
  }
  coarse.sort((a, b) => b.z - a.z);
  const picked: Aligned[] = [];
  for (const c of coarse) {
    if (picked.length >= CANDIDATES_PER_WINDOW) break;
    if (picked.some((p) => Math.abs(p.scale - c.scale) < 0.015 && Math.abs(p.shift - c.shift) <= 1)) continue;
    picked.push(c);
  }
  const candidates = picked.map((c) => {
    // Coordinate-wise refinement: phase, then scale, then shift, then phase again.
    let top = c;
    const tryAll = (hs: Hypothesis[]) => {
      for (const h of hs) {
        if (Math.abs(h.shift) > FINE_MARGIN) continue;
        const a = align(h);
        if (a.z > top.z) top = a;
      }
    };
    const phases = () => Array.from({ length: FINE_PHASES }, (_, p) => ({ ...top, phase: p / FINE_PHASES }));
    tryAll(phases());
    tryAll([-3, -2, -1, 1, 2, 3].map((ds) => ({ ...top, scale: top.scale + ds * 0.0025 })));
    tryAll([-1, 1].map((dh) => ({ ...top, shift: top.shift + dh })));
    tryAll(phases());
    tryAll([-1, 1].map((ds) => ({ ...top, scale: top.scale + ds * 0.00125 })));
    return {
      soft: softBits(pattern, top.folded, top.offset),
      z: top.z,
      scale: top.scale,
      shift: top.shift,
      position: top.phase + top.offset,
      block: toBlockPositions(top.folded, top.counts, top.offset),
    };
  });
  candidates.sort((a, b) => b.z - a.z);
  // The followed alignment: the block where the track predicts it, give or take half a slot (no offset search).
  // It joins its group by its cells; it is never decoded on its own, so it has no soft bits.
  let followed: GroupMember | null = null;
  if (follow && Math.abs(follow.shift) <= FINE_MARGIN) {
    for (let d = -FOLLOW_STEPS; d <= FOLLOW_STEPS; d++) {
      const at = follow.position + d / (2 * FOLLOW_STEPS);
      const offset = ((Math.floor(at) % BLOCK_SLOTS) + BLOCK_SLOTS) % BLOCK_SLOTS;
      const phase = at - Math.floor(at);
      const { folded, counts } = foldCells(energiesFor(follow.shift), frames, t0, follow.scale, phase);
      const block = toBlockPositions(folded, counts, offset);
      const z = pilotZ(pattern, block.cells, block.counts);
      if (!followed || z > followed.z)
        followed = {
          z,
          scale: follow.scale,
          shift: follow.shift,
          position: phase + offset,
          block,
        };
    }
  }
  return { startS, endS, candidates, followed };
}

/**
 * Windows whose alignments agree — time scale within GROUP_SCALE_TOL, frequency shift within one fine bin,
 * and the block where the previous member predicts it, within a slot — are one group: their cells are summed
 * by block position, and the group's pilots and band weights are estimated from all of them at once. A
 * window's wrong alignment lands in a group of its own instead of diluting the right one. The strongest
 * group is also followed into each new window at its predicted alignment, so a window whose own search
 * missed the mark (its pilots too weak to win among all hypotheses) still adds its cells.
 */
interface Group extends BlockCells {
  /** Time scale and frequency shift of the latest member. */
  scale: number;
  shift: number;
  windows: number;
  z: number;
  /** The latest member's first frame time and its block position there. */
  lastT0: number;
  lastPosition: number;
}
const GROUP_SCALE_TOL = 0.0075;
const MAX_GROUPS = 32;

/** Where a group's block should be at input time t0 (slots, modulo the block). */
function predictedPosition(g: Group, t0: number): number {
  const p = g.lastPosition + (g.scale * (t0 - g.lastT0)) / SLOT_S;
  return ((p % BLOCK_SLOTS) + BLOCK_SLOTS) % BLOCK_SLOTS;
}

/** Circular distance of two block positions, in slots. */
function positionDistance(a: number, b: number): number {
  const d = Math.abs(a - b) % BLOCK_SLOTS;
  return Math.min(d, BLOCK_SLOTS - d);
}

/** Pilot correlation z-score of cells by block position (offset 0). */
function pilotZ(pattern: KeyedPattern, cells: Float64Array, counts: Float64Array): number {
  const { band, pos, chip } = pilotsOf(pattern);
  let score = 0;
  let variance = 0;
  for (let i = 0; i < chip.length; i++) {
    score += (chip[i] as number) * (cells[(band[i] as number) * BLOCK_SLOTS + (pos[i] as number)] as number);
    variance += counts[pos[i] as number] as number;
  }
  return variance > 0 ? score / Math.sqrt(variance) : 0;
}

/** Streams the mono mix through the STFT and yields fine-bin frames. */
export async function* featureFrames(
  input: AsyncIterable<PcmChunk>,
  signal?: AbortSignal,
): AsyncIterable<FeatureFrame> {
  let rate = 0;
  let n = 0;
  let hop = 0;
  let win = new Float64Array(0);
  let re = new Float64Array(0);
  let im = new Float64Array(0);
  let binLo = 0;
  let binHi = 0;
  let fineIdx = new Int32Array(0);
  let fineW = new Float64Array(0);
  let buf = new Float64Array(0);
  let bufLen = 0;
  // Where the next frame starts in `buf`; the consumed head is dropped once per chunk, not per frame.
  let bufStart = 0;
  let frameIndex = 0;
  const setup = (r: number) => {
    rate = r;
    n = frameSize(rate);
    hop = n / 2;
    win = new Float64Array(n);
    for (let i = 0; i < n; i++) win[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n);
    re = new Float64Array(n / 2 + 1);
    im = new Float64Array(n / 2 + 1);
    const loHz = BAND_LO_HZ / FINE_RATIO ** (FINE_MARGIN + 1);
    const hiHz = BAND_HI_HZ * FINE_RATIO ** (FINE_MARGIN + 1);
    binLo = Math.max(1, Math.ceil((loHz * n) / rate));
    binHi = Math.min(n / 2, Math.floor((hiHz * n) / rate));
    fineIdx = new Int32Array(binHi + 1).fill(-1);
    fineW = new Float64Array(binHi + 1);
    for (let k = binLo; k <= binHi; k++) {
      // Position in fine bins (bin centres at integer + 0.5); split the power linearly between neighbours.
      const pos = Math.log((k * rate) / n / BAND_LO_HZ) / Math.log(FINE_RATIO) + FINE_MARGIN - 0.5;
      const i = Math.floor(pos);
      fineIdx[k] = i;
      fineW[k] = pos - i;
    }
    buf = new Float64Array(4 * n);
    bufLen = hop;
  };
  const emit = (): FeatureFrame => {
    rfft(buf.subarray(bufStart, bufStart + n), re, im, win);
    const fine = new Float32Array(FINE_BINS);
    for (let k = binLo; k <= binHi; k++) {
      const p = (re[k] as number) ** 2 + (im[k] as number) ** 2;
      const i = fineIdx[k] as number;
      const w = fineW[k] as number;
      if (i >= 0 && i < FINE_BINS) fine[i] = (fine[i] as number) + p * (1 - w);
      if (i + 1 >= 0 && i + 1 < FINE_BINS) fine[i + 1] = (fine[i + 1] as number) + p * w;
    }
    const t = (frameIndex * hop) / rate;
    frameIndex++;
    bufStart += hop;
    return { t, fine };
  };
  const dropConsumed = () => {
    buf.copyWithin(0, bufStart, bufLen);
    bufLen -= bufStart;
    bufStart = 0;
  };
  for await (const chunk of input) {
    if (signal?.aborted) throw signal.reason ?? new Error("aborted");
    const len = chunk.channels[0]?.length ?? 0;
    if (len === 0) continue;
    if (rate === 0) setup(chunk.sampleRate);
    else if (chunk.sampleRate !== rate)
      throw new Error("watermark detection needs one sample rate for the whole stream");
    dropConsumed();
    if (bufLen + len > buf.length) {
      const grown = new Float64Array(Math.max(buf.length * 2, bufLen + len));
      grown.set(buf.subarray(0, bufLen));
      buf = grown;
    }
    mixToMono(chunk.channels, buf.subarray(bufLen, bufLen + len));
    bufLen += len;
    while (bufLen - bufStart >= n) yield emit();
  }
  dropConsumed();
  if (rate > 0 && bufLen > hop) {
    buf.fill(0, bufLen, n);
    bufLen = n;
    yield emit();
  }
}

export async function detectWatermark(
  input: AsyncIterable<PcmChunk>,
  opts: DetectOptions,
): Promise<WatermarkDetection> {
  const { bestGuess: _, ...detection } = await detectWatermarkDetailed(input, opts);
  return detection;
}

/**
 * detectWatermark plus, for the evaluation harness, the payload the decoder would have read from
 * all windows together even when its MAC failed (to count bit errors). Never a detection.
 */
export async function detectWatermarkDetailed(
  input: AsyncIterable<PcmChunk>,
  opts: DetectOptions,
): Promise<WatermarkDetection & { bestGuess: Uint8Array | null }> {
  const pattern = keyedPattern(opts.key);
  const windows: WindowResult[] = [];
  // Every window's candidate alignments with pilot z ≥ ACCUMULATE_Z join the group they agree with (see Group).
  const groups: Group[] = [];
  let macChecks = 0;
  let found: { payload: Uint8Array; agreement: number } | null = null;
  const tryDecode = (soft: Float64Array) => {
    if (found || macChecks >= MAX_MAC_CHECKS) return;
    macChecks++;
    const d = decodePayload(pattern.macKey, soft);
    if (d.macValid) found = { payload: d.payload, agreement: d.agreement };
  };
  let pendingFrames: FeatureFrame[] = [];
  const run = (frames: FeatureFrame[]) => {
    const t0 = (frames[0] as FeatureFrame).t;
    const leader = groups.filter((g) => g.windows > 1).sort((a, b) => b.z - a.z)[0];
    const analysed = analyseWindow(
      pattern,
      frames,
      leader ? { scale: leader.scale, shift: leader.shift, position: predictedPosition(leader, t0) } : null,
    );
    windows.push({
      startS: analysed.startS,
      endS: analysed.endS,
      candidates: analysed.candidates.map(({ soft, z, scale }) => ({ soft, z, scale })),
    });
    for (const c of analysed.candidates) tryDecode(c.soft);
    const updated: Group[] = [];
    const join = (g: Group, c: GroupMember) => {
      g.scale = c.scale;
      g.shift = c.shift;
      g.windows++;
      for (let i = 0; i < g.cells.length; i++)
        g.cells[i] = (g.cells[i] as number) + (c.block.cells[i] as number);
      for (let i = 0; i < BLOCK_SLOTS; i++)
        g.counts[i] = (g.counts[i] as number) + (c.block.counts[i] as number);
      g.z = pilotZ(pattern, g.cells, g.counts);
      g.lastT0 = t0;
      g.lastPosition = c.position;
      updated.push(g);
    };
    for (const c of analysed.candidates) {
      if (c.z < ACCUMULATE_Z) continue;
      const free = groups.filter((g) => !updated.includes(g));
      const g = free.find(
        (g) =>
          Math.abs(g.scale - c.scale) <= GROUP_SCALE_TOL &&
          Math.abs(g.shift - c.shift) <= 1 &&
          positionDistance(predictedPosition(g, t0), c.position) <= 1,
      );
      if (g) {
        join(g, c);
        continue;
      }
      // Two candidates of one window that refined to the same alignment count once.
      if (updated.some((u) => u.lastT0 === t0 && u.scale === c.scale && u.lastPosition === c.position))
        continue;
      if (groups.length >= MAX_GROUPS) {
        // Forget the weakest group that did not just change.
        const weakest = free.sort((a, b) => a.z - b.z)[0];
        if (!weakest) continue;
        groups.splice(groups.indexOf(weakest), 1);
      }
      const fresh: Group = {
        scale: c.scale,
        shift: c.shift,
        windows: 0,
        z: 0,
        cells: new Float64Array(BANDS * BLOCK_SLOTS),
        counts: new Float64Array(BLOCK_SLOTS),
        lastT0: t0,
        lastPosition: c.position,
      };
      groups.push(fresh);
      join(fresh, c);
    }
    if (leader && analysed.followed && !updated.includes(leader) && groups.includes(leader))
      join(leader, analysed.followed);
    // One MAC check per window for the groups: the changed group of several windows whose pilots show most.
    const best = updated.filter((g) => g.windows > 1).sort((a, b) => b.z - a.z)[0];
    if (best) tryDecode(softBits(pattern, best.cells, 0));
  };
  for await (const fr of featureFrames(input, opts.signal)) {
    pendingFrames.push(fr);
    const first = pendingFrames[0] as FeatureFrame;
    if (fr.t - first.t >= 1.5 * WINDOW_S) {
      const cut = pendingFrames.findIndex((f) => f.t - first.t >= WINDOW_S);
      run(pendingFrames.slice(0, cut));
      pendingFrames = pendingFrames.slice(cut);
    }
  }
  if (pendingFrames.length > 0) {
    const span =
      (pendingFrames[pendingFrames.length - 1] as FeatureFrame).t - (pendingFrames[0] as FeatureFrame).t;
    if (span >= MIN_WINDOW_S) run(pendingFrames);
  }
  const hit = found as { payload: Uint8Array; agreement: number } | null;
  if (!hit) {
    const strongest = [...groups].sort((a, b) => b.z - a.z)[0];
    const guessFrom = strongest ? softBits(pattern, strongest.cells, 0) : windows[0]?.candidates[0]?.soft;
    const bestGuess = guessFrom ? decodePayload(pattern.macKey, guessFrom).payload : null;
    return { found: false, payload: null, confidence: 0, ranges: [], speedRatio: null, bestGuess };
  }
  // Where the mark is: windows whose best alignment correlates clearly with the found codeword.
  const code = encodePayload(pattern.macKey, hit.payload);
  const ranges: { startS: number; endS: number }[] = [];
  const scales: number[] = [];
  for (const w of windows) {
    const z = Math.max(...w.candidates.map((c) => codewordZ(c.soft, code)));
    if (z < RANGE_Z) continue;
    scales.push((w.candidates.find((c) => codewordZ(c.soft, code) === z) as { scale: number }).scale);
    const prev = ranges[ranges.length - 1];
    if (prev && w.startS - prev.endS < 0.5) prev.endS = w.endS;
    else ranges.push({ startS: w.startS, endS: w.endS });
  }
  scales.sort((a, b) => a - b);
  return {
    found: true,
    payload: hit.payload,
    confidence: Math.max(0, Math.min(1, hit.agreement)),
    ranges,
    speedRatio: scales.length > 0 ? (scales[Math.floor(scales.length / 2)] as number) : null,
    bestGuess: hit.payload,
  };
}

/** Correlation of soft bits with a codeword as a z-score (≈ N(0,1) when unrelated). */
function codewordZ(soft: Float64Array, code: Int8Array): number {
  let dot = 0;
  let sq = 0;
  for (let i = 0; i < CODED_BITS; i++) {
    dot += (soft[i] as number) * (code[i] as number);
    sq += (soft[i] as number) ** 2;
  }
  return sq > 0 ? dot / Math.sqrt(sq) : 0;
}
