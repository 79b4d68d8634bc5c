/**
 * Matching one query against one candidate reference: find the line tr = a·tq + b (a = speed ratio,
 * b = offset) that most hash hits agree with, then measure how much of each side that line explains.
 *
 * 1. Hits: every query probe whose hash occurs in the reference, as (query frame, reference frame, and
 *    a local speed estimate from the two triplets' lengths).
 * 2. Speed: the local estimates vote in a histogram of log-speed; around its strongest modes a fine grid
 *    of speeds is tried, and for each the offsets vote in a histogram of 3-frame bins. The (speed, offset)
 *    with the most votes wins and is refined by least squares on its inliers.
 * 3. Coverage: the query is cut into 2-second segments; a segment is matched when at least two of its
 *    triplets agree with the line. Query coverage, reference coverage and the share of triplets the line
 *    explains in the matched segments (the density) follow.
 * 4. Verdict ({@link verdictOf}): `same-recording` when the line explains most of the query's active
 *    segments at a density no shared loop, stem or re-orchestration reached on the evaluation corpus, or
 *    nearly all of them at a lower density with no rival offset nearly as good (a loop shared by two
 *    tracks agrees at every repetition); otherwise `shared-material`. Too few agreeing hits, agreement at
 *    the background level, or no two consecutive matched segments is no match at all.
 *
 * @module
 */

import { anchorFrame, FRAMES_PER_SECOND, spanFrames } from "./extract.js";
import type { QueryProbes } from "./probes.js";

/** Speeds considered: ±12 %. */
const MIN_SPEED = 0.88;
const MAX_SPEED = 1.12;
const SPEED_BIN = 0.01; // log-speed histogram bin (≈1 %)
const SPEED_STEP = 0.002; // fine grid step
const SPEED_HALF_SPAN = 0.012; // fine grid ± around each mode
const OFFSET_BIN = 3; // frames
const INLIER_TOL = 3; // frames
export const SEGMENT_FRAMES = 64; // ≈2.05 s
const SEGMENT_MIN_TRIPLETS = 4; // a segment with fewer of the query's own triplets is silence
const SEGMENT_MIN_INLIERS = 2;
const MIN_INLIERS = 8;
const MIN_MATCHED_SEGMENTS = 2;
const NOISE_DENSITY = 0.04;
const NOISE_COVERAGE = 0.3;
const RUNNER_UP_GAP = 31; // ≈1 s
/**
 * Verdict thresholds, set on the evaluation corpus (docs/adr/0007-fingerprints.md says how).
 * Same recording when the line explains:
 * - DENSE: most of the query's segments, with a density no shared loop, stem or re-orchestration reached; or
 * - BROAD: nearly all segments at a lower density (pitch shifts and heavy noise thin the hashes out), provided
 *   the agreement does not repeat at other offsets the way a shared loop's does.
 */
export const DENSE = { minCoverage: 0.45, minDensity: 0.13 };
export const BROAD = { minCoverage: 0.7, minDensity: 0.045, maxRunnerUp: 0.6 };

/** Whether an alignment meets the {@link DENSE} rule (the stricter of the two same-recording rules). */
export function isDense(m: { queryCoverage: number; density: number }): boolean {
  return m.queryCoverage >= DENSE.minCoverage && m.density >= DENSE.minDensity;
}

export function verdictOf(m: {
  queryCoverage: number;
  density: number;
  runnerUp: number;
}): "same-recording" | "shared-material" {
  if (isDense(m)) return "same-recording";
  if (m.queryCoverage >= BROAD.minCoverage && m.density >= BROAD.minDensity && m.runnerUp < BROAD.maxRunnerUp)
    return "same-recording";
  return "shared-material";
}

export interface ReferenceFingerprint {
  hashes: Uint32Array;
  times: Uint32Array;
  durationS: number;
}

