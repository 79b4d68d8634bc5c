/**
 * Fingerprint lookup benchmark on Postgres: how `lookupFingerprint` (src/fingerprint/store.ts) grows with
 * the size of the index.
 *
 *   npx tsx bench/fingerprint/lookup.ts [--max-tracks 100000] [--sizes 1000,10000,100000] [--passes 1] [--keep]
 *
 * The lookup measured (store.ts, index.ts): `queryKeys` (the query's distinct stored-form hashes, ≤ 8,000)
 * → one SQL statement reads their counts from `fingerprint_hash_counts`, keeps ≤ 600 of the rarest within
 * a budget of 50,000 posting rows (`rarestKeys`, on the server) and counts, per fingerprint, its hits on them
 * (`fingerprint_hashes`, index-only scan on (hash, fingerprint_id)) → `topCandidates` → phase 2 loads the
 * chosen candidates' `fingerprints.hashes` and aligns them with the query's probes.
 *
 * What it does:
 * 1. Fingerprints real music from the evaluation corpus (bench/fingerprint/corpus.ts, default
 *    /tmp/earmark-fp-corpus) with `fingerprintFile`, split by the corpus manifest's roles into three
 *    disjoint sets: *members* (references with an `mp3-64k` variant; their original is indexed, the
 *    variant is the query), *non-members* (role "non-member"; queried, never indexed, never used as
 *    material) and *donors* (further references, used only as material for synthetic tracks).
 * 2. Drops and recreates the scratch database `earmark_fp_bench`, runs the checked-in migrations, then
 *    adapts the scratch copy for bulk loading: the FK fingerprints.upload_id → uploads is dropped (the
 *    bench has no uploads rows), the three tables are made UNLOGGED (no WAL while loading; reads are the
 *    same), and before each load the FK fingerprint_hashes → fingerprints and both fingerprint_hashes
 *    indexes are dropped; after the load the indexes are created again with the migration's definitions,
 *    the FK is added back NOT VALID, and the three tables get VACUUM ANALYZE (visibility map for
 *    index-only scans, planner statistics).
 *    `fingerprint_hash_counts` is filled as `insertIndexRows` would leave it: while the index rows are
 *    written, the bench counts, per hash value, the tracks whose distinct hashes hold it (in memory; hash
 *    values are < 2^23); after each load it truncates the table and COPYs every non-zero count (timed,
 *    part of the load). Consistency is checked: in full (a GROUP BY over all index rows) at the first
 *    step, and at every step for all query keys of the EXPLAINed queries; the index-only scan of each
 *    phase-1 EXPLAIN must also return exactly the sum of the chosen keys' counts.
 * 3. Grows the index in steps (1,000 → 10,000 → 100,000 tracks by default). The members' real
 *    fingerprints are rows 1..M; every other track is synthetic, loaded with binary COPY:
 *    each synthetic track is ≈4 minutes (uniform 210–294 s, mean 252 s, so ≈70 h per 1,000 tracks) made by
 *    concatenating randomly chosen ≈2 s windows (62 frames by anchor time) of the hash triplets of 4
 *    randomly chosen donor fingerprints, with anchor times re-based so that they stay monotonic. Each track's
 *    hash multiset is therefore a realistic mix of real hash values (the value distribution of real music,
 *    which is far from uniform), no two tracks are identical, and no query's own material is in them. Its
 *    index rows are its distinct hashes, as `insertIndexRows` writes them; its `hashes` bytea is
 *    `encodeHashes` of the whole track. Caveats: windows are drawn with replacement from ≈8 min of donor
 *    material per track, so a collage repeats windows: ≈36 distinct hashes (index rows) per second of audio,
 *    against ≈43 measured on 17 real corpus files of ≤2 min (a real 4-minute song repeats itself too, so
 *    the gap is smaller than that) — a real index may have up to ≈20 % more rows per hour. And because the
 *    donor pool is small (40 files by default), the synthetic tracks hold only the donors' few hundred
 *    thousand distinct hash values, each recurring in a few per cent of all synthetic tracks: the count
 *    table is far smaller than a real catalogue's (up to 2^23 values), a member's own hashes that the
 *    donors lack have count 1 (so members' rarest keys are mostly their own, which makes finding them
 *    easy), and a query's keys that the donors hold all have long posting lists (so phase 1 tends to hit
 *    the row budget: an upper bound on its work rather than a typical case).
 *    `--mixes N` adds N donors made by mixing two donor files (`donorMixes`): their triplets take hash values
 *    neither file has alone, which widens the vocabulary. bench/fingerprint/vocabulary.ts compares both kinds
 *    of synthetic index with the corpus references indexed as they are, at the corpus's size.
 * 4. At each size: warms up with a few donor queries, then times `lookupFingerprint(db, fp)` for every
 *    member query (the member's mp3-64k variant; its original is indexed) and every non-member query,
 *    once each, sequentially. `db.execute` is wrapped, and phase 1's statement (which reads the counts of
 *    the query's keys, picks the rarest and counts the candidates' hits, all on the server) is timed
 *    (round trip) inside the call; it includes queryProbes and the steps of the phase stability, which
 *    lookupFingerprint computes while the statement is in flight; "rest" is the remainder (queryKeys, phase
 *    2: loading the candidates' hash lists, decoding, aligning; and, for a query the first phase does not
 *    settle, what is left of the phase stability). Each timed call gets a freshly extracted fingerprint
 *    (extracted untimed just before), because a fingerprint keeps its phase stability and half-hop phase once
 *    computed. A query looked up at both frame phases (`matchPhases`) runs the statements twice: the columns
 *    sum the two, "rest" then also includes the half-hop phase's extraction, and "both phases" counts such
 *    queries. queryKeys + rarestKeys and queryProbes are also timed on their own, outside the call, and the
 *    keys' counts are read again outside it to report phase 1's keys and posting rows per query. It also
 *    prints EXPLAIN (ANALYZE, BUFFERS) of the phase-1 statement (its counts scan and its index scan
 *    summarised apart) for one member and one non-member query (also with jit = off), and the table/index
 *    sizes. With --passes N the two query sets are run N times in a row (later passes find more pages
 *    cached), and the load average / CPU pressure at the start and end of the measurement are printed
 *    (shared machine).
 * 5. Before each step beyond the first, estimates the step's disk use and time from the previous step;
 *    a step that would leave less than --min-free-gb free on the database's file system or would not
 *    finish within --budget-min (whole run) is shrunk to what fits (if that is still ≥ 1.5× the current
 *    size) or skipped. Skipped and shrunk steps are printed with the reason.
 *
 * Progress goes to stderr; results to stdout as tables, and a last line `LOOKUP_JSON {...}`.
 * Percentiles are nearest-rank. The scratch database is dropped at the end unless --keep.
 */
import { once } from "node:events";
import { existsSync, readFileSync } from "node:fs";
import { readdir, readFile, statfs } from "node:fs/promises";
import { loadavg } from "node:os";
import { basename, join } from "node:path";
import type { Writable } from "node:stream";
import { finished } from "node:stream/promises";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type { SQL, SQLWrapper } from "drizzle-orm";
import { PgDialect } from "drizzle-orm/pg-core";
import postgres from "postgres";
import { type Database, type Db, openDatabase, rowsOf } from "../../src/db/client.js";
import { anchorFrame, FRAMES_PER_SECOND, packTime, spanFrames } from "../../src/fingerprint/extract.js";
import {
  CANDIDATES,
  FINGERPRINT_ALGORITHM,
  type Fingerprint,
  fingerprintChunks,
  fingerprintFile,
  MAX_PHASE1_KEYS,
  MAX_QUERY_KEYS,
  MIN_CANDIDATE_HITS,
  PHASE1_ROW_BUDGET,
  queryKeys,
  queryProbes,
  rarestKeys,
  topCandidates,
} from "../../src/fingerprint/index.js";
import { encodeHashes, lookupFingerprint, phase1Statement } from "../../src/fingerprint/store.js";
import { mixToMono } from "../../src/watermark/pattern.js";
// mulberry32, the tests' seeded generator: a rerun builds the same index.
import { decodeFile, rng } from "../../test/harness/audio.js";
import type { Manifest } from "./corpus.js";

const DB_NAME = "earmark_fp_bench";
/** Synthetic material is cut into windows of this many frames by anchor time (62 × 32 ms ≈ 1.98 s). */
const WINDOW_FRAMES = 62;
const DONORS_PER_TRACK = 4;
const TRACK_MIN_S = 210;
const TRACK_MAX_S = 294;
const WARMUP_QUERIES = 5;
/** A donor mix (--mixes) is this many seconds of two donor files played together, from their starts. */
const MIX_S = 90;
/** Time kept back at the end of the budget (dropping the database, printing). */
const RESERVE_S = 90;
/** Estimates of a step's time from the previous one are multiplied by this (the machine is shared). */
const TIME_SAFETY = 1.3;
/** Plan lines are cut here (the key list of the index condition is thousands of characters). */
const PLAN_LINE_MAX = 180;
const cut = (l: string) => (l.length > PLAN_LINE_MAX ? `${l.slice(0, PLAN_LINE_MAX)}…` : l);

class CliError extends Error {}

const started = performance.now();
const elapsedS = () => (performance.now() - started) / 1000;
function log(msg: string): void {
  process.stderr.write(`[lookup +${elapsedS().toFixed(0)}s] ${msg}\n`);
}

function shuffled<T>(xs: readonly T[], rand: () => number): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** Nearest-rank percentile. */
export function pct(xs: readonly number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))] as number;
}

const MB = 1024 * 1024;
const GB = 1024 * MB;
function fmtBytes(b: number): string {
  if (b >= GB) return `${(b / GB).toFixed(2)} GiB`;
  if (b >= MB) return `${(b / MB).toFixed(1)} MiB`;
  return `${(b / 1024).toFixed(0)} KiB`;
}

