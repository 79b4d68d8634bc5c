/**
 * The fingerprint index in the database (PGlite or Postgres): store, look up, remove.
 *
 * Lookup is the two phases of index.ts: one statement picks the query's rarest hashes by their counts
 * (`fingerprint_hash_counts`) and counts, per stored fingerprint, how many of those it holds
 * (`fingerprint_hashes`, an index-only scan on (hash, fingerprint_id)); a second loads the best candidates'
 * full hash lists (`fingerprints.hashes`), which are aligned in memory.
 *
 * @module
 */

import { setImmediate as nextTurn } from "node:timers/promises";
import { and, eq, inArray, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.js";
import { rowsOf } from "../db/client.js";
import { fingerprints, uploads } from "../db/schema/index.js";
import type { FingerprintSignal } from "../pipeline/signals.js";
import type { Catalogue } from "../pipeline/stage.js";
import {
  alignCandidates,
  CANDIDATES,
  FINGERPRINT_ALGORITHM,
  type Fingerprint,
  MAX_PHASE1_KEYS,
  type MatchOf,
  MIN_CANDIDATE_HITS,
  matchPhases,
  PHASE1_ROW_BUDGET,
  type QueryPhase,
  queryKeys,
  queryProbes,
  type ReferenceFingerprint,
  type StoredMatchKey,
  topCandidates,
} from "./index.js";

/** Hash list ↔ bytes: little-endian (hash, packed time) pairs. */
export function encodeHashes(fp: { hashes: Uint32Array; times: Uint32Array }): Uint8Array {
  const out = new Uint8Array(fp.hashes.length * 8);
  const view = new DataView(out.buffer);
  for (let i = 0; i < fp.hashes.length; i++) {
    view.setUint32(i * 8, fp.hashes[i] as number, true);
    view.setUint32(i * 8 + 4, fp.times[i] as number, true);
  }
  return out;
}

export function decodeHashes(bytes: Uint8Array): { hashes: Uint32Array; times: Uint32Array } {
  const n = Math.floor(bytes.byteLength / 8);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hashes = new Uint32Array(n);
  const times = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    hashes[i] = view.getUint32(i * 8, true);
    times[i] = view.getUint32(i * 8 + 4, true);
  }
  return { hashes, times };
}

/** A Postgres array literal of integers, sent as one text parameter (the same on both drivers). */
function intArray(values: Iterable<number>): string {
  return `{${[...values].join(",")}}`;
}

/**
 * Stores (or replaces) an upload's fingerprint and its index rows. Safe to repeat: a retried job replaces
 * what an interrupted one wrote.
 */
export async function storeFingerprint(db: Db, upload: StoredMatchKey, fp: Fingerprint): Promise<void> {
  await db.transaction(async (tx) => {
    // A removed upload stays out of the index, even if a stale pipeline run gets here after the takedown.
    const [owner] = await tx
      .select({ status: uploads.status })
      .from(uploads)
      .where(eq(uploads.id, upload.uploadId))
      .for("update");
    if (owner?.status === "removed") return;
    await removeFingerprint(tx, upload.uploadId);
    const [row] = await tx
      .insert(fingerprints)
      .values({
        uploadId: upload.uploadId,
        accountId: upload.accountId,
        algorithm: fp.algorithm,
        durationS: fp.durationS,
        hashCount: fp.hashes.length,
        hashes: encodeHashes(fp),
      })
      .returning({ id: fingerprints.id });
    await insertIndexRows(tx, (row as { id: number }).id, fp.hashes);
  });
}

/** Index rows for one fingerprint (its distinct hashes) and their counts, in batches. */
export async function insertIndexRows(tx: Db | Tx, id: number, hashes: Uint32Array): Promise<void> {
  const distinct = [...new Set(hashes)].sort((a, b) => a - b);
  for (let at = 0; at < distinct.length; at += 20_000) {
    const part = intArray(distinct.slice(at, at + 20_000));
    await tx.execute(
      sql`insert into fingerprint_hashes (hash, fingerprint_id) select unnest(${part}::int4[]), ${id}`,
    );
    // In hash order, so that concurrent writers lock count rows in the same order (no deadlocks).
    await tx.execute(sql`
      insert into fingerprint_hash_counts (hash, uploads)
      select h, 1 from unnest(${part}::int4[]) as h order by h
      on conflict (hash) do update set uploads = fingerprint_hash_counts.uploads + 1`);
  }
}

