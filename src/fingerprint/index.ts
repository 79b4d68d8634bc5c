/**
 * Fingerprints: what the rest of Earmark uses. Extraction is in extract.ts, query probes in probes.ts,
 * alignment and verdicts in match.ts, storage in store.ts; this module ties them together.
 *
 * Matching is two-phase, the same in memory and in the database:
 * 1. candidates — of the query's hashes, take the rarest in the index ({@link rarestKeys}); count, per
 *    indexed recording, how many of them it holds; keep the few well above the rest;
 * 2. alignment — compute the query's probes, load each candidate's full fingerprint and align (match.ts).
 *
 * @module
 */

import { decodeAudio, type PcmChunk } from "../audio/decode/index.js";
import { openAudioFile } from "../audio/open.js";
import type { Catalogue } from "../pipeline/stage.js";
import { type Fingerprint, FingerprintExtractor, type QueryPhase } from "./extract.js";
import { type Alignment, align, isDense, type ReferenceFingerprint, ReferenceTable } from "./match.js";
import { type QueryProbes, queryProbes } from "./probes.js";

export { FINGERPRINT_ALGORITHM, type Fingerprint, type QueryPhase } from "./extract.js";
export type { Alignment, ReferenceFingerprint } from "./match.js";
export { type QueryProbes, queryProbes } from "./probes.js";

/** What a stored fingerprint is known by: its upload and that upload's account. */
export interface StoredMatchKey {
  uploadId: string;
  accountId: string;
}

/** Candidates aligned per query (phase 2), at most. */
export const CANDIDATES = 8;
/** A candidate needs at least this many phase-1 keys… */
export const MIN_CANDIDATE_HITS = 6;
/** …and at least this share of the best candidate's (alignment is the expensive part). */
export const MIN_CANDIDATE_SHARE = 0.2;

export async function fingerprintChunks(chunks: AsyncIterable<PcmChunk>): Promise<Fingerprint> {
  let extractor: FingerprintExtractor | null = null;
  for await (const chunk of chunks) {
    extractor ??= new FingerprintExtractor(chunk.sampleRate);
    extractor.push(chunk.channels);
  }
  if (!extractor) throw new Error("fingerprint: the audio has no samples");
  return extractor.finish();
}

/** Decodes an audio file with Earmark's own decoders and fingerprints it. */
export async function fingerprintFile(
  path: string,
  limits = { maxDurationS: 4 * 3600 },
): Promise<Fingerprint> {
  const { source, probe } = await openAudioFile(path, limits);
  return fingerprintChunks(decodeAudio(source, probe, limits));
}

/** Distinct hashes of a query whose index counts are read (a 3-minute track has about 9,000). */
export const MAX_QUERY_KEYS = 8000;
/** Phase 1 looks up at most this many keys, the rarest in the index first… */
export const MAX_PHASE1_KEYS = 600;
/**
 * …and stops adding keys once their posting lists hold this many rows in all. It bounds the work of a query
 * whose keys are all common. It never binds on the evaluation corpus: indexed whole (249 files), no file's
 * or variant's 600 rarest keys hold more than 7,046 rows. On the lookup bench's synthetic 10,000-track index
 * it binds for non-members (median 27,000 rows at 50,000), where 20,000 instead of 50,000 took the
 * statement's p95 from 34 to 23 ms (ADR 0007).
 */
export const PHASE1_ROW_BUDGET = 20_000;

/**
 * The query's own cells (its stored-form hashes, no probes), distinct, evenly thinned over time to
 * {@link MAX_QUERY_KEYS}, sorted.
 */
export function queryKeys(fp: Pick<Fingerprint, "hashes">): number[] {
  const distinct = [...new Set(fp.hashes)];
  if (distinct.length <= MAX_QUERY_KEYS) return distinct.sort((a, b) => a - b);
  const step = distinct.length / MAX_QUERY_KEYS;
  const kept: number[] = [];
  for (let i = 0; i < MAX_QUERY_KEYS; i++) kept.push(distinct[Math.floor(i * step)] as number);
  return kept.sort((a, b) => a - b);
}

/**
 * Phase 1's keys: of the query's keys that occur in the index at all, the rarest first, within
 * {@link MAX_PHASE1_KEYS} and {@link PHASE1_ROW_BUDGET}. A rare key says more about which recording this is
 * and costs fewer index rows, so lookup time stays flat as the index grows; common keys (short intervals,
 * frequent rhythms) are what every recording shares.
 */
export function rarestKeys(keys: readonly number[], uploadsWith: (key: number) => number): number[] {
  const known = keys
    .map((k) => ({ k, n: uploadsWith(k) }))
    .filter((x) => x.n > 0)
    .sort((a, b) => a.n - b.n || a.k - b.k);
  const out: number[] = [];
  let rows = 0;
  for (const { k, n } of known) {
    if (out.length >= MAX_PHASE1_KEYS || (rows + n > PHASE1_ROW_BUDGET && out.length > 0)) break;
    out.push(k);
    rows += n;
  }
  return out.sort((a, b) => a - b);
}

