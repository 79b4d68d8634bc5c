/**
 * Phase-1 hits on the evaluation corpus: how many of a query's phase-1 keys the recording it should be
 * related to holds, against the best unrelated recording's chance hits. It answers whether a rule on the
 * hits alone (a floor, or fewer candidates) could spare new audio its alignments of unrelated candidates.
 *
 *   npx tsx bench/fingerprint/phase1-hits.ts [--corpus /tmp/earmark-fp-corpus]
 *
 * The index is the evaluation's (bench/fingerprint/eval.ts): every reference plus the indexed side of each
 * hard-negative pair, in a `MemoryIndex`; each query goes through its phase 1 (`MemoryIndex.phase1`, then
 * `topCandidates`: at most 8 candidates). Queries:
 * - every transformed variant on disk (variants/<transform>/<id>.wav): the reference's hits and rank;
 * - every hard-negative query (the manifest's pairs): its partner's hits and rank. The evaluation asks these
 *   to come back as shared material, so the partner must be aligned;
 * - every non-member: the best chance hits.
 * A rank counts the unrelated recordings with at least as many hits. The candidates aligned today are those
 * ranked 1–8 that pass `topCandidates`.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CANDIDATES, fingerprintFile, MemoryIndex, topCandidates } from "../../src/fingerprint/index.js";
import type { Manifest } from "./corpus.js";
import { pct } from "./lookup.js";

const { values } = parseArgs({ options: { corpus: { type: "string", default: "/tmp/earmark-fp-corpus" } } });
const corpus = values.corpus;
const manifestPath = join(corpus, "manifest.json");
if (!existsSync(manifestPath))
  throw new Error(`no ${manifestPath}: build the corpus first (bench/fingerprint/README.md)`);
const m = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
const indexed = m.entries.filter((e) => e.role === "reference" || e.role === "hard-negative-index");
const position = new Map(indexed.map((e, i) => [e.id, i]));

const index = new MemoryIndex<number>();
process.stderr.write(`indexing ${indexed.length} recordings\n`);
for (const [i, e] of indexed.entries()) index.add(i, await fingerprintFile(join(corpus, e.file)));

/** Phase 1 for one file: per indexed recording (by position in `indexed`), its hits on the query's keys. */
async function hitsOf(file: string): Promise<Map<number, number>> {
  return index.phase1(await fingerprintFile(file)).hits;
}

interface Row {
  related: number;
  rank: number;
  bestOther: number;
  aligned: boolean;
  id: string;
}

/** The related recording's hits and rank, the best other's hits, and whether phase 2 aligns it today. */
function rowOf(hits: Map<number, number>, related: number, id: string): Row {
  const mine = hits.get(related) ?? 0;
  let rank = 1;
  let bestOther = 0;
  for (const [t, h] of hits) {
    if (t === related) continue;
    if (h >= mine) rank++;
    bestOther = Math.max(bestOther, h);
  }
  const aligned = topCandidates(hits).some((c) => c.key === related);
  return { related: mine, rank, bestOther, aligned, id };
}

function summary(name: string, rows: readonly Row[]): string {
  const rel = rows.map((r) => r.related);
  const other = rows.map((r) => r.bestOther);
  const low = rows
    .filter((r) => r.related < 40)
    .map((r) => `${r.id} ${r.related}`)
    .join(", ");
  return [
    `| ${name} | ${rows.length} | ${Math.min(...rel)} / ${pct(rel, 5)} / ${pct(rel, 50)}`,
    `${pct(other, 50)} / ${pct(other, 95)} / ${Math.max(...other)}`,
    `${rows.filter((r) => r.rank > 4).length} / ${rows.filter((r) => r.rank > CANDIDATES).length}`,
    `${rows.filter((r) => !r.aligned).length}`,
    `${low || "–"} |`,
  ].join(" | ");
}

const out: string[] = [
  `Index: ${indexed.length} recordings (the evaluation's). Phase 1 as in src/fingerprint/index.ts. Hits are of the query's phase-1 keys (≤ 600).`,
  "",
  "| queries | n | related recording's hits: min / p5 / p50 | best unrelated's hits: p50 / p95 / max | related ranked > 4 / > 8 | related not aligned today | related below 40 hits |",
  "|---|---|---|---|---|---|---|",
];
const variantsDir = join(corpus, "variants");
for (const t of existsSync(variantsDir) ? readdirSync(variantsDir).sort() : []) {
  const rows: Row[] = [];
  for (const f of readdirSync(join(variantsDir, t)).filter((x) => x.endsWith(".wav"))) {
    const id = f.slice(0, -4);
    const at = position.get(id);
    if (at === undefined) continue;
    rows.push(rowOf(await hitsOf(join(variantsDir, t, f)), at, id));
  }
  if (rows.length > 0) out.push(summary(`variant ${t}`, rows));
}
const byId = new Map(m.entries.map((e) => [e.id, e]));
const pairRows = new Map<string, Row[]>();
for (const p of m.pairs) {
  const q = byId.get(p.queryId);
  const at = position.get(p.indexId);
  if (!q || at === undefined) continue;
  const rows = pairRows.get(p.kind) ?? [];
  rows.push(rowOf(await hitsOf(join(corpus, q.file)), at, q.id));
  pairRows.set(p.kind, rows);
}
for (const [kind, rows] of pairRows) out.push(summary(`hard negative: ${kind}`, rows));
const chance: number[] = [];
for (const e of m.entries.filter((x) => x.role === "non-member"))
  chance.push(Math.max(0, ...(await hitsOf(join(corpus, e.file))).values()));
out.push(
  "",
  `Non-members (${chance.length}): the best recording's hits p50 / p95 / max ${pct(chance, 50)} / ${pct(chance, 95)} / ${Math.max(...chance)}.`,
);
process.stdout.write(`${out.join("\n")}\n`);