export interface Alignment {
  /** Reference seconds per query second: 1.05 means the query plays 5 % faster than the reference. */
  speedRatio: number;
  offsetFrames: number;
  inliers: number;
  matchedSegments: number;
  activeSegments: number;
  queryCoverage: number;
  referenceCoverage: number;
  density: number;
  queryOffsetS: number;
  referenceOffsetS: number;
  /** Support of the best other offset relative to this one (see runnerUp). */
  runnerUp: number;
  verdict: "same-recording" | "shared-material";
  score: number;
}

/**
 * Reference hash → positions, for the query's probes to look up. An open-addressing table over typed arrays:
 * `first(hash)` is the hash's first position in the reference (or −1), and `next[position]` the following
 * position with the same hash, in increasing order. Building it and probing it allocate no per-hash objects.
 */
export class ReferenceTable {
  readonly ref: ReferenceFingerprint;
  /** Next position with the same hash as this one, or −1. */
  readonly next: Int32Array;
  private readonly keys: Uint32Array;
  private readonly heads: Int32Array;
  private readonly shift: number;
  private readonly mask: number;
  constructor(ref: ReferenceFingerprint) {
    this.ref = ref;
    const n = ref.hashes.length;
    const bits = Math.max(4, Math.ceil(Math.log2(2 * n + 1)));
    this.shift = 32 - bits;
    this.mask = (1 << bits) - 1;
    this.keys = new Uint32Array(1 << bits);
    this.heads = new Int32Array(1 << bits).fill(-1);
    this.next = new Int32Array(n);
    // Backwards, so that each chain runs in increasing position order.
    for (let i = n - 1; i >= 0; i--) {
      const h = ref.hashes[i] as number;
      const s = this.slot(h);
      this.next[i] = this.heads[s] as number;
      this.keys[s] = h;
      this.heads[s] = i;
    }
  }
  /** The slot holding `hash`, or the empty slot where it would go. */
  private slot(hash: number): number {
    let s = Math.imul(hash, 0x9e3779b1) >>> this.shift;
    while (this.heads[s] !== -1 && this.keys[s] !== hash) s = (s + 1) & this.mask;
    return s;
  }
  /** First position of `hash` in the reference, or −1. */
  first(hash: number): number {
    return this.heads[this.slot(hash)] as number;
  }
}

interface Hits {
  tq: Float64Array;
  tr: Float64Array;
  logSpeed: Float64Array; // NaN when the triplets are too short to estimate
  triplet: Uint32Array;
  n: number;
  maxTq: number;
  maxTr: number;
}

/** The same typed array at twice the capacity. */
function doubled<T extends Float64Array | Uint32Array>(a: T): T {
  const b = new (a.constructor as new (length: number) => T)(a.length * 2);
  b.set(a);
  return b;
}

function collectHits(probes: QueryProbes, table: ReferenceTable): Hits {
  const cap = 1024;
  let tq = new Float64Array(cap);
  let tr = new Float64Array(cap);
  let ls = new Float64Array(cap);
  let trip = new Uint32Array(cap);
  let n = 0;
  let maxTq = 0;
  let maxTr = 0;
  const { times } = table.ref;
  const { next } = table;
  for (let i = 0; i < probes.hashes.length; i++) {
    const head = table.first(probes.hashes[i] as number);
    if (head < 0) continue;
    const qPacked = probes.times[i] as number;
    const qt = anchorFrame(qPacked);
    const qdt = spanFrames(qPacked);
    for (let j = head; j >= 0; j = next[j] as number) {
      if (n === tq.length) {
        tq = doubled(tq);
        tr = doubled(tr);
        ls = doubled(ls);
        trip = doubled(trip);
      }
      const rPacked = times[j] as number;
      const rdt = spanFrames(rPacked);
      const rt = anchorFrame(rPacked);
      tq[n] = qt;
      tr[n] = rt;
      if (qt > maxTq) maxTq = qt;
      if (rt > maxTr) maxTr = rt;
      ls[n] = qdt >= 6 && rdt >= 6 ? Math.log(rdt / qdt) : Number.NaN;
      trip[n] = probes.triplet[i] as number;
      n++;
    }
  }
  return { tq, tr, logSpeed: ls, triplet: trip, n, maxTq, maxTr };
}