export interface Candidate<K> {
  key: K;
  hits: number;
}

/** Ranks candidate counts (key → phase-1 keys held) best first, keeping those worth aligning. */
export function topCandidates<K>(counts: Map<K, number>, limit = CANDIDATES): Candidate<K>[] {
  const ranked = [...counts].filter(([, hits]) => hits >= MIN_CANDIDATE_HITS).sort((a, b) => b[1] - a[1]);
  const floor = (ranked[0]?.[1] ?? 0) * MIN_CANDIDATE_SHARE;
  return ranked
    .filter(([, hits]) => hits >= floor)
    .slice(0, limit)
    .map(([key, hits]) => ({ key, hits }));
}

export interface MatchOf<K> extends Alignment {
  key: K;
}

/** Phase 2: aligns the query with each candidate, best first (same recordings first, then by score). */
export function alignCandidates<K>(
  probes: QueryProbes,
  candidates: readonly { key: K; ref: ReferenceFingerprint }[],
): MatchOf<K>[] {
  const out: MatchOf<K>[] = [];
  for (const c of candidates) {
    const a = align(probes, new ReferenceTable(c.ref));
    if (a) out.push({ ...a, key: c.key });
  }
  return out.sort(bestFirst);
}

/** Same recordings first, then by score, then by agreeing triplets. */
function bestFirst(x: Alignment, y: Alignment): number {
  return (
    Number(y.verdict === "same-recording") - Number(x.verdict === "same-recording") ||
    y.score - x.score ||
    y.inliers - x.inliers
  );
}

/**
 * Looks a query up at its own frame phase and, when that finds no same recording but a second phase could
 * (`secondPhase`), again at the half-hop phase ({@link Fingerprint.halfHopPhase}), where only the DENSE rule
 * makes a same recording (see `secondChance`); per indexed recording (`idOf`) the better alignment, best
 * first.
 *
 * Spectral peaks depend on where the 32 ms frames fall. A query cut from a recording at a whole number of
 * hops has the reference's frames; cut half a hop off, it has frames halfway between them, and on
 * noise-like audio (rain, cymbals, distortion) most peaks then move or vanish. One of the two phases lies
 * within a quarter hop of the reference's, so the index keeps one phase and the query tries two. The second
 * phase costs one more extraction from the kept 4 kHz signal (Meyda's spectra, peaks, hashes) and one more
 * lookup, only for queries the first phase does not settle and a second could (`secondPhase`).
 *
 * @example
 * const matches = await matchPhases(fp, (q) => lookUpInDatabase(q), (key) => key.uploadId);
 */
export async function matchPhases<K>(
  fp: Fingerprint,
  lookUp: (query: QueryPhase, whileWaiting?: () => boolean) => Promise<MatchOf<K>[]>,
  idOf: (key: K) => unknown,
): Promise<MatchOf<K>[]> {
  // The first lookup may spend its wait for the server on the phase stability, which `secondPhase` asks for
  // whenever the first phase finds no same recording and no near miss: most new audio. A re-upload found at
  // the first phase leaves it unfinished, having used a core that was waiting anyway.
  const stabilityStep = fp.stabilityStep;
  const first = await lookUp(fp, stabilityStep && (() => stabilityStep(STABLE_PHASE)));
  const second = secondPhase(fp, first);
  return second ? mergePhases(first, await lookUp(second), idOf) : first;
}

/**
 * The second phase is a second chance, so it must not turn a borderline alignment into a match: only the
 * {@link isDense} rule makes it a same recording. A query missed for its frame phase is dense at the other
 * (densities 0.37–0.99 on the evaluation corpus); a soundfont re-rendering reached the looser BROAD rule at
 * its second phase (coverage 0.76, density 0.046), which is no match. ADR 0007 has the figures.
 */
function secondChance<K>(m: MatchOf<K>): MatchOf<K> {
  if (m.verdict !== "same-recording" || isDense(m)) return m;
  return { ...m, verdict: "shared-material", score: Math.round(m.score * 500) / 1000 };
}

/**
 * A near miss: the first phase aligned the query with an indexed recording over at least this share of its
 * active segments. A query missed for its frame phase still lines up with its recording over much of its
 * length at the wrong phase (coverage 0.43–0.89 for the eight such misses on the evaluation corpus).
 */
export const NEAR_MISS_COVERAGE = 0.3;
/**
 * Below this {@link Fingerprint.phaseStability} a copy cut between the reference's frames may share too few
 * hashes with it to show even as a near miss, so the second phase is always tried. White-noise rain measures
 * 0.007, and its half-hop cut aligns with nothing at the first phase; the evaluation corpus's thunderstorm
 * measures 0.042 and its cut still showed as a near miss (coverage 0.62). 3 of the corpus's 249 files lie
 * below 0.05 (median 0.17).
 */
