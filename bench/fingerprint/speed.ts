/**
 * Extraction speed against fpcalc on the same files, decode included, one core, alternating runs.
 *
 *   npx tsx bench/fingerprint/speed.ts [--runs 7] FILE...
 *
 * For each file: `fpcalc -raw -length 0 FILE` (a process per run: Chromaprint's own decoding through
 * FFmpeg's libraries) against Earmark's `fingerprintFile` in this process (Earmark's decoders, the 4 kHz
 * downsampler, Meyda spectra, peaks and hashes), alternately, after one warm-up run of each. Prints the
 * median wall time of each, × real time, and the ratio (Earmark ÷ fpcalc throughput; ≥ 1 means Earmark is at
 * least as fast), and the
 * median time of Earmark's decode alone.
 */
import { parseArgs } from "node:util";
import { fingerprintFile } from "../../src/fingerprint/index.js";
import { ourDecode } from "../ingest/decode.js";
import { median } from "../ingest/util.js";
import { requireTools, run } from "./transforms.js";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { runs: { type: "string", default: "7" } },
    allowPositionals: true,
  });
  if (positionals.length === 0) {
    process.stderr.write("usage: tsx bench/fingerprint/speed.ts [--runs N] FILE...\n");
    process.exitCode = 2;
    return;
  }
  requireTools(["fpcalc"]);
  const runs = Math.max(1, Number(values.runs));
  const rows: string[] = [];
  const json: unknown[] = [];
  for (const file of positionals) {
    const fp = await fingerprintFile(file); // warm-up (and the duration)
    await run("fpcalc", ["-raw", "-length", "0", file]);
    const ours: number[] = [];
    const theirs: number[] = [];
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const r = await run("fpcalc", ["-raw", "-length", "0", file]);
      theirs.push(performance.now() - t);
      if (!/FINGERPRINT=/.test(r.stdout)) throw new Error(`fpcalc failed on ${file}: ${r.stderr}`);
      t = performance.now();
      await fingerprintFile(file);
      ours.push(performance.now() - t);
    }
    const decodes: number[] = [];
    for (let i = 0; i < 3; i++) decodes.push((await ourDecode(file)).seconds * 1000);
    const decodeMs = median(decodes);
    const o = median(ours);
    const f = median(theirs);
    const seconds = fp.durationS;
    rows.push(
      `| ${file.split("/").pop()} | ${seconds.toFixed(0)} s | ${f.toFixed(0)} ms (${(seconds / (f / 1000)).toFixed(0)}×) | ` +
        `${o.toFixed(0)} ms (${(seconds / (o / 1000)).toFixed(0)}×) | ${(f / o).toFixed(2)} | ${decodeMs.toFixed(0)} ms |`,
    );
    json.push({
      file,
      seconds,
      runs,
      fpcalcMedianMs: f,
      earmarkMedianMs: o,
      ratio: f / o,
      earmarkDecodeMs: decodeMs,
    });
  }
  process.stdout.write(
    "| file | audio | fpcalc median (× real time) | Earmark median (× real time) | ratio Earmark/fpcalc | of which Earmark's decode |\n" +
      "|---|---:|---:|---:|---:|---:|\n" +
      `${rows.join("\n")}\n\nSPEED_JSON ${JSON.stringify(json)}\n`,
  );
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