function table(header: string[], rows: string[][]): string {
  const ws = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) => `| ${ws.map((w, i) => (r[i] ?? "").padStart(w)).join(" | ")} |`;
  const sep = `|${ws.map((w) => `${"-".repeat(w + 1)}:`).join("|")}|`;
  return [line(header), sep, ...rows.map(line)].join("\n");
}

// ---------------------------------------------------------------------------------------------------------
// Real material

interface RealFile {
  id: string;
  file: string;
}

interface Sources {
  members: { id: string; indexed: string; query: string; queryIsVariant: boolean }[];
  nonMembers: RealFile[];
  donors: RealFile[];
  note: string;
}

async function wavFiles(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).filter((f) => f.endsWith(".wav")).sort();
  } catch {
    return [];
  }
}

async function readRoles(corpus: string): Promise<Map<string, string> | null> {
  const candidates = [
    join(corpus, "manifest.json"),
    fileURLToPath(new URL("../../docs/bench/fingerprint-corpus-manifest.json", import.meta.url)),
  ];
  for (const p of candidates) {
    if (!existsSync(p)) continue;
    const m = JSON.parse(await readFile(p, "utf8")) as Manifest;
    log(`roles from ${p}`);
    return new Map(m.entries.map((e) => [e.id, e.role]));
  }
  return null;
}

async function chooseSources(
  corpus: string,
  nQueries: number,
  nDonors: number,
  waitMin: number,
  rand: () => number,
): Promise<Sources> {
  const audioDir = join(corpus, "audio");
  let files = await wavFiles(audioDir);
  const waitUntil = performance.now() + waitMin * 60_000;
  while (files.length < 20 && performance.now() < waitUntil) {
    log(`${audioDir} has ${files.length} WAV files (< 20); waiting for the corpus build`);
    await new Promise((r) => setTimeout(r, 15_000));
    files = await wavFiles(audioDir);
  }
  if (files.length < 20) {
    const fallback = ["/tmp/fp3min.wav", "/tmp/other.wav"].filter((f) => existsSync(f));
    if (fallback.length < 2)
      throw new CliError(`no corpus in ${audioDir} and no /tmp/fp3min.wav + /tmp/other.wav`);
    log("WARNING: falling back to /tmp/fp3min.wav and /tmp/other.wav; results are much less representative");
    return {
      members: [{ id: "fp3min", indexed: fallback[0]!, query: fallback[0]!, queryIsVariant: false }],
      nonMembers: [{ id: "other", file: fallback[1]! }],
      donors: fallback.map((f) => ({ id: basename(f, ".wav"), file: f })),
      note: "fallback: 2 files only; the non-member is also donor material (its queries share material with synthetic tracks)",
    };
  }
  const roles = await readRoles(corpus);
  const ids = files.map((f) => basename(f, ".wav"));
  const roleOf = (id: string) => roles?.get(id) ?? "unknown";
  let refs = ids.filter((id) => roleOf(id) === "reference");
  let nonMemberIds = ids.filter((id) => roleOf(id) === "non-member");
  if (!roles) {
    // No manifest: split the files themselves (fixed order from the seed).
    const all = shuffled(ids, rand);
    nonMemberIds = all.slice(0, nQueries);
    refs = all.slice(nQueries);
  }
  refs = shuffled(refs, rand);
  const variantDir = join(corpus, "variants", "mp3-64k");
  const withVariant = refs.filter((id) => existsSync(join(variantDir, `${id}.wav`)));
  const without = refs.filter((id) => !existsSync(join(variantDir, `${id}.wav`)));
  const memberIds = [...withVariant, ...without].slice(0, nQueries);
  const memberSet = new Set(memberIds);
  const donorIds = refs.filter((id) => !memberSet.has(id)).slice(0, nDonors);
  const members = memberIds.map((id) => {
    const v = join(variantDir, `${id}.wav`);
    const hasVariant = existsSync(v);
    return {
      id,
      indexed: join(audioDir, `${id}.wav`),
      query: hasVariant ? v : join(audioDir, `${id}.wav`),
      queryIsVariant: hasVariant,
    };
  });
  return {
    members,
    nonMembers: shuffled(nonMemberIds, rand)
      .slice(0, nQueries)
      .map((id) => ({ id, file: join(audioDir, `${id}.wav`) })),
    donors: donorIds.map((id) => ({ id, file: join(audioDir, `${id}.wav`) })),
    note: roles ? "roles from the corpus manifest" : "no manifest: files split at random",
  };
}

// ---------------------------------------------------------------------------------------------------------
// Donor mixes (--mixes)

/** The first `seconds` of a file as mono samples (the channels' mean), at the file's own rate. */
async function monoStart(
  file: string,
  seconds: number,
): Promise<{ samples: Float32Array; sampleRate: number }> {
  const { channels, sampleRate } = await decodeFile(await readFile(file));
  const mono = new Float64Array(Math.min(channels[0]?.length ?? 0, Math.round(seconds * sampleRate)));
  mixToMono(channels, mono);
  return { samples: Float32Array.from(mono), sampleRate };
}

/**
 * Fingerprints of `count` mixes of two different donor files each (the first {@link MIX_S} s of both, at half
 * gain, summed), pairs drawn at random among files of the same sample rate. A mix's peaks combine two
 * recordings', so its triplets take hash values neither file has alone, with the statistics of real music:
 * donor material that widens the synthetic index's hash vocabulary without reusing query audio.
 */
export async function donorMixes(
  files: readonly string[],
  count: number,
  rand: () => number,
): Promise<Fingerprint[]> {
  const cache = new Map<string, { samples: Float32Array; sampleRate: number }>();
  const audioOf = async (f: string) => {
    const had = cache.get(f);
    if (had) return had;
    const a = await monoStart(f, MIX_S);
    cache.set(f, a);
    return a;
  };
  const out: Fingerprint[] = [];
  for (let tries = 0; out.length < count && tries < count * 10; tries++) {
    const i = Math.floor(rand() * files.length);
    const j = Math.floor(rand() * files.length);
    if (i === j) continue;
    const [a, b] = await Promise.all([audioOf(files[i] as string), audioOf(files[j] as string)]);
    if (a.sampleRate !== b.sampleRate) continue;
    const n = Math.min(a.samples.length, b.samples.length);
    const mix = new Float32Array(n);
    for (let k = 0; k < n; k++) mix[k] = 0.5 * ((a.samples[k] as number) + (b.samples[k] as number));
    const rate = a.sampleRate;
    out.push(
      await fingerprintChunks(
        (async function* () {
          for (let k = 0; k < n; k += rate) yield { sampleRate: rate, channels: [mix.subarray(k, k + rate)] };
        })(),
      ),
    );
    if (out.length % 25 === 0) log(`fingerprinted ${out.length}/${count} donor mixes`);
  }
  if (out.length < count)
    throw new CliError(`only ${out.length} of ${count} donor mixes: too few donors of one rate`);
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Synthetic tracks

interface Window {
  donor: number;
  start: number;
  end: number;
  frame0: number;
}

export class TrackMaker {
  private readonly byDonor: Window[][];
  private readonly mark = new Uint8Array(1 << 23);
  private distinctBuf = new Uint32Array(65536);

  constructor(
    private readonly donors: Fingerprint[],
    private readonly rand: () => number,
  ) {
    this.byDonor = donors.map((fp, d) => {
      const out: Window[] = [];
      let i = 0;
      while (i < fp.times.length) {
        const w = Math.floor(anchorFrame(fp.times[i] as number) / WINDOW_FRAMES);
        const start = i;
        while (i < fp.times.length && Math.floor(anchorFrame(fp.times[i] as number) / WINDOW_FRAMES) === w)
          i++;
        out.push({ donor: d, start, end: i, frame0: w * WINDOW_FRAMES });
      }
      return out;
    });
    if (this.byDonor.filter((w) => w.length > 0).length === 0)
      throw new Error("donor fingerprints have no hashes");
  }

  /**
   * One synthetic track: hashes, times (anchor-ordered), duration; plus its distinct hashes. Its length is
   * drawn from {@link TRACK_MIN_S}–{@link TRACK_MAX_S} unless given (bench/fingerprint/vocabulary.ts).
   */
  make(lengthS?: number): {
    hashes: Uint32Array;
    times: Uint32Array;
    durationS: number;
    distinct: Uint32Array;
  } {
    const usable = this.byDonor.map((w, d) => (w.length > 0 ? d : -1)).filter((d) => d >= 0);
    const picked = shuffled(usable, this.rand).slice(0, DONORS_PER_TRACK);
    const durS = TRACK_MIN_S + this.rand() * (TRACK_MAX_S - TRACK_MIN_S);
    // The draw happens either way, so that a given length leaves the rest of the random sequence as it was.
    const slots = Math.max(1, Math.round(((lengthS ?? durS) * FRAMES_PER_SECOND) / WINDOW_FRAMES));
    const chosen: Window[] = [];
    let n = 0;
    for (let s = 0; s < slots; s++) {
      const wins = this.byDonor[picked[Math.floor(this.rand() * picked.length)] as number] as Window[];
      const w = wins[Math.floor(this.rand() * wins.length)] as Window;
      chosen.push(w);
      n += w.end - w.start;
    }
    const hashes = new Uint32Array(n);
    const times = new Uint32Array(n);
    let o = 0;
    chosen.forEach((w, s) => {
      const src = this.donors[w.donor] as Fingerprint;
      for (let i = w.start; i < w.end; i++) {
        const packed = src.times[i] as number;
        hashes[o] = src.hashes[i] as number;
        times[o] = packTime(s * WINDOW_FRAMES + (anchorFrame(packed) - w.frame0), spanFrames(packed));
        o++;
      }
    });
    if (this.distinctBuf.length < n) this.distinctBuf = new Uint32Array(n);
    let k = 0;
    for (let i = 0; i < n; i++) {
      const h = hashes[i] as number;
      if (h >= 1 << 23) throw new Error(`hash ${h} ≥ 2^23`);
      if (this.mark[h] === 0) {
        this.mark[h] = 1;
        this.distinctBuf[k++] = h;
      }
    }
    const distinct = this.distinctBuf.slice(0, k);
    for (const h of distinct) this.mark[h] = 0;
    return { hashes, times, durationS: (slots * WINDOW_FRAMES) / FRAMES_PER_SECOND, distinct };
  }
}

// ---------------------------------------------------------------------------------------------------------
// Binary COPY

const COPY_HEADER = Buffer.concat([Buffer.from("PGCOPY\n\xff\r\n\0", "latin1"), Buffer.alloc(8)]);
const COPY_TRAILER = Buffer.from([0xff, 0xff]);

/** fingerprint_hashes (hash, fingerprint_id) tuples. */
function hashRows(id: number, distinct: Uint32Array): Buffer {
  const buf = Buffer.allocUnsafe(distinct.length * 18);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  for (const h of distinct) {
    v.setInt16(o, 2);
    v.setInt32(o + 2, 4);
    v.setInt32(o + 6, h);
    v.setInt32(o + 10, 4);
    v.setInt32(o + 14, id);
    o += 18;
  }
  return buf;
}

/** fingerprints (id, upload_id, account_id, algorithm, duration_s, hash_count, hashes) tuple. */
function fingerprintRow(
  id: number,
  uploadId: string,
  durationS: number,
  hashes: Uint32Array,
  times: Uint32Array,
): Buffer {
  const texts = [uploadId, "bench", FINGERPRINT_ALGORITHM].map((s) => Buffer.from(s, "utf8"));
  const bytes = encodeHashes({ hashes, times });
  const size = 2 + 8 + texts.reduce((s, t) => s + 4 + t.length, 0) + 8 + 8 + 4 + bytes.length;
  const buf = Buffer.allocUnsafe(size);
  let o = buf.writeInt16BE(7, 0);
  o = buf.writeInt32BE(4, o);
  o = buf.writeInt32BE(id, o);
  for (const t of texts) {
    o = buf.writeInt32BE(t.length, o);
    o += t.copy(buf, o);
  }
  o = buf.writeInt32BE(4, o);
  o = buf.writeFloatBE(durationS, o);
  o = buf.writeInt32BE(4, o);
  o = buf.writeInt32BE(hashes.length, o);
  o = buf.writeInt32BE(bytes.length, o);
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).copy(buf, o);
  return buf;
}