/**
 * Removes an upload's fingerprint, its index rows (by cascade) and its share of the hash counts. Returns
 * whether there was one.
 */
export async function removeFingerprint(db: Db | Tx, uploadId: string): Promise<boolean> {
  const gone = await db
    .delete(fingerprints)
    .where(eq(fingerprints.uploadId, uploadId))
    .returning({ hashes: fingerprints.hashes });
  for (const row of gone) {
    const distinct = [...new Set(decodeHashes(row.hashes).hashes)].sort((a, b) => a - b);
    for (let at = 0; at < distinct.length; at += 20_000) {
      await db.execute(sql`
        update fingerprint_hash_counts set uploads = uploads - 1
        where hash = any(${intArray(distinct.slice(at, at + 20_000))}::int4[])`);
    }
  }
  return gone.length > 0;
}

export interface LookupOptions {
  /** Leave this upload out (the upload being analysed, on a retry). */
  excludeUploadId?: string;
}

/** Phase 1 and 2 against the database, at both of the query's frame phases (`matchPhases`); best first. */
export async function lookupFingerprint(
  db: Db,
  fp: Fingerprint,
  opts: LookupOptions = {},
): Promise<MatchOf<StoredMatchKey>[]> {
  return matchPhases(
    fp,
    (q, whileWaiting) => lookUpPhase(db, q, opts, whileWaiting),
    (key) => key.uploadId,
  );
}

/**
 * {@link rarestKeys} in SQL, as two CTEs for a statement to use: `known` numbers the query's keys that occur
 * in the index, rarest first (ties by hash value; hash is the table's key, so there are none), with the
 * running sum of their posting rows; `rarest` is the array of those within {@link MAX_PHASE1_KEYS} and
 * {@link PHASE1_ROW_BUDGET} (the rarest one always, however long its list). The running sum only grows, so
 * "every key so far within the budget" is "this key's running sum within it", as in the loop in JS.
 *
 * The keys' array reaches `known` through a scalar subquery, so the planner does not see its values. Given
 * them, it estimates every element's selectivity apart (1.6–2.7 ms of planning for 5,000 keys on every
 * lookup, measured) and, on a small counts table, chose a full scan of it; hidden, the array is probed
 * through the counts' primary key, which is what a catalogue with millions of distinct hashes needs anyway.
 */
function rarestKeysCtes(all: readonly number[]) {
  return sql`known as (
      select hash, row_number() over w as n, sum(uploads) over w as rows
      from fingerprint_hash_counts
      where hash = any((select ${intArray(all)}::int4[])::int4[]) and uploads > 0
      window w as (order by uploads, hash)
    ),
    rarest as (
      select array_agg(hash order by hash) as keys from known
      where n <= ${MAX_PHASE1_KEYS} and (rows <= ${PHASE1_ROW_BUDGET} or n = 1)
    )`;
}

/** The query keys phase 1 looks up, as the lookup's statement chooses them (tests, benchmarks). */
export async function rarestKeysInDatabase(db: Db, all: readonly number[]): Promise<number[]> {
  if (all.length === 0) return [];
  const [row] = rowsOf<{ keys: number[] | null }>(
    await db.execute(sql`with ${rarestKeysCtes(all)} select keys from rarest`),
  );
  return (row?.keys ?? []).map(Number);
}

/**
 * Phase 1 as one statement: the query's keys go to the server, which picks the rarest
 * ({@link rarestKeysCtes}) and counts, per stored fingerprint other than `excludedUploadId`'s, how many of
 * them it holds; only the few candidates (`id`, `hits`) come back, not a count per key. Exported for the
 * lookup bench, which EXPLAINs it.
 */