function speedModes(h: Hits): number[] {
  const lo = Math.log(MIN_SPEED);
  const bins = Math.ceil((Math.log(MAX_SPEED) - lo) / SPEED_BIN) + 1;
  const hist = new Float64Array(bins);
  for (let i = 0; i < h.n; i++) {
    const v = h.logSpeed[i] as number;
    if (Number.isNaN(v)) continue;
    const b = Math.round((v - lo) / SPEED_BIN);
    if (b >= 0 && b < bins) hist[b]!++;
  }
  // Smooth over ±2 bins (the local estimates are only good to a few per cent).
  const smooth = new Float64Array(bins);
  for (let b = 0; b < bins; b++) {
    for (let d = -2; d <= 2; d++) {
      const k = b + d;
      if (k >= 0 && k < bins) smooth[b]! += (hist[k] as number) * (3 - Math.abs(d));
    }
  }
  const modes: number[] = [];
  const taken = new Uint8Array(bins);
  for (let m = 0; m < 3; m++) {
    let best = -1;
    for (let b = 0; b < bins; b++) if (!taken[b] && (best < 0 || smooth[b]! > smooth[best]!)) best = b;
    if (best < 0 || smooth[best] === 0) break;
    modes.push(Math.exp(lo + best * SPEED_BIN));
    for (let d = -3; d <= 3; d++) if (best + d >= 0 && best + d < bins) taken[best + d] = 1;
  }
  if (modes.length === 0 || !modes.some((s) => Math.abs(s - 1) < SPEED_HALF_SPAN)) modes.push(1);
  return modes;
}

function bestLine(h: Hits, modes: number[], bin: number): { a: number; b: number; votes: number } {
  const minB = -MAX_SPEED * h.maxTq - bin;
  const bins = Math.ceil((h.maxTr + bin - minB) / bin) + 2;
  // Two histograms, even hits in one and odd in the other, summed when read. On a true match most hits
  // fall in one bin, and with a single histogram each increment would wait for the previous one's store.
  const even = new Int32Array(bins);
  const odd = new Int32Array(bins);
  let best = { a: 1, b: 0, votes: 0 };
  const { tq, tr, n } = h;
  const seen = new Set<number>();
  for (const mode of modes) {
    for (let a = mode - SPEED_HALF_SPAN; a <= mode + SPEED_HALF_SPAN + 1e-9; a += SPEED_STEP) {
      const key = Math.round(a / SPEED_STEP);
      if (seen.has(key) || a < MIN_SPEED || a > MAX_SPEED) continue;
      seen.add(key);
      even.fill(0);
      odd.fill(0);
      // The value is positive (minB lies below every tr − a·tq), so truncation is Math.floor.
      let i = 0;
      for (; i + 1 < n; i += 2) {
        even[(((tr[i] as number) - a * (tq[i] as number) - minB) / bin) | 0]!++;
        odd[(((tr[i + 1] as number) - a * (tq[i + 1] as number) - minB) / bin) | 0]!++;
      }
      if (i < n) even[(((tr[i] as number) - a * (tq[i] as number) - minB) / bin) | 0]!++;
      let prev = (even[0] as number) + (odd[0] as number);
      for (let k = 0; k + 1 < bins; k++) {
        const next = (even[k + 1] as number) + (odd[k + 1] as number);
        const votes = prev + next;
        if (votes > best.votes) best = { a, b: minB + (k + 1) * bin, votes };
        prev = next;
      }
    }
  }
  return best;
}

