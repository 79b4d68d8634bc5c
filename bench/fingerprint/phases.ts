/**
 * Why a query misses its own reference: aligns it with that reference alone, at the query's own frame phase
 * and at the half-hop phase (`Fingerprint.halfHopPhase`), with no candidate selection, and prints the figures
 * the verdict reads (coverage, density, runner-up), so that a miss can be told apart as frame phase (the
 * half-hop phase is much denser), coverage threshold, or loop ambiguity (high runner-up).
 *
 *   npx tsx bench/fingerprint/phases.ts --corpus DIR ID@TRANSFORM...
 *
 * The whole-index answer (candidate selection included) is the evaluation's (`eval.ts`).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { QueryPhase } from "../../src/fingerprint/extract.js";
import { fingerprintFile } from "../../src/fingerprint/index.js";
import { align, ReferenceTable } from "../../src/fingerprint/match.js";
import { queryProbes } from "../../src/fingerprint/probes.js";
import { readManifest } from "./corpus.js";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { corpus: { type: "string" } },
    allowPositionals: true,
  });
  if (!values.corpus || positionals.length === 0) {
    process.stderr.write("usage: tsx bench/fingerprint/phases.ts --corpus DIR ID@TRANSFORM...\n");
    process.exitCode = 2;
    return;
  }
  const dir = values.corpus;
  // Before the corpus build has written its manifest, the files are where it puts them.
  const manifest = existsSync(join(dir, "manifest.json")) ? await readManifest(dir) : null;
  const filesOf = (id: string, transform: string) => {
    if (!manifest) return { ref: `audio/${id}.wav`, query: `variants/${transform}/${id}.wav` };
    const entry = manifest.entries.find((e) => e.id === id);
    const variant = manifest.variants.find((v) => v.refId === id && v.transform === transform);
    return entry && variant ? { ref: entry.file, query: variant.file } : null;
  };
  const cell = (x: number | string) => String(x).padStart(9);
  process.stdout.write(
    `${"query".padEnd(44)}${["phase", "verdict", "cover", "density", "runnerUp", "inliers", "segs"].map(cell).join("")}\n`,
  );
  for (const name of positionals) {
    const [id = "", transform = ""] = name.split("@");
    const files = filesOf(id, transform);
    if (!files) throw new Error(`${name}: not in the corpus manifest`);
    const ref = await fingerprintFile(join(dir, files.ref));
    const query = await fingerprintFile(join(dir, files.query));
    const table = new ReferenceTable(ref);
    const phases: [string, QueryPhase][] = [["0", query]];
    if (query.halfHopPhase) phases.push(["half", query.halfHopPhase()]);
    for (const [phase, q] of phases) {
      const a = align(queryProbes(q.peakList), table);
      const figures = a
        ? [
            phase,
            a.verdict === "same-recording" ? "same" : "shared",
            a.queryCoverage,
            a.density,
            a.runnerUp,
            a.inliers,
            `${a.matchedSegments}/${a.activeSegments}`,
          ]
        : [phase, "none", "-", "-", "-", "-", "-"];
      process.stdout.write(`${name.padEnd(44)}${figures.map(cell).join("")}\n`);
    }
  }
}

await main();
