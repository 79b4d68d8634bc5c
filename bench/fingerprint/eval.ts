/**
 * Fingerprint evaluation harness.
 *
 *   npx tsx bench/fingerprint/eval.ts --corpus DIR [--limit N] [--jobs 1|2]
 *
 * Indexes every reference (plus the indexed side of each hard-negative pair), then queries every
 * transformed variant of every reference, every non-member and every hard-negative query, and
 * prints one row per condition and one column per fingerprinter. The last line is
 * `EVAL_JSON {...}` with all figures. `--limit N` keeps only the first N references (by id) and
 * their variants; non-members and hard negatives are always queried in full.
 *
 * Scoring rules:
 * - recall: the query counts when the first (best) result is the correct reference with the verdict
 *   "same-recording";
 * - non-members: a false match when any result is "same-recording";
 * - hard negatives: counted when the paired indexed item comes back as "same-recording"
 *   (any other same-recording answer is reported separately in the JSON);
 * - extraction speed: median over all extracted files of audio seconds / wall seconds;
 * - index size: bytes reported by the fingerprinter per hour of indexed audio.
 *
 * A new fingerprinter implements `Fingerprinter` and is added to `FINGERPRINTERS` below.
 */
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { median } from "../ingest/util.js";
import { type HardNegativeKind, type Manifest, readManifest } from "./corpus.js";
import { EarmarkFingerprinter } from "./earmark.js";
import { FpcalcFingerprinter } from "./fpcalc.js";
import { CliError, pool, probeDuration } from "./transforms.js";

export interface ReferenceInput {
  id: string;
  file: string;
}

export interface QueryMatch {
  id: string;
  verdict: "same-recording" | "shared-material";
  score: number;
}

export interface Fingerprinter {
  name: string;
  /** Fingerprints and stores the references. Called once, before any query. */
  index(refs: ReferenceInput[]): Promise<void>;
  /** Matches for one query file, best first. An empty list means "no match". */
  query(file: string): Promise<QueryMatch[]>;
  /** Bytes needed to store the index for everything passed to `index`. */
  indexBytes(): number;
  /**
   * Optional per-file extraction timings (index and query files). Without it the harness times
   * whole `query` calls, which then include matching.
   */
  extractionTimings?(): { audioSeconds: number; wallSeconds: number }[];
}

/** Every column of the table. */
export const FINGERPRINTERS: Record<string, () => Fingerprinter> = {
  fpcalc: () => new FpcalcFingerprinter(),
  earmark: () => new EarmarkFingerprinter(),
};

interface Query {
  file: string;
  kind: "variant" | "non-member" | "hard-negative";
  transform?: string;
  expectId?: string;
  pairKind?: HardNegativeKind;
  pairedIndexId?: string;
  id: string;
}

interface ColumnResult {
  name: string;
  recall: Record<string, { hit: number; n: number }>;
  recallAll: { hit: number; n: number };
  nonMemberFalse: { count: number; n: number; ids: string[] };
  hardNegative: Record<HardNegativeKind | "all", { count: number; n: number; ids: string[] }>;
  hardNegativeAnySame: number;
  /**
   * Hard negatives that come back as the issue asks: their partner among the matches as shared material
   * (and not as the same recording); `ids` are the queries that do not.
   */
  hardNegativeShared: Record<HardNegativeKind | "all", { count: number; n: number; ids: string[] }>;
  misses: Record<string, string[]>;
  speedXRealtimeMedian: number;
  indexBytes: number;
  indexBytesPerHour: number;
  indexSeconds: number;
  querySeconds: number;
}

type PerKind = ColumnResult["hardNegative"];
const HARD_NEGATIVE_CELLS = ["soundfont", "stem", "loop", "all"] as const;

function perKind(): PerKind {
  const cell = () => ({ count: 0, n: 0, ids: [] as string[] });
  return { soundfont: cell(), stem: cell(), loop: cell(), all: cell() };
}

/** Counts one hard-negative query in its kind's cell and in "all"; `listed` goes to both cells' ids. */
function tally(cells: PerKind, kind: HardNegativeKind, counted: boolean, listed: string | null): void {
  for (const cell of [cells[kind], cells.all]) {
    cell.n++;
    if (counted) cell.count++;
    if (listed !== null) cell.ids.push(listed);
  }
}

function buildQueries(m: Manifest, dir: string, refIds: Set<string>): Query[] {
  const qs: Query[] = [];
  for (const v of m.variants) {
    if (!refIds.has(v.refId)) continue;
    qs.push({
      file: join(dir, v.file),
      kind: "variant",
      transform: v.transform,
      expectId: v.refId,
      id: `${v.refId}@${v.transform}`,
    });
  }
  for (const e of m.entries.filter((x) => x.role === "non-member")) {
    qs.push({ file: join(dir, e.file), kind: "non-member", id: e.id });
  }
  const byId = new Map(m.entries.map((e) => [e.id, e]));
  for (const p of m.pairs) {
    const q = byId.get(p.queryId);
    if (!q) continue;
    qs.push({
      file: join(dir, q.file),
      kind: "hard-negative",
      pairKind: p.kind,
      pairedIndexId: p.indexId,
      id: q.id,
    });
  }
  return qs;
}