/** Least-squares fit of the hits within `tol` frames of the line; the line itself if too few. */
function refine(h: Hits, a: number, b: number, tol: number): { a: number; b: number } {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < h.n; i++) {
    const x = h.tq[i] as number;
    const y = h.tr[i] as number;
    if (Math.abs(y - (a * x + b)) > tol) continue;
    n++;
    sx += x;
    sy += y;
    sxx += x * x;
    sxy += x * y;
  }
  const den = n * sxx - sx * sx;
  if (n < MIN_INLIERS || den <= 0) return { a, b };
  const a2 = (n * sxy - sx * sy) / den;
  if (a2 < MIN_SPEED || a2 > MAX_SPEED) return { a, b };
  return { a: a2, b: (sy - a2 * sx) / n };
}

/** Aligns a query with one reference; null when nothing coherent is shared. */
export function align(probes: QueryProbes, table: ReferenceTable): Alignment | null {
  const h = collectHits(probes, table);
  if (h.n < MIN_INLIERS) return null;
  // The speed grid's step lets the line drift by up to SPEED_STEP/2 × the query's length; the offset bins
  // are made that wide, and the least-squares refits then narrow the tolerance down to INLIER_TOL.
  const wide = Math.max(OFFSET_BIN, Math.ceil((SPEED_STEP / 2) * h.maxTq) + OFFSET_BIN);
  const line = bestLine(h, speedModes(h), wide);
  if (line.votes < MIN_INLIERS) return null;
  let { a, b } = line;
  for (let tol = wide; ; tol = Math.max(INLIER_TOL, tol / 2)) {
    ({ a, b } = refine(h, a, b, tol));
    if (tol === INLIER_TOL) break;
  }
  ({ a, b } = refine(h, a, b, INLIER_TOL));
  // One vote per query triplet on the line.
  const onLine = new Uint8Array(probes.triplets);
  let inliers = 0;
  for (let i = 0; i < h.n; i++) {
    if (Math.abs((h.tr[i] as number) - (a * (h.tq[i] as number) + b)) > INLIER_TOL) continue;
    const t = h.triplet[i] as number;
    if (!onLine[t]) {
      onLine[t] = 1;
      inliers++;
    }
  }
  if (inliers < MIN_INLIERS) return null;
  const measured = coverage(probes, table.ref, onLine, inliers, a, b);
  if (!measured) return null;
  const m = { ...measured, runnerUp: runnerUp(h, a, b, inliers) };
  const verdict = verdictOf(m);
  // Score: coverage, weighed by density up to what a clean copy reaches, halved for shared material.
  const score = m.queryCoverage * Math.min(1, m.density / 0.3) * (verdict === "same-recording" ? 1 : 0.5);
  return { ...m, verdict, score: Math.round(score * 1000) / 1000 };
}

/**
 * Support of the best other offset at the same speed (at least RUNNER_UP_GAP frames away), relative to the
 * match's own: near 1 when the agreement repeats along the piece (a loop shared by two tracks lines up at
 * every repetition), low for one recording (only one offset lines everything up).
 */
function runnerUp(h: Hits, a: number, b: number, inliers: number): number {
  const { tq, tr, triplet, n } = h;
  const width = 2 * INLIER_TOL;
  // Offsets tr − a·tq − b lie in [−a·maxTq − b, maxTr − b] (a > 0), and rounding keeps the order: the bins.
  const lo = Math.round((-a * h.maxTq - b) / width);
  const bins = Math.round((h.maxTr - b) / width) - lo + 1;
  // Distinct triplets per offset bin. Hits come in probe order, so a triplet's hits are consecutive
  // (collectHits): a triplet is new to a bin when it differs from the last one the bin saw.
  const last = new Int32Array(bins).fill(-1);
  const distinct = new Int32Array(bins);
  let best = 0;
  for (let i = 0; i < n; i++) {
    const off = (tr[i] as number) - a * (tq[i] as number) - b;
    if (Math.abs(off) < RUNNER_UP_GAP) continue;
    const bin = Math.round(off / width) - lo;
    const t = triplet[i] as number;
    if (last[bin] === t) continue;
    last[bin] = t;
    const d = ++distinct[bin]!;
    if (d > best) best = d;
  }
  return Math.round((best / inliers) * 1000) / 1000;
}

