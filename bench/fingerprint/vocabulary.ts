/**
 * How far the lookup bench's synthetic index (bench/fingerprint/lookup.ts) is from a real one, measured where
 * both exist: at the size of the evaluation corpus.
 *
 *   npx tsx bench/fingerprint/vocabulary.ts [--corpus /tmp/earmark-fp-corpus] [--donors 40] [--mixes 150] [--seed 1]
 *
 * A real catalogue cannot be had here, but the corpus's references can be indexed as they are, and the
 * bench's track maker can build a synthetic index of the same number of tracks with the same lengths (each
 * synthetic track takes the length of one reference), from donor material of three kinds:
 * - the bench's default: `--donors` references (collages of 4 of them per track);
 * - every reference as a donor;
 * - every reference plus `--mixes` two-file mixes of them (`donorMixes`, the bench's `--mixes`).
 * The non-member queries (corpus role "non-member", never in any index) are then looked up against each
 * index in memory (`MemoryIndex.phase1`, the evaluation's phase 1: `queryKeys`, `rarestKeys`,
 * `topCandidates`), and the script prints per index: distinct hash values (the count table's rows), index
 * rows per value, and per query the share of its keys the index holds, the posting rows of phase 1's keys,
 * the hits of the best candidate (all chance: no query is in the index) and the candidates phase 2 would
 * align. A synthetic index is only as good a model as these figures are close to the real index's; the same
 * maker then builds the bench's 1,000 and 10,000 tracks, which no real index here can be compared with (the
 * last table shows how the three kinds of donor material grow to 1,000 tracks of the bench's ≈4-minute
 * length). Donors here include the bench's members (this script has no members), so its donor pool is
 * larger than the bench's at the same --donors.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import {
  CANDIDATES,
  type Fingerprint,
  fingerprintFile,
  MemoryIndex,
  queryKeys,
  type ReferenceFingerprint,
  topCandidates,
} from "../../src/fingerprint/index.js";
import { rng } from "../../test/harness/audio.js";
import type { Manifest } from "./corpus.js";
import { donorMixes, pct, TrackMaker } from "./lookup.js";

/** The tracks in a {@link MemoryIndex}, by position, and their hours of audio. */
function indexOf(tracks: readonly ReferenceFingerprint[]): { index: MemoryIndex<number>; hours: number } {
  const index = new MemoryIndex<number>();
  for (const [i, t] of tracks.entries()) index.add(i, t);
  return { index, hours: tracks.reduce((s, t) => s + t.durationS, 0) / 3600 };
}

function measure(
  name: string,
  { index, hours }: { index: MemoryIndex<number>; hours: number },
  queries: readonly Fingerprint[],
): string {
  const known: number[] = [];
  const rows: number[] = [];
  const top: number[] = [];
  const aligned: number[] = [];
  for (const q of queries) {
    const keys = queryKeys(q);
    known.push(keys.filter((k) => index.uploadsWith(k) > 0).length / keys.length);
    const phase1 = index.phase1(q);
    rows.push(phase1.keys.reduce((s, k) => s + index.uploadsWith(k), 0));
    top.push(Math.max(0, ...phase1.hits.values()));
    aligned.push(topCandidates(phase1.hits).length);
  }
  const cells = [
    name,
    String(index.size),
    hours.toFixed(1),
    index.rows.toLocaleString("en"),
    index.hashValues.toLocaleString("en"),
    (index.rows / index.hashValues).toFixed(1),
    pct(known, 50).toFixed(2),
    `${pct(rows, 50)} / ${pct(rows, 95)}`,
    `${pct(top, 50)} / ${pct(top, 95)} / ${Math.max(...top)}`,
    (aligned.reduce((s, x) => s + x, 0) / aligned.length).toFixed(1),
  ];
  return `| ${cells.join(" | ")} |`;
}

const HEADER = [
  "| index | tracks | hours | index rows | hash values | rows per value | query keys held (p50) | phase-1 rows p50 / p95 | best candidate's hits p50 / p95 / max | candidates aligned (mean) |",
  "|---|---|---|---|---|---|---|---|---|---|",
];

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      corpus: { type: "string", default: "/tmp/earmark-fp-corpus" },
      donors: { type: "string", default: "40" },
      mixes: { type: "string", default: "150" },
      seed: { type: "string", default: "1" },
    },
  });
  const corpus = values.corpus;
  const manifestPath = join(corpus, "manifest.json");
  if (!existsSync(manifestPath))
    throw new Error(`no ${manifestPath}: build the corpus first (bench/fingerprint/README.md)`);
  const manifest = JSON.parse(readFileSync(manifestPath, "utf8")) as Manifest;
  // As lookup.ts reads the corpus: audio/<id>.wav, with the manifest's role for that id.
  const file = (id: string) => join(corpus, "audio", `${id}.wav`);
  const ids = (role: string) =>
    manifest.entries.filter((e) => e.role === role && existsSync(file(e.id))).map((e) => e.id);
  const refIds = ids("reference");
  const queryIds = ids("non-member");
  const rand = rng(Number(values.seed));
  process.stderr.write(`fingerprinting ${refIds.length} references and ${queryIds.length} non-members\n`);
  const refs: Fingerprint[] = [];
  for (const id of refIds) refs.push(await fingerprintFile(file(id)));
  const queries: Fingerprint[] = [];
  for (const id of queryIds) queries.push(await fingerprintFile(file(id)));
  const nMixes = Number(values.mixes);
  process.stderr.write(`mixing and fingerprinting ${nMixes} donor mixes\n`);
  const mixes = await donorMixes(refIds.map(file), nMixes, rand);

  const nDonors = Math.min(Number(values.donors), refs.length);
  const pools: [string, Fingerprint[]][] = [
    [`synthetic, ${nDonors} donors (lookup.ts default)`, refs.slice(0, nDonors)],
    [`synthetic, ${refs.length} donors`, refs],
    [`synthetic, ${refs.length} donors + ${nMixes} mixes`, [...refs, ...mixes]],
  ];
  const out: string[] = [];
  out.push(
    `Non-member queries: ${queries.length}. Phase 1 as in src/fingerprint/index.ts (≤ ${CANDIDATES} candidates). Same number of tracks and lengths as the real index:`,
  );
  out.push("", ...HEADER);
  out.push(measure("real: the corpus references", indexOf(refs), queries));
  for (const [name, pool] of pools) {
    const maker = new TrackMaker(pool, rand);
    out.push(measure(name, indexOf(refs.map((r) => maker.make(r.durationS))), queries));
  }
  out.push("", "Growth, with the bench's ≈4-minute synthetic tracks:", "", ...HEADER);
  for (const [name, pool] of pools) {
    const maker = new TrackMaker(pool, rand);
    for (const n of [100, 1000]) {
      const tracks = Array.from({ length: n }, () => maker.make());
      out.push(measure(name, indexOf(tracks), queries));
    }
  }
  process.stdout.write(`${out.join("\n")}\n`);
}

await main();