async function evaluate(
  fp: Fingerprinter,
  refs: ReferenceInput[],
  refHours: number,
  queries: Query[],
  transforms: string[],
  jobs: number,
): Promise<ColumnResult> {
  const t0 = performance.now();
  await fp.index(refs);
  const indexSeconds = (performance.now() - t0) / 1000;
  process.stderr.write(`[eval] ${fp.name}: indexed ${refs.length} items in ${indexSeconds.toFixed(1)} s\n`);

  const res: ColumnResult = {
    name: fp.name,
    recall: Object.fromEntries(transforms.map((t) => [t, { hit: 0, n: 0 }])),
    recallAll: { hit: 0, n: 0 },
    nonMemberFalse: { count: 0, n: 0, ids: [] },
    hardNegative: perKind(),
    hardNegativeAnySame: 0,
    hardNegativeShared: perKind(),
    misses: {},
    speedXRealtimeMedian: Number.NaN,
    indexBytes: 0,
    indexBytesPerHour: 0,
    indexSeconds,
    querySeconds: 0,
  };
  const queryTimings: number[] = [];
  const t1 = performance.now();
  let done = 0;
  await pool(queries, jobs, async (q) => {
    const qs = performance.now();
    const matches = await fp.query(q.file);
    const wall = (performance.now() - qs) / 1000;
    if (!fp.extractionTimings) queryTimings.push((await probeDuration(q.file)) / wall);
    const same = matches.filter((x) => x.verdict === "same-recording");
    if (q.kind === "variant" && q.transform && q.expectId) {
      const top = matches[0];
      const ok = top !== undefined && top.id === q.expectId && top.verdict === "same-recording";
      const cell = res.recall[q.transform];
      if (cell) {
        cell.n++;
        if (ok) cell.hit++;
      }
      res.recallAll.n++;
      if (ok) res.recallAll.hit++;
      else {
        const list = res.misses[q.transform] ?? [];
        list.push(q.expectId);
        res.misses[q.transform] = list;
      }
    } else if (q.kind === "non-member") {
      res.nonMemberFalse.n++;
      if (same.length > 0) {
        res.nonMemberFalse.count++;
        res.nonMemberFalse.ids.push(`${q.id}->${same[0]?.id}`);
      }
    } else if (q.kind === "hard-negative" && q.pairKind) {
      const hit = same.some((x) => x.id === q.pairedIndexId);
      tally(res.hardNegative, q.pairKind, hit, hit ? q.id : null);
      if (same.length > 0) res.hardNegativeAnySame++;
      const shared = !hit && matches.some((x) => x.id === q.pairedIndexId && x.verdict === "shared-material");
      tally(res.hardNegativeShared, q.pairKind, shared, shared ? null : q.id);
    }
    done++;
    if (done % 250 === 0) process.stderr.write(`[eval] ${fp.name}: ${done}/${queries.length} queries\n`);
  });
  res.querySeconds = (performance.now() - t1) / 1000;
  const timings = fp.extractionTimings?.();
  res.speedXRealtimeMedian = timings
    ? median(timings.filter((t) => t.wallSeconds > 0).map((t) => t.audioSeconds / t.wallSeconds))
    : median(queryTimings);
  res.indexBytes = fp.indexBytes();
  res.indexBytesPerHour = refHours > 0 ? res.indexBytes / refHours : 0;
  return res;
}

function pad(s: string, w: number, right = false): string {
  return right ? s.padStart(w) : s.padEnd(w);
}