function coverage(
  probes: QueryProbes,
  ref: ReferenceFingerprint,
  onLine: Uint8Array,
  inliers: number,
  a: number,
  b: number,
): Omit<Alignment, "verdict" | "score" | "runnerUp"> | null {
  let lastFrame = 0;
  for (let t = 0; t < probes.triplets; t++)
    lastFrame = Math.max(lastFrame, probes.tripletFrames[t] as number);
  const segs = Math.floor(lastFrame / SEGMENT_FRAMES) + 1;
  const own = new Uint32Array(segs);
  const agree = new Uint32Array(segs);
  for (let t = 0; t < probes.triplets; t++) {
    const s = Math.floor((probes.tripletFrames[t] as number) / SEGMENT_FRAMES);
    own[s]!++;
    if (onLine[t]) agree[s]!++;
  }
  let active = 0;
  let matched = 0;
  let ownInMatched = 0;
  let agreeInMatched = 0;
  let firstMatched = -1;
  // The last, partial segment counts only when it is the only one: near the end of the query triplets lack
  // the targets they have in a longer reference, so a short tail would read as unmatched.
  const full = segs > 1 && (lastFrame + 1) % SEGMENT_FRAMES < SEGMENT_FRAMES / 2 ? segs - 1 : segs;
  let run = 0; // consecutive matched segments (silent ones neither break nor extend a run)
  let longestRun = 0;
  for (let s = 0; s < full; s++) {
    if ((own[s] as number) < SEGMENT_MIN_TRIPLETS) continue;
    active++;
    if ((agree[s] as number) < SEGMENT_MIN_INLIERS) run = 0;
    else {
      longestRun = Math.max(longestRun, ++run);
      matched++;
      ownInMatched += own[s] as number;
      agreeInMatched += agree[s] as number;
      if (firstMatched < 0) firstMatched = s;
    }
  }
  // Chance agreements scatter over the query; shared audio, however short, is consecutive.
  if (matched === 0 || longestRun < Math.min(MIN_MATCHED_SEGMENTS, active)) return null;
  const queryCoverage = active === 0 ? 0 : matched / active;
  const density = ownInMatched === 0 ? 0 : agreeInMatched / ownInMatched;
  // Unrelated recordings still line up a few hashes somewhere, at the background density (2–4 % of the
  // triplets in the segments they touch) and over a few segments; report only what rises above that.
  if (density < NOISE_DENSITY && queryCoverage < NOISE_COVERAGE) return null;
  // First agreeing triplet: where the match starts on each side.
  let firstFrame = Number.POSITIVE_INFINITY;
  for (let t = 0; t < probes.triplets; t++) {
    if (onLine[t] && Math.floor((probes.tripletFrames[t] as number) / SEGMENT_FRAMES) === firstMatched) {
      firstFrame = Math.min(firstFrame, probes.tripletFrames[t] as number);
    }
  }
  const refFrames = Math.max(1, ref.durationS * FRAMES_PER_SECOND);
  const referenceCoverage = Math.min(1, (matched * SEGMENT_FRAMES * a) / refFrames);
  const round = (x: number, d: number) => Math.round(x * 10 ** d) / 10 ** d;
  return {
    speedRatio: round(a, 4),
    offsetFrames: b,
    inliers,
    matchedSegments: matched,
    activeSegments: active,
    queryCoverage: round(queryCoverage, 3),
    referenceCoverage: round(referenceCoverage, 3),
    density: round(density, 3),
    queryOffsetS: round(firstFrame / FRAMES_PER_SECOND, 2),
    referenceOffsetS: round(Math.max(0, a * firstFrame + b) / FRAMES_PER_SECOND, 2),
  };
}
