/**
 * Chromaprint (`fpcalc`) as the reference column of the fingerprint evaluation.
 *
 * Extraction: `fpcalc -raw -length 0 FILE`. With fpcalc 1.5.1 (Debian bookworm) `-length` defaults to
 * 120 s, and 0 means "no limit": a 150 s file gives ~1190 sub-fingerprints (about 7.9 per second),
 * the default gives 948. That build also prints "ERROR: Error decoding audio frame (End of file)"
 * at the end of every WAV and exits with status 3 while still printing a complete FINGERPRINT= line,
 * so the exit status is ignored whenever a fingerprint was printed.
 *
 * Scoring follows what the AcoustID server does, as read in two public sources (facts only, not
 * copied): `acoustid_compare.c` in github.com/acoustid/pg_acoustid (function match_fingerprints2,
 * exposed to SQL as acoustid_compare2) and `acoustid/data/fingerprint.py` + `acoustid/const.py` in
 * github.com/acoustid/acoustid-server. What we implement:
 *
 * 1. Offset candidates: every sub-fingerprint is reduced to its top 14 bits (AcoustID: MATCH_BITS 14).
 *    Each pair of positions (i in reference, j in query) with equal 14-bit keys votes for offset i - j.
 *    AcoustID keeps only the last position of each key per fingerprint; we let every occurrence vote
 *    (served from an inverted index over all references) and then try the best TOP_OFFSETS offsets
 *    instead of only the best one. AcoustID limits the offset to +/-80 items (TRACK_MAX_OFFSET = 80)
 *    and only compares fingerprints whose lengths differ by at most 7 s, because it matches whole
 *    tracks; we allow any offset with at least MIN_OVERLAP aligned items, since trimmed and excerpted
 *    queries are part of this evaluation.
 * 2. Rejection: if the vote count of the chosen offset is below 2 % of the larger number of distinct
 *    top-14-bit keys in the two aligned parts, the score is 0 (same rule as match_fingerprints2).
 * 3. Score at an offset: over the aligned overlap of n items, BER = (sum of popcount(a XOR b)) / (32 n),
 *    and score = (n / min(len a, len b)) * (1 - 2 * BER), floored at 0. Identical audio gives 1,
 *    unrelated audio (BER about 0.5) gives about 0. AcoustID compares the overlap in 64-bit pairs and
 *    rounds sizes down to even counts; we work on 32-bit items directly.
 * 4. Low-diversity penalty (match_fingerprints2): diversity = min over both fingerprints of
 *    min(1, (distinct keys + 10) / length + 0.5); if diversity < 1 the score becomes
 *    score ^ (8 - 7 * diversity). This punishes near-constant fingerprints (silence, drones).
 * 5. Threshold: a reference is reported as a match when score > 0.4, the minimum score the AcoustID
 *    FingerprintSearcher applies to acoustid_compare2 results (TRACK_GROUP_MERGE_THRESHOLD = 0.4).
 *
 * fpcalc has no notion of partial or shared material, so this column only ever answers
 * "same-recording".
 */
import { stat } from "node:fs/promises";
import type { Fingerprinter, QueryMatch, ReferenceInput } from "./eval.js";
import { probeDuration, requireTools, run } from "./transforms.js";

export const ACOUSTID_THRESHOLD = 0.4;
const KEY_BITS = 14;
const KEY_SHIFT = 32 - KEY_BITS;
/** Minimum aligned items (about 5 s of audio) for an offset to be considered. */
const MIN_OVERLAP = 40;
const TOP_OFFSETS = 3;

export async function fpcalcRaw(file: string): Promise<Uint32Array> {
  const r = await run("fpcalc", ["-raw", "-length", "0", file]);
  const line = r.stdout.split("\n").find((l) => l.startsWith("FINGERPRINT="));
  if (!line) {
    throw new Error(`fpcalc printed no fingerprint for ${file} (exit ${r.code}): ${r.stderr.trim()}`);
  }
  const body = line.slice("FINGERPRINT=".length).trim();
  if (body === "") return new Uint32Array(0);
  const parts = body.split(",");
  const fp = new Uint32Array(parts.length);
  for (let i = 0; i < parts.length; i++) fp[i] = Number(parts[i]) >>> 0;
  return fp;
}