export function phase1Statement(all: readonly number[], excludedUploadId: string) {
  return sql`
      with ${rarestKeysCtes(all)}
      select h.fingerprint_id as id, count(*)::int as hits
      from fingerprint_hashes h
      where h.hash = any((select keys from rarest)::int4[])
        and h.fingerprint_id not in (select id from fingerprints where upload_id = ${excludedUploadId})
      group by h.fingerprint_id
      having count(*) >= ${MIN_CANDIDATE_HITS}
      order by hits desc
      limit ${CANDIDATES}`;
}

/**
 * Phase 1 ({@link phase1Statement}) and 2 against the database for one frame phase of a query. While the
 * statement is on the server, after the probes, `whileWaiting` is called (one piece of work per call, until
 * it returns false or the answer is in).
 */
async function lookUpPhase(
  db: Db,
  fp: QueryPhase,
  opts: LookupOptions,
  whileWaiting?: () => boolean,
): Promise<MatchOf<StoredMatchKey>[]> {
  const all = queryKeys(fp);
  if (all.length === 0) return [];
  const counting = db.execute(phase1Statement(all, opts.excludeUploadId ?? "")).then((r) => r);
  // Set once the answer (or a failure) is in. The failure itself is handled by the await below; this handler
  // also keeps it from being an unhandled rejection, which would end the process, if it arrives earlier.
  let answered = false;
  counting.then(
    () => {
      answered = true;
    },
    () => {
      answered = true;
    },
  );
  // The probes are needed only if there are candidates, but computing them while the server works costs
  // nothing. The statement must be on the wire first: through drizzle, postgres.js writes it only after a
  // few turns of the event loop (three were enough, measured; one was not). If it is not out yet, the
  // probes are merely not overlapped.
  for (let turn = 0; turn < 3; turn++) await nextTurn();
  const probes = queryProbes(fp.peakList);
  // Each turn of the event loop lets the answer in; a piece of work takes about a millisecond.
  while (!answered && whileWaiting?.()) await nextTurn();
  const counted = rowsOf<{ id: number; hits: number }>(await counting);
  const chosen = topCandidates(new Map(counted.map((c) => [Number(c.id), Number(c.hits)])));
  if (chosen.length === 0) return [];
  const rows = await db
    .select({
      id: fingerprints.id,
      uploadId: fingerprints.uploadId,
      accountId: fingerprints.accountId,
      durationS: fingerprints.durationS,
      hashes: fingerprints.hashes,
    })
    .from(fingerprints)
    .where(
      and(
        inArray(
          fingerprints.id,
          chosen.map((c) => c.key),
        ),
        eq(fingerprints.algorithm, FINGERPRINT_ALGORITHM),
      ),
    );
  const order = new Map(chosen.map((c, i) => [c.key, i]));
  const candidates = rows
    .sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0))
    .map((r) => ({
      key: { uploadId: r.uploadId, accountId: r.accountId },
      ref: { ...decodeHashes(r.hashes), durationS: r.durationS } satisfies ReferenceFingerprint,
    }));
  return alignCandidates(probes, candidates);
}

/** The pipeline's {@link Catalogue} over this database. */
export function databaseCatalogue(db: Db): Catalogue {
  return {
    matchFingerprint: (fp, opts) => lookupFingerprint(db, fp, opts),
    storeFingerprint: (upload, fp) => storeFingerprint(db, upload, fp),
  };
}

/** A match as the fingerprint signal and `earmark match` show it. */
export function signalMatch(m: MatchOf<StoredMatchKey>): FingerprintSignal["matches"][number] {
  return {
    uploadId: m.key.uploadId,
    accountId: m.key.accountId,
    score: m.score,
    queryCoverage: m.queryCoverage,
    referenceCoverage: m.referenceCoverage,
    queryOffsetS: m.queryOffsetS,
    referenceOffsetS: m.referenceOffsetS,
    speedRatio: m.speedRatio,
    verdict: m.verdict,
  };
}