function printTable(cols: ColumnResult[], transforms: string[]): string {
  const rows: [string, ...string[]][] = [];
  const frac = (k: number, n: number) => `${k}/${n} (${n > 0 ? ((100 * k) / n).toFixed(1) : "-"}%)`;
  for (const t of transforms) {
    rows.push([`recall ${t}`, ...cols.map((c) => frac(c.recall[t]?.hit ?? 0, c.recall[t]?.n ?? 0))]);
  }
  rows.push(["recall all transforms", ...cols.map((c) => frac(c.recallAll.hit, c.recallAll.n))]);
  rows.push([
    "false matches, non-members",
    ...cols.map((c) => `${c.nonMemberFalse.count} of ${c.nonMemberFalse.n}`),
  ]);
  const hardNegativeRows = [
    ["as same-recording", (c: ColumnResult) => c.hardNegative],
    ["as shared material with its partner", (c: ColumnResult) => c.hardNegativeShared],
  ] as const;
  for (const [what, cells] of hardNegativeRows) {
    for (const k of HARD_NEGATIVE_CELLS) {
      rows.push([`hard neg. ${what}: ${k}`, ...cols.map((c) => `${cells(c)[k].count} of ${cells(c)[k].n}`)]);
    }
  }
  rows.push([
    "extraction speed (x real time, median)",
    ...cols.map((c) => c.speedXRealtimeMedian.toFixed(0)),
  ]);
  rows.push([
    "index bytes per hour of audio",
    ...cols.map((c) => Math.round(c.indexBytesPerHour).toString()),
  ]);
  rows.push([
    "index time (s) / query time (s)",
    ...cols.map((c) => `${c.indexSeconds.toFixed(0)} / ${c.querySeconds.toFixed(0)}`),
  ]);
  const header: [string, ...string[]] = ["condition", ...cols.map((c) => c.name)];
  const w0 = Math.max(header[0].length, ...rows.map((r) => r[0].length));
  const ws = cols.map((_, i) =>
    Math.max(header[i + 1]?.length ?? 0, ...rows.map((r) => r[i + 1]?.length ?? 0)),
  );
  const line = (r: string[]) =>
    `| ${pad(r[0] ?? "", w0)} | ${ws.map((w, i) => pad(r[i + 1] ?? "", w, true)).join(" | ")} |`;
  const sep = `|${"-".repeat(w0 + 2)}|${ws.map((w) => `${"-".repeat(w + 1)}:`).join("|")}|`;
  return [line(header), sep, ...rows.map(line)].join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpus: { type: "string" },
      limit: { type: "string" },
      jobs: { type: "string", default: "2" },
      only: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help || !values.corpus) {
    process.stdout.write(
      "usage: tsx bench/fingerprint/eval.ts --corpus DIR [--limit N] [--jobs 1|2] [--only name,name]\n" +
        `fingerprinters: ${Object.keys(FINGERPRINTERS).join(", ")}\n`,
    );
    if (!values.help) process.exitCode = 2;
    return;
  }
  const started = performance.now();
  const dir = values.corpus;
  const m = await readManifest(dir);
  const jobs = Math.min(2, Math.max(1, Number(values.jobs)));
  const limit = values.limit === undefined ? Number.POSITIVE_INFINITY : Number(values.limit);
  if (!Number.isFinite(limit) && values.limit !== undefined) throw new CliError("--limit must be a number");
  const names = values.only ? values.only.split(",") : Object.keys(FINGERPRINTERS);
  for (const n of names) {
    if (!FINGERPRINTERS[n])
      throw new CliError(`unknown fingerprinter ${n}; known: ${Object.keys(FINGERPRINTERS)}`);
  }
  if (m.variants.length === 0)
    throw new CliError(`${dir}/manifest.json has no variants; rerun corpus.ts without --skip-variants`);

  const refEntries = m.entries
    .filter((e) => e.role === "reference")
    .sort((a, b) => a.id.localeCompare(b.id))
    .slice(0, limit);
  const indexEntries = [...refEntries, ...m.entries.filter((e) => e.role === "hard-negative-index")];
  const refIds = new Set(refEntries.map((e) => e.id));
  // Pairs whose indexed side was cut by --limit cannot be evaluated.
  const indexedIds = new Set(indexEntries.map((e) => e.id));
  const mm: Manifest = { ...m, pairs: m.pairs.filter((p) => indexedIds.has(p.indexId)) };
  const refs = indexEntries.map((e) => ({ id: e.id, file: join(dir, e.file) }));
  const refHours = indexEntries.reduce((s, e) => s + e.durationSec, 0) / 3600;
  const queries = buildQueries(mm, dir, refIds);
  const transforms = m.transforms.map((t) => t.name);
  process.stderr.write(
    `[eval] ${refs.length} indexed items (${refEntries.length} references, ${refHours.toFixed(2)} h), ` +
      `${queries.length} queries\n`,
  );

  const cols: ColumnResult[] = [];
  for (const n of names) {
    const make = FINGERPRINTERS[n] as () => Fingerprinter;
    cols.push(await evaluate(make(), refs, refHours, queries, transforms, jobs));
  }
  const elapsed = (performance.now() - started) / 1000;
  const nonMembers = m.entries.filter((e) => e.role === "non-member").length;
  process.stdout.write(
    `corpus ${dir}: ${refEntries.length} references (+${indexEntries.length - refEntries.length} hard-negative index items), ` +
      `${nonMembers} non-members, ${mm.pairs.length} hard-negative pairs, ${queries.length} queries\n\n`,
  );
  process.stdout.write(`${printTable(cols, transforms)}\n\n`);
  for (const c of cols) {
    const missing = c.hardNegativeShared.all.ids;
    if (missing.length > 0)
      process.stdout.write(
        `${c.name}: hard negatives not reported as shared material: ${missing.join(", ")}\n`,
      );
  }
  process.stdout.write(`run time ${elapsed.toFixed(1)} s\n`);
  const json = {
    corpus: dir,
    references: refEntries.length,
    indexedItems: indexEntries.length,
    indexedHours: refHours,
    nonMembers,
    hardNegativePairs: mm.pairs.length,
    queries: queries.length,
    runSeconds: elapsed,
    columns: cols,
  };
  process.stdout.write(`EVAL_JSON ${JSON.stringify(json)}\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`eval: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  });
}