function popcount32(x: number): number {
  let v = x >>> 0;
  v -= (v >>> 1) & 0x55555555;
  v = (v & 0x33333333) + ((v >>> 2) & 0x33333333);
  return (Math.imul((v + (v >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function distinctKeys(fp: Uint32Array, start: number, end: number, seen: Uint8Array): number {
  seen.fill(0);
  let n = 0;
  for (let i = start; i < end; i++) {
    const k = (fp[i] as number) >>> KEY_SHIFT;
    if (seen[k] === 0) {
      seen[k] = 1;
      n++;
    }
  }
  return n;
}

const seenScratch = new Uint8Array(1 << KEY_BITS);

/**
 * AcoustID-style score of reference `a` against query `b` when b[j] is aligned with a[j + offset].
 * `votes` is the number of equal-key pairs that voted for this offset.
 */
export function scoreAtOffset(a: Uint32Array, b: Uint32Array, offset: number, votes: number): number {
  const aStart = Math.max(0, offset);
  const bStart = Math.max(0, -offset);
  const n = Math.min(a.length - aStart, b.length - bStart);
  const minSize = Math.min(a.length, b.length);
  if (n < MIN_OVERLAP || minSize === 0) return 0;
  const aUniq = distinctKeys(a, aStart, aStart + n, seenScratch);
  const bUniq = distinctKeys(b, bStart, bStart + n, seenScratch);
  if (votes < Math.max(aUniq, bUniq) * 0.02) return 0;
  let errors = 0;
  for (let k = 0; k < n; k++) errors += popcount32((a[aStart + k] as number) ^ (b[bStart + k] as number));
  const ber = errors / (32 * n);
  let score = (n / minSize) * (1 - 2 * ber);
  if (score < 0) score = 0;
  const diversity = Math.min(Math.min(1, (aUniq + 10) / n + 0.5), Math.min(1, (bUniq + 10) / n + 0.5));
  if (diversity < 1) score = score ** (8 - 7 * diversity);
  return score;
}

/** Best score of `b` against `a` over the TOP_OFFSETS most-voted offsets (standalone, no index). */
export function compareFingerprints(a: Uint32Array, b: Uint32Array): { score: number; offset: number } {
  const positions = new Map<number, number[]>();
  for (let i = 0; i < a.length; i++) {
    const k = (a[i] as number) >>> KEY_SHIFT;
    const list = positions.get(k);
    if (list) list.push(i);
    else positions.set(k, [i]);
  }
  const votes = new Map<number, number>();
  for (let j = 0; j < b.length; j++) {
    const list = positions.get((b[j] as number) >>> KEY_SHIFT);
    if (!list) continue;
    for (const i of list) votes.set(i - j, (votes.get(i - j) ?? 0) + 1);
  }
  return bestOfVotes(a, b, votes);
}

function bestOfVotes(
  a: Uint32Array,
  b: Uint32Array,
  votes: Map<number, number>,
): { score: number; offset: number } {
  const candidates = [...votes.entries()]
    .filter(([off]) => Math.min(a.length - Math.max(0, off), b.length - Math.max(0, -off)) >= MIN_OVERLAP)
    .sort((x, y) => y[1] - x[1])
    .slice(0, TOP_OFFSETS);
  let best = { score: 0, offset: 0 };
  for (const [off, count] of candidates) {
    const s = scoreAtOffset(a, b, off, count);
    if (s > best.score) best = { score: s, offset: off };
  }
  return best;
}

/** Reference implementation of the harness interface on top of fpcalc + AcoustID-style scoring. */
export class FpcalcFingerprinter implements Fingerprinter {
  readonly name = "fpcalc";
  private refs: { id: string; fp: Uint32Array }[] = [];
  /** key (top 14 bits) -> flat list of (reference index, position) pairs. */
  private postings = new Map<number, number[]>();
  private timings: { audioSeconds: number; wallSeconds: number }[] = [];

  constructor() {
    requireTools(["fpcalc", "ffprobe"]);
  }

  private async extract(file: string): Promise<Uint32Array> {
    const t0 = performance.now();
    const fp = await fpcalcRaw(file);
    const wall = (performance.now() - t0) / 1000;
    const info = await stat(file);
    // Duration is only needed for the speed figure; ffprobe is not part of the timed region.
    const audioSeconds = info.size > 0 ? await probeDuration(file) : 0;
    this.timings.push({ audioSeconds, wallSeconds: wall });
    return fp;
  }

  async index(refs: ReferenceInput[]): Promise<void> {
    for (const ref of refs) {
      const fp = await this.extract(ref.file);
      const r = this.refs.length;
      this.refs.push({ id: ref.id, fp });
      for (let i = 0; i < fp.length; i++) {
        const k = (fp[i] as number) >>> KEY_SHIFT;
        const list = this.postings.get(k);
        if (list) list.push(r, i);
        else this.postings.set(k, [r, i]);
      }
    }
  }

  async query(file: string): Promise<QueryMatch[]> {
    const q = await this.extract(file);
    const votes = new Map<number, Map<number, number>>();
    for (let j = 0; j < q.length; j++) {
      const list = this.postings.get((q[j] as number) >>> KEY_SHIFT);
      if (!list) continue;
      for (let p = 0; p < list.length; p += 2) {
        const r = list[p] as number;
        const off = (list[p + 1] as number) - j;
        let m = votes.get(r);
        if (!m) {
          m = new Map();
          votes.set(r, m);
        }
        m.set(off, (m.get(off) ?? 0) + 1);
      }
    }
    const out: QueryMatch[] = [];
    for (const [r, m] of votes) {
      const ref = this.refs[r];
      if (!ref) continue;
      const { score } = bestOfVotes(ref.fp, q, m);
      if (score > ACOUSTID_THRESHOLD) out.push({ id: ref.id, verdict: "same-recording", score });
    }
    out.sort((x, y) => y.score - x.score);
    return out;
  }

  /** Raw sub-fingerprints are 4 bytes each; no compression is applied. */
  indexBytes(): number {
    return this.refs.reduce((sum, r) => sum + r.fp.length * 4, 0);
  }

  extractionTimings(): { audioSeconds: number; wallSeconds: number }[] {
    return this.timings;
  }
}