export const STABLE_PHASE = 0.05;

/**
 * The half-hop phase of a query whose first lookup found no same recording, when a second phase could
 * change that: after a near miss ({@link NEAR_MISS_COVERAGE}), or for a query whose hashes depend on its
 * frame phase ({@link STABLE_PHASE}). Null otherwise: audio the index does not hold, whose hashes survive a
 * phase change, aligns with nothing at either phase, and most new uploads are that.
 */
function secondPhase(fp: Fingerprint, first: readonly Alignment[]): QueryPhase | null {
  if (!fp.halfHopPhase || first.some((m) => m.verdict === "same-recording")) return null;
  const nearMiss = first.some((m) => m.queryCoverage >= NEAR_MISS_COVERAGE);
  if (!nearMiss && (fp.phaseStability?.(STABLE_PHASE) ?? 0) >= STABLE_PHASE) return null;
  return fp.halfHopPhase();
}

/** Per indexed recording the better of its two phases' alignments, best first. */
function mergePhases<K>(
  first: readonly MatchOf<K>[],
  second: readonly MatchOf<K>[],
  idOf: (key: K) => unknown,
): MatchOf<K>[] {
  const best = new Map<unknown, MatchOf<K>>();
  for (const m of [...first, ...second.map(secondChance)]) {
    const id = idOf(m.key);
    const had = best.get(id);
    if (!had || bestFirst(m, had) < 0) best.set(id, m);
  }
  return [...best.values()].sort(bestFirst);
}

/**
 * An index held in memory: the evaluation harness and tests use it; the service uses the database index
 * in store.ts, which follows the same two phases.
 */
export class MemoryIndex<K> {
  private readonly postings = new Map<number, number[]>();
  private readonly entries: { key: K; ref: ReferenceFingerprint }[] = [];
  private postingRows = 0;

  add(key: K, fp: ReferenceFingerprint): void {
    const id = this.entries.length;
    this.entries.push({ key, ref: { hashes: fp.hashes, times: fp.times, durationS: fp.durationS } });
    const distinct = new Set(fp.hashes);
    this.postingRows += distinct.size;
    for (const h of distinct) {
      const list = this.postings.get(h);
      if (list) list.push(id);
      else this.postings.set(h, [id]);
    }
  }

  get size(): number {
    return this.entries.length;
  }

  /** Distinct hash values held (the rows `fingerprint_hash_counts` would have). */
  get hashValues(): number {
    return this.postings.size;
  }

  /** Each recording's distinct hashes, summed (the rows `fingerprint_hashes` would have). */
  get rows(): number {
    return this.postingRows;
  }

  /** How many indexed recordings hold `hash`: the count phase 1 chooses its keys by. */
  uploadsWith(hash: number): number {
    return this.postings.get(hash)?.length ?? 0;
  }

  /**
   * Phase 1 for one frame phase of a query: its keys ({@link rarestKeys}) and, per indexed recording holding
   * any of them (by the order `add` saw them, from 0), how many it holds.
   */
  phase1(query: Pick<QueryPhase, "hashes">): { keys: number[]; hits: Map<number, number> } {
    const keys = rarestKeys(queryKeys(query), (k) => this.uploadsWith(k));
    const hits = new Map<number, number>();
    for (const h of keys) {
      for (const id of this.postings.get(h) ?? []) hits.set(id, (hits.get(id) ?? 0) + 1);
    }
    return { keys, hits };
  }

  /** Both frame phases, as {@link matchPhases}; matches best first. */
  match(query: Fingerprint): MatchOf<K>[] {
    const first = this.lookUp(query);
    const second = secondPhase(query, first);
    return second ? mergePhases(first, this.lookUp(second), (key) => key) : first;
  }

  /** Phase 1 and 2 for one frame phase of a query. */
  lookUp(query: QueryPhase): MatchOf<K>[] {
    const candidates = topCandidates(this.phase1(query).hits).map(
      (c) => this.entries[c.key] as { key: K; ref: ReferenceFingerprint },
    );
    if (candidates.length === 0) return [];
    return alignCandidates(queryProbes(query.peakList), candidates);
  }
}

/** A catalogue held in memory (benchmarks, tests): the same two phases as the database one. */
export function memoryCatalogue(): Catalogue {
  const index = new MemoryIndex<StoredMatchKey>();
  return {
    async matchFingerprint(fp, opts) {
      return index.match(fp).filter((m) => m.key.uploadId !== opts.excludeUploadId);
    },
    async storeFingerprint(upload, fp) {
      index.add(upload, fp);
    },
  };
}