async function put(w: Writable, buf: Buffer): Promise<void> {
  if (!w.write(buf)) await once(w, "drain");
}

// ---------------------------------------------------------------------------------------------------------
// Database

type Sql = postgres.Sql;

function dbUrl(base: string, name: string): string {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
}

async function recreateDatabase(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${DB_NAME} with (force)`);
    await admin.unsafe(`create database ${DB_NAME}`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

async function dropDatabase(adminUrl: string): Promise<void> {
  const admin = postgres(adminUrl, { max: 1, onnotice: () => {} });
  try {
    await admin.unsafe(`drop database if exists ${DB_NAME} with (force)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

const HASH_IDX =
  "create index fingerprint_hashes_hash_idx on fingerprint_hashes using btree (hash, fingerprint_id)";
const BRIN_IDX = "create index fingerprint_hashes_fp_brin on fingerprint_hashes using brin (fingerprint_id)";
const HASH_FK = "fingerprint_hashes_fingerprint_id_fingerprints_id_fk";
const UPLOAD_FK = "fingerprints_upload_id_uploads_id_fk";
/** Hash values are below this (TrackMaker checks it); the bench counts them in an array this long. */
const HASH_SPACE = 1 << 23;
/** The full consistency check of fingerprint_hash_counts (a GROUP BY over all index rows) runs up to here. */
const FULL_CHECK_MAX_ROWS = 20_000_000;

/** fingerprint_hash_counts (hash, uploads) tuples: every hash value with a non-zero count. */
function countRows(counts: Uint32Array): { buf: Buffer; rows: number } {
  let n = 0;
  for (let h = 0; h < counts.length; h++) if (counts[h] !== 0) n++;
  const buf = Buffer.allocUnsafe(n * 18);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  for (let h = 0; h < counts.length; h++) {
    const c = counts[h] as number;
    if (c === 0) continue;
    v.setInt16(o, 2);
    v.setInt32(o + 2, 4);
    v.setInt32(o + 6, h);
    v.setInt32(o + 10, 4);
    v.setInt32(o + 14, c);
    o += 18;
  }
  return { buf, rows: n };
}

interface Sizes {
  fpHashesHeap: number;
  hashIdx: number;
  brinIdx: number;
  fpHashesTotal: number;
  fingerprintsTotal: number;
  fingerprintsHeap: number;
  fingerprintsToast: number;
  fingerprintsIdx: number;
  /** fingerprint_hash_counts with its primary key. */
  countsTotal: number;
  countsRows: number;
  database: number;
}

async function sizes(sql: Sql): Promise<Sizes> {
  const [r] = await sql<Record<string, string>[]>`
    select pg_relation_size('fingerprint_hashes') as fp_hashes_heap,
           pg_relation_size('fingerprint_hashes_hash_idx') as hash_idx,
           pg_relation_size('fingerprint_hashes_fp_brin') as brin_idx,
           pg_total_relation_size('fingerprint_hashes') as fp_hashes_total,
           pg_total_relation_size('fingerprints') as fingerprints_total,
           pg_relation_size('fingerprints') as fingerprints_heap,
           coalesce((select pg_total_relation_size(reltoastrelid) from pg_class
                     where oid = 'fingerprints'::regclass and reltoastrelid <> 0), 0) as fingerprints_toast,
           pg_indexes_size('fingerprints') as fingerprints_idx,
           pg_total_relation_size('fingerprint_hash_counts') as counts_total,
           (select count(*) from fingerprint_hash_counts) as counts_rows,
           pg_database_size(current_database()) as database`;
  const n = (k: string) => Number(r?.[k] ?? 0);
  return {
    fpHashesHeap: n("fp_hashes_heap"),
    hashIdx: n("hash_idx"),
    brinIdx: n("brin_idx"),
    fpHashesTotal: n("fp_hashes_total"),
    fingerprintsTotal: n("fingerprints_total"),
    fingerprintsHeap: n("fingerprints_heap"),
    fingerprintsToast: n("fingerprints_toast"),
    fingerprintsIdx: n("fingerprints_idx"),
    countsTotal: n("counts_total"),
    countsRows: n("counts_rows"),
    database: n("database"),
  };
}

const allTables = (s: Sizes) => s.fpHashesTotal + s.fingerprintsTotal + s.countsTotal;

async function freeBytes(sql: Sql): Promise<{ path: string; free: number }> {
  let path = "/";
  try {
    const [r] = await sql<
      { setting: string }[]
    >`select setting from pg_settings where name = 'data_directory'`;
    if (r?.setting && existsSync(r.setting)) path = r.setting;
  } catch {
    // not readable: fall back to /
  }
  const s = await statfs(path);
  return { path, free: s.bavail * s.bsize };
}

const intLiteral = (xs: readonly number[]) => `'{${xs.join(",")}}'::int4[]`;

/** The counts of the given keys, as the phase-1 statement of store.ts reads them (integers inlined). */
function countsSql(keys: readonly number[]): string {
  return `select hash, uploads from fingerprint_hash_counts
        where hash = any(${intLiteral(keys)}) and uploads > 0`;
}

/** Counts of the given keys as the lookup reads them. */
async function readCounts(sql: Sql, keys: readonly number[]): Promise<Map<number, number>> {
  const rows = await sql.unsafe<{ hash: number; uploads: number }[]>(countsSql(keys));
  return new Map(rows.map((r) => [Number(r.hash), Number(r.uploads)]));
}

/** Keys whose count in fingerprint_hash_counts differs from their number of index rows. */
async function countMismatches(sql: Sql, keys: readonly number[]): Promise<number> {
  const [r] = await sql.unsafe<{ bad: number }[]>(
    `select count(*)::int as bad
       from unnest(${intLiteral(keys)}) as k(hash)
       left join (select hash, count(*)::int as n from fingerprint_hashes
                  where hash = any(${intLiteral(keys)}) group by hash) a using (hash)
       left join fingerprint_hash_counts c using (hash)
      where coalesce(a.n, 0) <> coalesce(c.uploads, 0)`,
  );
  return r?.bad ?? -1;
}

/** All hash values whose count differs from their number of index rows (a scan of the whole index). */
async function countMismatchesFull(sql: Sql): Promise<number> {
  const [r] = await sql.unsafe<{ bad: number }[]>(
    `select count(*)::int as bad
       from (select hash, count(*)::int as n from fingerprint_hashes group by hash) a
       full join fingerprint_hash_counts c using (hash)
      where coalesce(a.n, 0) <> coalesce(c.uploads, 0)`,
  );
  return r?.bad ?? -1;
}

interface PlanSummary {
  label: string;
  statement: "counts" | "phase 1";
  /** The JIT section's Options and Timing lines, or "none". */
  jit: string;
  jitTotalMs: number;
  /** The plan's top total cost (compared with jit_above_cost). */
  totalCost: number;
  /** The scan on the statement's table: node, planner's row estimate, rows it returned. */
  scanNode: string;
  scanEstRows: number;
  scanRows: number;
  /** Phase 1: keys looked up and the sum of their counts (what the scan must return). Counts: keys sent. */
  keys: number;
  expectedRows: number;
  executionMs: number;
  planningMs: number;
  heapFetches: number | null;
  parallel: boolean;
  noJitExecutionMs: number;
  lines: string[];
}

/** Summaries of one EXPLAIN run share its lines: each run once, for printing the plans. */
const distinctPlans = (plans: readonly PlanSummary[]) =>
  plans.filter((p, i) => plans.findIndex((q) => q.lines === p.lines) === i);

/** A statement's EXPLAIN (ANALYZE, BUFFERS) lines, as configured and with JIT off. */
interface ExplainRun {
  lines: string[];
  noJit: string[];
}

/** EXPLAINs a drizzle statement as the lookup sends it: its text with its parameters bound. */
async function explainRun(sql: Sql, statement: SQL): Promise<ExplainRun> {
  const query = dialect.sqlToQuery(statement);
  const q = `explain (analyze, buffers) ${query.sql}`;
  const params = query.params as never[];
  const lines = (await sql.unsafe<{ "QUERY PLAN": string }[]>(q, params)).map((r) => r["QUERY PLAN"]);
  const noJit = await sql.begin(async (tx) => {
    await tx.unsafe("set local jit = off");
    return (await tx.unsafe<{ "QUERY PLAN": string }[]>(q, params)).map((r) => r["QUERY PLAN"]);
  });
  return { lines, noJit };
}

/** One EXPLAIN run summarised for the scan of one table: `statement` names which. */
function summarise(
  { lines, noJit }: ExplainRun,
  label: string,
  statement: PlanSummary["statement"],
  keys: number,
  expectedRows: number,
): PlanSummary {
  const num = (ls: string[], re: RegExp) => {
    for (const l of ls) {
      const m = re.exec(l);
      if (m) return Number(m[1]);
    }
    return Number.NaN;
  };
  const rel = statement === "counts" ? "fingerprint_hash_counts" : "fingerprint_hashes";
  const scanRe = new RegExp(
    `((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Heap Scan|Seq Scan)(?: using \\S+)? on ${rel})\\b` +
      String.raw`.*\(cost=[\d.]+\.\.[\d.]+ rows=(\d+) .*actual time=[\d.]+\.\.[\d.]+ rows=(\d+) loops=(\d+)`,
  );
  let scanNode = "?";
  let scanEstRows = Number.NaN;
  let scanRows = Number.NaN;
  for (const l of lines) {
    const m = scanRe.exec(l);
    if (m) {
      scanNode = (m[1] as string).replace(/ on \S+$/, "");
      scanEstRows = Number(m[2]);
      scanRows = Number(m[3]) * Number(m[4]);
      break;
    }
  }
  const fetches = num(lines, /Heap Fetches: (\d+)/);
  const jitLines = lines.filter((l) => /^\s*(Options|Timing): /.test(l)).map((l) => l.trim());
  const jitAt = lines.findIndex((l) => /^\s*JIT:/.test(l));
  return {
    label,
    statement,
    jit: jitAt >= 0 ? jitLines.join("; ") : "none",
    jitTotalMs: jitAt >= 0 ? num(lines, /Timing: .*Total ([\d.]+) ms/) : 0,
    totalCost: num(lines, /cost=[\d.]+\.\.([\d.]+)/),
    scanNode,
    scanEstRows,
    scanRows,
    keys,
    expectedRows,
    executionMs: num(lines, /Execution Time: ([\d.]+)/),
    planningMs: num(lines, /Planning Time: ([\d.]+)/),
    heapFetches: Number.isNaN(fetches) ? null : fetches,
    parallel: lines.some((l) => /Gather|Parallel/.test(l)),
    noJitExecutionMs: num(noJit, /Execution Time: ([\d.]+)/),
    lines,
  };
}

/** EXPLAINs of one query's two statements, and the consistency of the counts of all its keys. */
async function explainQuery(
  sql: Sql,
  label: string,
  fp: Fingerprint,
): Promise<{ plans: PlanSummary[]; keys: number; mismatches: number }> {
  const all = queryKeys(fp);
  const counts = await readCounts(sql, all);
  const keys = rarestKeys(all, (k) => counts.get(k) ?? 0);
  const expected = keys.reduce((s, k) => s + (counts.get(k) ?? 0), 0);
  // One statement, two scans: its plan summarised once for the counts scan and once for the index rows'.
  const run = await explainRun(sql, phase1Statement(all, ""));
  const plans = [summarise(run, label, "counts", all.length, counts.size)];
  if (keys.length > 0) plans.push(summarise(run, label, "phase 1", keys.length, expected));
  return { plans, keys: all.length, mismatches: await countMismatches(sql, all) };
}

// ---------------------------------------------------------------------------------------------------------
// Measurement

interface QueryFp {
  id: string;
  fp: Fingerprint;
  /** The file `fp` was extracted from: each timed lookup extracts it again (see runSet). */
  file: string;
  keys: number;
  expect?: string;
}

interface SetResult {
  n: number;
  totalMs: number[];
  /**
   * Phase 1 (db.execute round trip of the one statement that reads the keys' counts, picks the rarest and
   * counts the candidates' hits; includes queryProbes, computed while it is in flight).
   */
  phase1Ms: number[];
  /** The rest of the call: queryKeys + rarestKeys, phase 2 (select, decode, align). */
  restMs: number[];
  /** Of the rest: phase 2's select (round trip + row parsing), and what is left (JS: keys, decode, probes, align). */
  selectMs: number[];
  jsMs: number[];
  /** queryKeys + rarestKeys in JS, timed separately (outside the call). */
  keysJsMs: number[];
  /** queryProbes in JS, timed separately, for queries where the lookup computes them (candidates > 0). */
  probesMs: number[];
  /** queryKeys(fp).length; keys with a count > 0; phase-1 keys; their posting rows (sum of counts). */
  queryKeys: number[];
  knownKeys: number[];
  phase1Keys: number[];
  phase1Rows: number[];
  /** Rows phase 1 returned (≤ CANDIDATES), and candidates aligned in phase 2 (topCandidates). */
  phase1Returned: number[];
  aligned: number[];
  /** Members: top result is the right upload with "same-recording". Non-members: any "same-recording". */
  hits: number;
  misses: string[];
  /** db.execute statements that were neither the counts read nor phase 1 (should stay 0). */
  otherStatements: number;
  /** Queries looked up at both frame phases (two counts reads: `matchPhases` tried the half-hop phase). */
  bothPhases: number;
  /** Phase-2 selects seen by the timed session (one per query with candidates). */
  selectsSeen: number;
  /** The best candidate's phase-1 hits. */
  bestHits: number[];
}

interface Probe {
  phase1Ms: number;
  /** Phase 2's select of the candidates' hash lists (round trip, including the driver's row parsing). */
  selectMs: number;
  selects: number;
  otherMs: number;
  other: number;
  /** Phase-1 statements seen: one per frame phase looked up. */
  phase1Statements: number;
  phase1: { id: number; hits: number }[];
}

const dialect = new PgDialect();
function sqlText(q: unknown): string {
  if (typeof q === "string") return q;
  if (q && typeof (q as SQLWrapper).getSQL === "function")
    return dialect.sqlToQuery((q as SQLWrapper).getSQL()).sql;
  return "";
}

type PreparedLike = { execute: (...a: unknown[]) => Promise<unknown> };

/** The Db's session, with the `execute` of every query it prepares timed (query builders go through it). */
function timedSession(db: Db, probe: Probe): object {
  const session = Reflect.get(db, "session") as object;
  return new Proxy(session, {
    get(target, prop) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === "prepareQuery") {
        return (...args: unknown[]) => {
          const prepared = (v as (...a: unknown[]) => PreparedLike).apply(target, args);
          const execute = prepared.execute.bind(prepared);
          prepared.execute = async (...a: unknown[]) => {
            const t0 = performance.now();
            const r = await execute(...a);
            probe.selectMs += performance.now() - t0;
            probe.selects++;
            return r;
          };
          return prepared;
        };
      }
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

/**
 * A Db whose `execute` is timed and recorded; lookupFingerprint's two statements through it are told apart
 * by their SQL text. Phase 2 uses `select`, which builds its query on `this.session`: it is called with the
 * proxy as `this`, whose `session` times the prepared query's execution.
 */
function timedDb(db: Db, probe: Probe): Db {
  const session = timedSession(db, probe);
  return new Proxy(db, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, target) as unknown;
      if (prop === "session") return session;
      if (prop === "select")
        return (...args: unknown[]) => (v as (...a: unknown[]) => unknown).apply(receiver, args);
      if (prop === "execute") {
        return async (...args: Parameters<Db["execute"]>) => {
          const text = sqlText(args[0]);
          const t0 = performance.now();
          const r = await target.execute(...args);
          const ms = performance.now() - t0;
          if (/from\s+fingerprint_hashes\b/.test(text)) {
            probe.phase1Ms += ms;
            probe.phase1Statements++;
            probe.phase1 = rowsOf<{ id: number; hits: number }>(r).map((x) => ({
              id: Number(x.id),
              hits: Number(x.hits),
            }));
          } else {
            probe.otherMs += ms;
            probe.other++;
          }
          return r;
        };
      }
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}

async function runSet(db: Db, sql: Sql, queries: readonly QueryFp[], member: boolean): Promise<SetResult> {
  const res: SetResult = {
    n: 0,
    totalMs: [],
    phase1Ms: [],
    restMs: [],
    selectMs: [],
    jsMs: [],
    keysJsMs: [],
    probesMs: [],
    queryKeys: [],
    knownKeys: [],
    phase1Keys: [],
    phase1Rows: [],
    phase1Returned: [],
    aligned: [],
    hits: 0,
    misses: [],
    otherStatements: 0,
    bothPhases: 0,
    selectsSeen: 0,
    bestHits: [],
  };
  for (const q of queries) {
    const probe: Probe = {
      phase1Ms: 0,
      selectMs: 0,
      selects: 0,
      otherMs: 0,
      other: 0,
      phase1Statements: 0,
      phase1: [],
    };
    // A fresh extraction (not timed): a fingerprint computes its phase stability and half-hop phase on first
    // use and keeps them, so reusing one would leave those out of every lookup after its first.
    const fp = await fingerprintFile(q.file);
    const t0 = performance.now();
    const matches = await lookupFingerprint(timedDb(db, probe), fp);
    const total = performance.now() - t0;
    // The JS steps again, outside the timed call: the keys (and what phase 1 looked up), then the probes.
    // The keys' counts are read again for the figures below: phase 1 chose its keys from them on the server,
    // and rarestKeys makes the same choice (checked by the tests).
    const tk = performance.now();
    const all = queryKeys(fp);
    const keysJs0 = performance.now() - tk;
    const counts = await readCounts(sql, all);
    const tr = performance.now();
    const keys = rarestKeys(all, (k) => counts.get(k) ?? 0);
    const keysJs = keysJs0 + (performance.now() - tr);
    const chosen = topCandidates(new Map(probe.phase1.map((c) => [c.id, c.hits])));
    if (chosen.length > 0) {
      const tp = performance.now();
      queryProbes(fp.peakList);
      res.probesMs.push(performance.now() - tp);
    }
    res.n++;
    res.totalMs.push(total);
    res.phase1Ms.push(probe.phase1Ms);
    res.restMs.push(Math.max(0, total - probe.phase1Ms));
    res.selectMs.push(probe.selectMs);
    res.jsMs.push(Math.max(0, total - probe.phase1Ms - probe.selectMs));
    res.selectsSeen += probe.selects;
    res.bestHits.push(probe.phase1[0]?.hits ?? 0);
    res.keysJsMs.push(keysJs);
    res.queryKeys.push(all.length);
    res.knownKeys.push(counts.size);
    res.phase1Keys.push(keys.length);
    res.phase1Rows.push(keys.reduce((s, k) => s + (counts.get(k) ?? 0), 0));
    res.phase1Returned.push(probe.phase1.length);
    res.aligned.push(chosen.length);
    res.otherStatements += probe.other;
    if (probe.phase1Statements > 1) res.bothPhases++;
    const top = matches[0];
    if (member) {
      if (top && top.key.uploadId === q.expect && top.verdict === "same-recording") res.hits++;
      else res.misses.push(`${q.id}->${top ? `${top.key.uploadId}:${top.verdict}` : "none"}`);
    } else {
      const same = matches.find((m) => m.verdict === "same-recording");
      if (same) {
        res.hits++;
        res.misses.push(`${q.id}->${same.key.uploadId}`);
      }
    }
  }
  return res;
}

interface StepResult {
  tracks: number;
  audioHours: number;
  indexRows: number;
  /** COPY of both tables. */
  loadS: number;
  copyRowsPerS: number;
  /** Truncate + COPY of fingerprint_hash_counts. */
  countsS: number;
  countRows: number;
  hashIdxS: number;
  brinS: number;
  vacuumS: number;
  measureS: number;
  sizes: Sizes;
  bytesPerHour: number;
  hashIdxBytesPerHour: number;
  countsBytesPerHour: number;
  /** Hash values whose count is wrong: all of them (first step only, else null), and among checked keys. */
  fullMismatches: number | null;
  keyMismatches: number;
  checkedKeys: number;
  members: SetResult;
  nonMembers: SetResult;
  plans: PlanSummary[];
  /** With --passes > 1: the query sets again, right after the first pass (pages cached by then). */
  laterPasses: { members: SetResult; nonMembers: SetResult }[];
  /** Load average and CPU pressure at the start and end of the measurement (the machine is shared). */
  cpu: { start: string; end: string };
}

/** 1-minute load average and the kernel's CPU pressure ("some", avg10/avg60), if readable. */
function cpuContext(): string {
  let psi = "";
  try {
    const m = /some avg10=([\d.]+) avg60=([\d.]+)/.exec(readFileSync("/proc/pressure/cpu", "utf8"));
    if (m) psi = `, CPU pressure avg10 ${m[1]} % / avg60 ${m[2]} %`;
  } catch {
    // no PSI on this kernel
  }
  return `load ${(loadavg()[0] as number).toFixed(1)}${psi}`;
}

const loadTotalS = (s: StepResult) => s.loadS + s.countsS + s.hashIdxS + s.brinS + s.vacuumS;
// ---------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      "max-tracks": { type: "string", default: "100000" },
      sizes: { type: "string", default: "1000,10000,100000" },
      corpus: { type: "string", default: "/tmp/earmark-fp-corpus" },
      queries: { type: "string", default: "30" },
      donors: { type: "string", default: "40" },
      mixes: { type: "string", default: "0" },
      url: { type: "string", default: `postgres://postgres@127.0.0.1:5432/${DB_NAME}` },
      "budget-min": { type: "string", default: "35" },
      "min-free-gb": { type: "string", default: "25" },
      "wait-min": { type: "string", default: "10" },
      passes: { type: "string", default: "1" },
      seed: { type: "string", default: "1" },
      keep: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) {
    process.stdout.write(
      "usage: tsx bench/fingerprint/lookup.ts [--max-tracks 100000] [--sizes 1000,10000,100000]\n" +
        "  [--corpus /tmp/earmark-fp-corpus] [--queries 30] [--donors 40] [--mixes 0] [--budget-min 35] [--min-free-gb 25]\n" +
        `  [--url postgres://postgres@127.0.0.1:5432/${DB_NAME}] [--seed 1] [--passes 1] [--keep]\n`,
    );
    return;
  }
  const maxTracks = Number(values["max-tracks"]);
  const nQueries = Number(values.queries);
  const nDonors = Number(values.donors);
  const nMixes = Number(values.mixes);
  if (!Number.isInteger(nMixes) || nMixes < 0) throw new CliError("--mixes must be a whole number ≥ 0");
  const nPasses = Number(values.passes);
  const budgetS = Number(values["budget-min"]) * 60;
  const minFree = Number(values["min-free-gb"]) * GB;
  for (const [k, v] of Object.entries({ maxTracks, nQueries, nDonors, nPasses, budgetS, minFree })) {
    if (!Number.isFinite(v) || v <= 0) throw new CliError(`bad value for ${k}`);
  }
  const url = values.url;
  if (new URL(url).pathname !== `/${DB_NAME}`)
    throw new CliError(`--url must name the scratch database ${DB_NAME}`);
  const adminUrl = dbUrl(url, "postgres");
  const wanted = values.sizes
    .split(",")
    .map(Number)
    .filter((n) => Number.isInteger(n) && n > 0)
    .sort((a, b) => a - b);
  const sizesPlan = wanted.filter((n) => n <= maxTracks);
  if (maxTracks > (sizesPlan.at(-1) ?? 0) && wanted.some((n) => n > maxTracks)) sizesPlan.push(maxTracks);
  const skipped: { tracks: number; reason: string }[] = wanted
    .filter((n) => n > maxTracks)
    .map((n) => ({ tracks: n, reason: `above --max-tracks ${maxTracks}` }));
  if (sizesPlan.length === 0) throw new CliError("no sizes to run");
  const rand = rng(Number(values.seed));

  // 1. Real fingerprints.
  const src = await chooseSources(values.corpus, nQueries, nDonors, Number(values["wait-min"]), rand);
  log(
    `${src.members.length} members (${src.members.filter((m) => m.queryIsVariant).length} queried by mp3-64k variant), ` +
      `${src.nonMembers.length} non-members, ${src.donors.length} donors (${src.note})`,
  );
  const fpStart = performance.now();
  const fpOf = async (file: string) => fingerprintFile(file);
  const memberIndexed: QueryFp[] = [];
  const memberQueries: QueryFp[] = [];
  let done = 0;
  const total = src.members.length * 2 + src.nonMembers.length + src.donors.length;
  const tick = () => {
    done++;
    if (done % 10 === 0 || done === total) log(`fingerprinted ${done}/${total} files`);
  };
  for (const m of src.members) {
    const ref = await fpOf(m.indexed);
    tick();
    const q = m.queryIsVariant ? await fpOf(m.query) : ref;
    tick();
    const uploadId = `member:${m.id}`;
    memberIndexed.push({ id: m.id, fp: ref, file: m.indexed, keys: 0, expect: uploadId });
    memberQueries.push({
      id: m.id,
      fp: q,
      file: m.query,
      keys: queryKeys(q).length,
      expect: uploadId,
    });
  }
  const nonMemberQueries: QueryFp[] = [];
  for (const nm of src.nonMembers) {
    const fp = await fpOf(nm.file);
    tick();
    nonMemberQueries.push({ id: nm.id, fp, file: nm.file, keys: queryKeys(fp).length });
  }
  const donorFps: Fingerprint[] = [];
  for (const d of src.donors) {
    donorFps.push(await fpOf(d.file));
    tick();
  }
  const realDonors = donorFps.length;
  if (nMixes > 0)
    donorFps.push(
      ...(await donorMixes(
        src.donors.map((d) => d.file),
        nMixes,
        rand,
      )),
    );
  const fingerprintS = (performance.now() - fpStart) / 1000;
  const donorHours = donorFps.reduce((s, f) => s + f.durationS, 0) / 3600;
  const donorHashRate = donorFps.reduce((s, f) => s + f.hashes.length, 0) / (donorHours * 3600);
  log(`fingerprinting took ${fingerprintS.toFixed(1)} s; donor material ${(donorHours * 60).toFixed(1)} min`);
  const maker = new TrackMaker(donorFps, rand);
  const warmups = donorFps.slice(0, WARMUP_QUERIES);

  // 2. Scratch database.
  await recreateDatabase(adminUrl);
  log(`created ${DB_NAME}`);
  let database: Database | null = null;
  const sql = postgres(url, { max: 3, onnotice: () => {} });
  const steps: StepResult[] = [];
  let pgVersion = "";
  let settings: Record<string, string> = {};
  try {
    database = await openDatabase({ kind: "postgres", url });
    await database.migrate();
    const db = database.db;
    pgVersion = (await sql<{ v: string }[]>`select version() as v`)[0]?.v ?? "";
    settings = Object.fromEntries(
      (
        await sql<{ name: string; setting: string; unit: string | null }[]>`
          select name, setting, unit from pg_settings
          where name in ('shared_buffers', 'work_mem', 'effective_cache_size', 'jit', 'jit_above_cost',
                         'jit_inline_above_cost', 'jit_optimize_above_cost', 'random_page_cost',
                         'max_parallel_workers_per_gather', 'effective_io_concurrency')`
      ).map((r) => [r.name, `${r.setting}${r.unit ? ` ${r.unit}` : ""}`]),
    );
    await sql.unsafe(`alter table fingerprints drop constraint ${UPLOAD_FK}`);
    await sql.unsafe("alter table fingerprint_hashes set unlogged");
    await sql.unsafe("alter table fingerprints set unlogged");
    await sql.unsafe("alter table fingerprint_hash_counts set unlogged");
    log(`migrated; dropped ${UPLOAD_FK}; tables UNLOGGED`);
    /** Per hash value, the tracks loaded so far whose distinct hashes hold it (= fingerprint_hash_counts). */
    const hashCounts = new Uint32Array(HASH_SPACE);

    let tracks = 0;
    let indexRows = 0;
    let audioS = 0;
    let prev: { tracks: number; step: StepResult; prevTracks: number } | null = null;

    for (let target of sizesPlan) {
      // 5. Budget check from the previous step.
      if (prev) {
        const { step, prevTracks } = prev;
        const added = step.tracks - prevTracks;
        const loadPer = (step.loadS + step.countsS + step.vacuumS) / added;
        const idxPer = (step.hashIdxS + step.brinS) / step.tracks;
        const measurePer = step.measureS / step.tracks;
        const estS = (t: number) =>
          TIME_SAFETY *
          (loadPer * (t - tracks) + idxPer * t * (Math.log(t) / Math.log(tracks)) + measurePer * t);
        const bytesPerTrack = step.sizes.database / step.tracks;
        const idxBytesPerTrack = step.sizes.hashIdx / step.tracks;
        const { path, free } = await freeBytes(sql);
        // New rows, plus the index's sort spill while it is built (about the size of the index).
        const needBytes = (t: number) => bytesPerTrack * (t - tracks) + idxBytesPerTrack * t;
        const left = budgetS - elapsedS() - RESERVE_S;
        const fits = (t: number) => free - needBytes(t) >= minFree && estS(t) <= left;
        log(
          `step to ${target}: estimated ${estS(target).toFixed(0)} s (left ${left.toFixed(0)} s), ` +
            `${fmtBytes(needBytes(target))} more disk (free ${fmtBytes(free)} on ${path}, keep ${fmtBytes(minFree)})`,
        );
        if (!fits(target)) {
          const why: string[] = [];
          if (free - needBytes(target) < minFree)
            why.push(
              `disk: needs ≈${fmtBytes(needBytes(target))} (${fmtBytes(bytesPerTrack)}/track + index sort spill), ` +
                `free ${fmtBytes(free)}, would leave < ${fmtBytes(minFree)}`,
            );
          if (estS(target) > left)
            why.push(
              `time: ≈${(estS(target) / 60).toFixed(1)} min estimated, ${(left / 60).toFixed(1)} min left of the budget`,
            );
          const grain = 10 ** Math.floor(Math.log10(tracks)) / 2;
          let alt = 0;
          for (let t = Math.floor(target / grain) * grain; t >= tracks * 1.5; t -= grain) {
            if (fits(t)) {
              alt = t;
              break;
            }
          }
          const reason = why.join("; ");
          if (alt > 0) {
            skipped.push({ tracks: target, reason: `${reason} → grew to ${alt} instead` });
            log(`${target} does not fit (${reason}); growing to ${alt} instead`);
            target = alt;
          } else {
            skipped.push({ tracks: target, reason });
            log(`skipping ${target}: ${reason}`);
            for (const later of sizesPlan.filter((s) => s > target))
              skipped.push({ tracks: later, reason: `after skipping ${target}` });
            break;
          }
        }
      }

      // 3. Load.
      const prevTracks = tracks;
      log(`loading tracks ${tracks + 1}..${target}`);
      await sql.unsafe(`alter table fingerprint_hashes drop constraint if exists ${HASH_FK}`);
      await sql.unsafe("drop index if exists fingerprint_hashes_hash_idx");
      await sql.unsafe("drop index if exists fingerprint_hashes_fp_brin");
      const t0 = performance.now();
      const wHashes =
        await sql`copy fingerprint_hashes (hash, fingerprint_id) from stdin with (format binary)`.writable();
      const wFps =
        await sql`copy fingerprints (id, upload_id, account_id, algorithm, duration_s, hash_count, hashes) from stdin with (format binary)`.writable();
      await put(wHashes, COPY_HEADER);
      await put(wFps, COPY_HEADER);
      let stepRows = 0;
      while (tracks < target) {
        const id = tracks + 1;
        let uploadId: string;
        let t: { hashes: Uint32Array; times: Uint32Array; durationS: number; distinct: Uint32Array };
        const member = memberIndexed[tracks];
        if (member) {
          uploadId = member.expect as string;
          t = { ...member.fp, distinct: Uint32Array.from(new Set(member.fp.hashes)) };
        } else {
          uploadId = `synthetic:${id}`;
          t = maker.make();
        }
        await put(wHashes, hashRows(id, t.distinct));
        for (const h of t.distinct) {
          if (h >= HASH_SPACE) throw new Error(`hash ${h} ≥ 2^23`);
          hashCounts[h] = (hashCounts[h] as number) + 1;
        }
        await put(wFps, fingerprintRow(id, uploadId, t.durationS, t.hashes, t.times));
        stepRows += t.distinct.length;
        audioS += t.durationS;
        tracks++;
        if (tracks % 1000 === 0)
          log(`  ${tracks} tracks, ${(indexRows + stepRows).toLocaleString("en")} index rows`);
      }
      wHashes.end(COPY_TRAILER);
      wFps.end(COPY_TRAILER);
      await Promise.all([finished(wHashes), finished(wFps)]);
      indexRows += stepRows;
      const loadS = (performance.now() - t0) / 1000;
      await sql.unsafe(`select setval('fingerprints_id_seq', ${tracks})`);
      log(
        `loaded in ${loadS.toFixed(1)} s (${(stepRows / loadS / 1e6).toFixed(2)} M index rows/s); hash counts`,
      );
      const tc = performance.now();
      await sql.unsafe("truncate fingerprint_hash_counts");
      const wCounts =
        await sql`copy fingerprint_hash_counts (hash, uploads) from stdin with (format binary)`.writable();
      const counted = countRows(hashCounts);
      await put(wCounts, COPY_HEADER);
      await put(wCounts, counted.buf);
      wCounts.end(COPY_TRAILER);
      await finished(wCounts);
      const countsS = (performance.now() - tc) / 1000;
      log(
        `hash counts: ${counted.rows.toLocaleString("en")} values in ${countsS.toFixed(1)} s; building indexes`,
      );
      const t1 = performance.now();
      await sql.begin(async (tx) => {
        await tx.unsafe("set local maintenance_work_mem = '1GB'");
        await tx.unsafe("set local max_parallel_maintenance_workers = 1");
        await tx.unsafe(HASH_IDX);
      });
      const hashIdxS = (performance.now() - t1) / 1000;
      const t2 = performance.now();
      await sql.unsafe(BRIN_IDX);
      const brinS = (performance.now() - t2) / 1000;
      await sql.unsafe(
        `alter table fingerprint_hashes add constraint ${HASH_FK} foreign key (fingerprint_id) ` +
          "references fingerprints(id) on delete cascade not valid",
      );
      log(`btree ${hashIdxS.toFixed(1)} s, brin ${brinS.toFixed(1)} s; vacuum analyze`);
      const t3 = performance.now();
      await sql.unsafe("vacuum analyze fingerprint_hashes");
      await sql.unsafe("vacuum analyze fingerprints");
      await sql.unsafe("vacuum analyze fingerprint_hash_counts");
      const vacuumS = (performance.now() - t3) / 1000;
      let fullMismatches: number | null = null;
      if (indexRows <= FULL_CHECK_MAX_ROWS) {
        const tf = performance.now();
        fullMismatches = await countMismatchesFull(sql);
        log(
          `full check of fingerprint_hash_counts: ${fullMismatches} wrong in ${((performance.now() - tf) / 1000).toFixed(1)} s`,
        );
      }

      // 4. Measure.
      const tm = performance.now();
      log(`measuring at ${tracks} tracks (${indexRows.toLocaleString("en")} index rows)`);
      const sz = await sizes(sql);
      for (const w of warmups) await lookupFingerprint(db, w);
      const cpuStart = cpuContext();
      const members = await runSet(db, sql, memberQueries, true);
      const nonMembers = await runSet(db, sql, nonMemberQueries, false);
      const laterPasses: StepResult["laterPasses"] = [];
      for (let p = 1; p < nPasses; p++)
        laterPasses.push({
          members: await runSet(db, sql, memberQueries, true),
          nonMembers: await runSet(db, sql, nonMemberQueries, false),
        });
      const cpu = { start: cpuStart, end: cpuContext() };
      const measureS = (performance.now() - tm) / 1000;
      const plans: PlanSummary[] = [];
      let keyMismatches = 0;
      let checkedKeys = 0;
      for (const [label, q] of [
        ["member", memberQueries[0]],
        ["non-member", nonMemberQueries[0]],
      ] as const) {
        if (!q) continue;
        const e = await explainQuery(sql, `${label} ${q.id}`, q.fp);
        plans.push(...e.plans);
        keyMismatches += e.mismatches;
        checkedKeys += e.keys;
      }
      const hours = audioS / 3600;
      const step: StepResult = {
        tracks,
        audioHours: hours,
        indexRows,
        loadS,
        copyRowsPerS: stepRows / loadS,
        countsS,
        countRows: counted.rows,
        hashIdxS,
        brinS,
        vacuumS,
        measureS,
        sizes: sz,
        bytesPerHour: allTables(sz) / hours,
        hashIdxBytesPerHour: sz.hashIdx / hours,
        countsBytesPerHour: sz.countsTotal / hours,
        fullMismatches,
        keyMismatches,
        checkedKeys,
        members,
        nonMembers,
        plans,
        laterPasses,
        cpu,
      };
      steps.push(step);
      log(
        `${tracks} tracks: members p50 ${pct(members.totalMs, 50).toFixed(1)} / p95 ${pct(members.totalMs, 95).toFixed(1)} ms, ` +
          `non-members p50 ${pct(nonMembers.totalMs, 50).toFixed(1)} / p95 ${pct(nonMembers.totalMs, 95).toFixed(1)} ms ` +
          `(measured in ${measureS.toFixed(0)} s); counts wrong for ${keyMismatches} of ${checkedKeys} checked keys`,
      );
      for (const p of distinctPlans(plans))
        log(`plan (phase-1 statement, ${p.label}):\n    ${p.lines.map(cut).join("\n    ")}`);
      prev = { tracks, step, prevTracks };
    }
  } finally {
    await database?.close().catch(() => {});
    await sql.end({ timeout: 5 }).catch(() => {});
    if (!values.keep) {
      await dropDatabase(adminUrl).catch((e: unknown) => log(`could not drop ${DB_NAME}: ${String(e)}`));
      log(`dropped ${DB_NAME}`);
    } else log(`kept ${DB_NAME}`);
  }

  // Output.
  const out: string[] = [];
  const f1 = (x: number) => x.toFixed(1);
  const int = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString("en") : "-");
  out.push(`Earmark fingerprint lookup benchmark (Postgres) — ${new Date().toISOString()}`);
  out.push(`${pgVersion}`);
  out.push(
    `server settings: ${Object.entries(settings)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
  );
  out.push(`command: npx tsx bench/fingerprint/lookup.ts ${process.argv.slice(2).join(" ")}`.trimEnd());
  out.push(
    `lookup: queryKeys ≤ ${MAX_QUERY_KEYS} → counts (fingerprint_hash_counts) → rarestKeys ≤ ${MAX_PHASE1_KEYS} keys within ` +
      `${PHASE1_ROW_BUDGET.toLocaleString("en")} posting rows → phase 1 (≥ ${MIN_CANDIDATE_HITS} hits, limit ${CANDIDATES}) → ` +
      "topCandidates → phase 2 (load hashes, align; queryProbes runs while the counts are read)",
  );
  out.push("");
  out.push("Index content:");
  out.push(
    `  rows 1..${memberIndexed.length}: real fingerprints of ${memberIndexed.length} corpus references (the members, ≤120 s each);`,
  );
  out.push(
    `  every other row: a synthetic ≈4-min track (uniform ${TRACK_MIN_S}–${TRACK_MAX_S} s) made of random ≈2 s windows ` +
      `(${WINDOW_FRAMES} frames by anchor time) of the hash triplets of ${DONORS_PER_TRACK} random donor fingerprints, ` +
      "anchor times re-based to stay monotonic;",
  );
  out.push(
    `  donors: ${realDonors} further corpus references` +
      (nMixes > 0 ? ` and ${nMixes} mixes of two of them (first ${MIX_S} s of each, half gain)` : "") +
      `, ${(donorHours * 60).toFixed(1)} min of audio, ` +
      `${donorHashRate.toFixed(1)} hashes/s. Members, non-members and donors are disjoint (${src.note}).`,
  );
  out.push(
    "  Caveat: the synthetic tracks hold only the donors' distinct hash values, each in a few per cent of all tracks, so " +
      "the count table is much smaller than a real catalogue's, members' own hashes mostly have count 1, and phase 1 " +
      "tends to hit its row budget (an upper bound on its work). bench/fingerprint/vocabulary.ts measures how far " +
      "this is from the corpus itself indexed (--mixes widens the vocabulary).",
  );
  const byVariant = src.members.filter((m) => m.queryIsVariant).length;
  out.push(
    `Queries: ${memberQueries.length} members (${byVariant} by their mp3-64k variant, ` +
      `${memberQueries.length - byVariant} by the indexed file itself), ${nonMemberQueries.length} non-members (corpus role "non-member", never indexed); ` +
      `each once per size, sequentially, after ${warmups.length} warm-up lookups (donor fingerprints). ` +
      `queryKeys per query: median ${pct(
        [...memberQueries, ...nonMemberQueries].map((q) => q.keys),
        50,
      )}.`,
  );
  out.push(
    `Scratch DB ${DB_NAME}: FK ${UPLOAD_FK} dropped (no uploads rows); tables UNLOGGED; fingerprint_hashes indexes ` +
      "dropped while loading (binary COPY) and rebuilt; FK to fingerprints re-added NOT VALID; fingerprint_hash_counts " +
      "truncated and re-COPYed from counts kept while loading; VACUUM ANALYZE of the three tables after each load.",
  );
  out.push(`Fingerprinting the real files took ${fingerprintS.toFixed(1)} s.`);
  out.push("");
  out.push(
    "Index size (all three tables incl. indexes and TOAST; bytes/h = per hour of indexed audio) and load time, s " +
      "(COPY = both big tables; counts = truncate + COPY of fingerprint_hash_counts; total = COPY + counts + btree + brin + vacuum)",
  );
  out.push(
    table(
      [
        "tracks",
        "audio h",
        "index rows",
        "rows/track",
        "fp_hashes heap",
        "hash_idx",
        "fingerprints (all)",
        "hash_counts (all)",
        "count rows",
        "all three",
        "bytes/h (all)",
        "hash_idx B/h",
        "counts B/h",
        "COPY",
        "counts",
        "btree",
        "brin",
        "vacuum",
        "total",
      ],
      steps.map((s) => [
        s.tracks.toLocaleString("en"),
        s.audioHours.toFixed(0),
        s.indexRows.toLocaleString("en"),
        (s.indexRows / s.tracks).toFixed(0),
        fmtBytes(s.sizes.fpHashesHeap),
        fmtBytes(s.sizes.hashIdx),
        fmtBytes(s.sizes.fingerprintsTotal),
        fmtBytes(s.sizes.countsTotal),
        s.countRows.toLocaleString("en"),
        fmtBytes(allTables(s.sizes)),
        fmtBytes(s.bytesPerHour),
        fmtBytes(s.hashIdxBytesPerHour),
        fmtBytes(s.countsBytesPerHour),
        f1(s.loadS),
        f1(s.countsS),
        f1(s.hashIdxS),
        f1(s.brinS),
        f1(s.vacuumS),
        f1(loadTotalS(s)),
      ]),
    ),
  );
  out.push(
    `fingerprint_hash_counts consistency: ${steps
      .map(
        (s) =>
          `${s.tracks.toLocaleString("en")}: ${s.keyMismatches} wrong of ${s.checkedKeys} checked keys` +
          (s.fullMismatches === null ? "" : `, ${s.fullMismatches} wrong in the full check`),
      )
      .join("; ")}`,
  );
  out.push("");
  out.push(
    "Lookup latency, ms: total = whole lookupFingerprint call; ph1 = the phase-1 statement (db.execute round " +
      "trip: counts of the query's keys, the rarest chosen and the candidates' hits counted on the server; it " +
      "includes queryProbes and steps of the phase stability, which lookupFingerprint computes while the statement " +
      "is in flight); rest = total − ph1 (queryKeys, phase 2: select of the candidates' hashes, decode, align; the " +
      "rest of the phase stability and the half-hop phase where computed), split into sel = phase 2's select (round trip + row parsing) and JS = rest − sel; " +
      "keys JS = queryKeys + rarestKeys and probes = queryProbes, both timed separately outside the call (probes " +
      "only for queries with candidates); both phases = queries looked up at both frame phases (sums of both)",
  );
  const sets = (s: StepResult): (readonly [string, SetResult])[] => [
    ["members", s.members],
    ["non-members", s.nonMembers],
    ...s.laterPasses.flatMap(
      (p, i) =>
        [
          [`members pass ${i + 2}`, p.members],
          [`non-members pass ${i + 2}`, p.nonMembers],
        ] as const,
    ),
  ];
  out.push(
    table(
      [
        "tracks",
        "queries",
        "n",
        "p50",
        "p95",
        "max",
        "ph1 p50",
        "ph1 p95",
        "ph1 max",
        "rest p50",
        "rest p95",
        "rest max",
        "sel p50",
        "sel p95",
        "JS p50",
        "JS p95",
        "keys JS p50",
        "probes p50",
        "both phases",
        "correct",
      ],
      steps.flatMap((s) =>
        sets(s).map(([name, r]) => [
          s.tracks.toLocaleString("en"),
          name,
          String(r.n),
          f1(pct(r.totalMs, 50)),
          f1(pct(r.totalMs, 95)),
          f1(pct(r.totalMs, 100)),
          f1(pct(r.phase1Ms, 50)),
          f1(pct(r.phase1Ms, 95)),
          f1(pct(r.phase1Ms, 100)),
          f1(pct(r.restMs, 50)),
          f1(pct(r.restMs, 95)),
          f1(pct(r.restMs, 100)),
          f1(pct(r.selectMs, 50)),
          f1(pct(r.selectMs, 95)),
          f1(pct(r.jsMs, 50)),
          f1(pct(r.jsMs, 95)),
          f1(pct(r.keysJsMs, 50)),
          r.probesMs.length > 0 ? f1(pct(r.probesMs, 50)) : "-",
          `${r.bothPhases}/${r.n}`,
          name.startsWith("members") ? `${r.hits}/${r.n} found` : `${r.hits}/${r.n} false`,
        ]),
      ),
    ),
  );
  out.push("");
  out.push(
    "Phase-1 work per query (p50 / max over the queries): query keys = queryKeys; known = keys with a count > 0; " +
      "ph1 keys = rarestKeys; ph1 rows = sum of their counts (= index entries phase 1 scans); returned = rows phase 1 " +
      "returned; best = the best candidate's hits; aligned = topCandidates (phase 2)",
  );
  const pm = (xs: number[]) => `${int(pct(xs, 50))} / ${int(pct(xs, 100))}`;
  out.push(
    table(
      ["tracks", "queries", "query keys", "known", "ph1 keys", "ph1 rows", "returned", "best", "aligned"],
      steps.flatMap((s) =>
        sets(s).map(([name, r]) => [
          s.tracks.toLocaleString("en"),
          name,
          pm(r.queryKeys),
          pm(r.knownKeys),
          pm(r.phase1Keys),
          pm(r.phase1Rows),
          pm(r.phase1Returned),
          pm(r.bestHits),
          pm(r.aligned),
        ]),
      ),
    ),
  );
  out.push("");
  out.push(
    "EXPLAIN (ANALYZE, BUFFERS) of the phase-1 statement as the lookup sends it, parameters bound (server-side times), " +
      "summarised twice: its scan of fingerprint_hash_counts (counts) and of fingerprint_hashes (phase 1); exec " +
      "ms is the whole statement's in both; cost = the plan's total cost (JIT starts above jit_above_cost); " +
      "est/actual rows = that scan; expected = counts rows found (counts) or sum of the phase-1 keys' counts (phase 1)",
  );
  out.push(
    table(
      [
        "tracks",
        "query",
        "statement",
        "keys",
        "exec ms",
        "exec ms jit=off",
        "plan ms",
        "cost",
        "scan",
        "est rows",
        "rows",
        "expected",
        "heap fetches",
        "parallel",
        "JIT total ms",
      ],
      steps.flatMap((s) =>
        s.plans.map((p) => [
          s.tracks.toLocaleString("en"),
          p.label,
          p.statement,
          String(p.keys),
          f1(p.executionMs),
          f1(p.noJitExecutionMs),
          f1(p.planningMs),
          int(p.totalCost),
          p.scanNode,
          int(p.scanEstRows),
          int(p.scanRows),
          int(p.expectedRows),
          String(p.heapFetches ?? "-"),
          p.parallel ? "yes" : "no",
          p.jit === "none" ? "no JIT" : f1(p.jitTotalMs),
        ]),
      ),
    ),
  );
  const jitted = steps.flatMap((s) =>
    s.plans.filter((p) => p.jit !== "none").map((p) => ({ tracks: s.tracks, p })),
  );
  out.push(
    jitted.length === 0
      ? "JIT: none of the EXPLAINed plans used JIT."
      : `JIT used in: ${jitted
          .map(
            ({ tracks, p }) =>
              `${tracks.toLocaleString("en")} ${p.statement} (${p.label}): ${f1(p.jitTotalMs)} ms of ${f1(p.executionMs)} ms (${p.jit})`,
          )
          .join("; ")}`,
  );
  const last = steps.at(-1);
  if (last) {
    for (const p of distinctPlans(last.plans)) {
      out.push("");
      out.push(`Plan at ${last.tracks.toLocaleString("en")} tracks, phase-1 statement, ${p.label}:`);
      out.push(...p.lines.map((l) => `  ${cut(l)}`));
    }
  }
  out.push("");
  for (const s of steps) {
    out.push(
      `measurement at ${s.tracks.toLocaleString("en")}: ${s.cpu.start} at the start, ${s.cpu.end} at the end`,
    );
    for (const [name, r] of sets(s)) {
      if (r.misses.length > 0)
        out.push(`at ${s.tracks}, ${name}: wrong/false results: ${r.misses.join(", ")}`);
      if (r.otherStatements > 0)
        out.push(
          `at ${s.tracks}, ${name}: ${r.otherStatements} db.execute statements were neither counts nor phase 1`,
        );
      const withCands = r.aligned.filter((n) => n > 0).length;
      if (r.selectsSeen !== withCands)
        out.push(
          `at ${s.tracks}, ${name}: ${r.selectsSeen} phase-2 selects timed for ${withCands} queries with candidates`,
        );
    }
  }
  if (skipped.length > 0) {
    out.push("Skipped:");
    for (const s of skipped) out.push(`  ${s.tracks.toLocaleString("en")} tracks: ${s.reason}`);
  }
  const at10k = steps.find((s) => s.tracks === 10_000);
  let verdict: string | null = null;
  if (at10k) {
    const p95 = Math.max(pct(at10k.members.totalMs, 95), pct(at10k.nonMembers.totalMs, 95));
    verdict = `p95 at 10,000 tracks (worse of members/non-members): ${f1(p95)} ms — ${p95 < 50 ? "under" : "NOT under"} 50 ms`;
    out.push(verdict);
    at10k.laterPasses.forEach((p, i) => {
      const p95n = Math.max(pct(p.members.totalMs, 95), pct(p.nonMembers.totalMs, 95));
      out.push(`  pass ${i + 2}: ${f1(p95n)} ms — ${p95n < 50 ? "under" : "NOT under"} 50 ms`);
    });
  }
  out.push(`run time ${(elapsedS() / 60).toFixed(1)} min`);
  process.stdout.write(`${out.join("\n")}\n`);
  const summary = (r: SetResult) => ({
    n: r.n,
    p50: pct(r.totalMs, 50),
    p95: pct(r.totalMs, 95),
    max: pct(r.totalMs, 100),
    phase1P50: pct(r.phase1Ms, 50),
    phase1P95: pct(r.phase1Ms, 95),
    phase1Max: pct(r.phase1Ms, 100),
    restP50: pct(r.restMs, 50),
    restP95: pct(r.restMs, 95),
    restMax: pct(r.restMs, 100),
    selectP50: pct(r.selectMs, 50),
    selectP95: pct(r.selectMs, 95),
    jsP50: pct(r.jsMs, 50),
    jsP95: pct(r.jsMs, 95),
    keysJsP50: pct(r.keysJsMs, 50),
    probesP50: r.probesMs.length > 0 ? pct(r.probesMs, 50) : null,
    queryKeysP50: pct(r.queryKeys, 50),
    knownKeysP50: pct(r.knownKeys, 50),
    phase1KeysP50: pct(r.phase1Keys, 50),
    phase1RowsP50: pct(r.phase1Rows, 50),
    phase1RowsMax: pct(r.phase1Rows, 100),
    bestHitsP50: pct(r.bestHits, 50),
    alignedP50: pct(r.aligned, 50),
    hits: r.hits,
    misses: r.misses,
    otherStatements: r.otherStatements,
    bothPhases: r.bothPhases,
  });
  const json = {
    postgres: pgVersion,
    settings,
    members: memberQueries.length,
    membersByVariant: src.members.filter((m) => m.queryIsVariant).length,
    nonMembers: nonMemberQueries.length,
    donors: realDonors,
    donorMixes: nMixes,
    donorMinutes: donorHours * 60,
    synthetic: {
      windowFrames: WINDOW_FRAMES,
      donorsPerTrack: DONORS_PER_TRACK,
      trackSeconds: [TRACK_MIN_S, TRACK_MAX_S],
    },
    steps: steps.map((s) => ({
      tracks: s.tracks,
      audioHours: s.audioHours,
      indexRows: s.indexRows,
      loadS: s.loadS,
      copyRowsPerS: s.copyRowsPerS,
      countsS: s.countsS,
      countRows: s.countRows,
      hashIdxS: s.hashIdxS,
      brinS: s.brinS,
      vacuumS: s.vacuumS,
      loadTotalS: loadTotalS(s),
      measureS: s.measureS,
      sizes: s.sizes,
      bytesPerHour: s.bytesPerHour,
      hashIdxBytesPerHour: s.hashIdxBytesPerHour,
      countsBytesPerHour: s.countsBytesPerHour,
      fullMismatches: s.fullMismatches,
      keyMismatches: s.keyMismatches,
      checkedKeys: s.checkedKeys,
      members: summary(s.members),
      nonMembers: summary(s.nonMembers),
      laterPasses: s.laterPasses.map((p) => ({
        members: summary(p.members),
        nonMembers: summary(p.nonMembers),
      })),
      cpu: s.cpu,
      plans: s.plans.map(({ lines: _lines, ...p }) => p),
    })),
    skipped,
    verdict10k: verdict,
    runMinutes: elapsedS() / 60,
  };
  process.stdout.write(`LOOKUP_JSON ${JSON.stringify(json)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`lookup: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  });
}
