/**
 * Extraction speed against fpcalc on the same files, decode included, one core, alternating runs.
 *
 *   npx tsx bench/fingerprint/speed.ts [--runs 7] FILE...
 *
 * For each file: `fpcalc -raw -length 0 FILE` (a process per run: Chromaprint's own decoding through
 * FFmpeg's libraries) against Earmark's `fingerprintFile` in this process (Earmark's decoders, the 4 kHz
 * downsampler, Meyda spectra, peaks and hashes), alternately, after one warm-up run of each. Prints the
 * median wall time of each, × real time, and the ratio (Earmark ÷ fpcalc throughput; ≥ 1 means Earmark is at
 * least as fast), and the median time of Earmark's decode alone; then the mean CPU time of each (fpcalc's from
 * the kernel's accounting of ended children, 10 ms steps) and their ratio, which a busy machine distorts less;
 * last, the mean CPU time of the query's half-hop phase (`Fingerprint.halfHopPhase`: spectra, peaks and hashes
 * again from the kept 4 kHz signal), which a lookup adds only when a second phase could help, and of its phase
 * stability (`Fingerprint.phaseStability`: the same on the middle 20 s, asked as the lookup asks it, whether it
 * reaches STABLE_PHASE, so it may stop early), which decides that for a query the first phase aligns with
 * nothing.
 *
 *   npx tsx bench/fingerprint/speed.ts --phases [--runs 7] FILE...
 *
 * adds where Earmark's time goes (medians of the runs, one streaming pass each, see phasesOf): decode, downsampling to 4 kHz, Meyda's spectra of every frame, peak picking (dB spectra, local maxima,
 * selection) and hashing, each timed on its own, and the whole extractor (all but the decode) as a check.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { decodeAudio } from "../../src/audio/decode/index.js";
import { openAudioFile } from "../../src/audio/open.js";
import { MonoDownsampler } from "../../src/fingerprint/downsample.js";
import {
  FingerprintExtractor,
  FRAME_SIZE,
  HOP,
  hashPeaks,
  PeakPicker,
  spectraOf,
} from "../../src/fingerprint/extract.js";
import { fingerprintFile, STABLE_PHASE } from "../../src/fingerprint/index.js";
import { ourDecode } from "../ingest/decode.js";
import { median } from "../ingest/util.js";
import { requireTools, run } from "./transforms.js";

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    options: { runs: { type: "string", default: "7" }, phases: { type: "boolean", default: false } },
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
    let oursCpuMs = 0;
    let halfHopCpuMs = 0;
    let stabilityCpuMs = 0;
    let theirsCpuMs: number | null = 0;
    for (let i = 0; i < runs; i++) {
      let t = performance.now();
      const children = childrenCpuMs();
      const r = await run("fpcalc", ["-raw", "-length", "0", file]);
      theirs.push(performance.now() - t);
      const after = childrenCpuMs();
      theirsCpuMs =
        theirsCpuMs === null || children === null || after === null ? null : theirsCpuMs + after - children;
      if (!/FINGERPRINT=/.test(r.stdout)) throw new Error(`fpcalc failed on ${file}: ${r.stderr}`);
      const cpu = process.cpuUsage();
      t = performance.now();
      const extracted = await fingerprintFile(file);
      ours.push(performance.now() - t);
      const used = process.cpuUsage(cpu);
      oursCpuMs += (used.user + used.system) / 1000;
      // What a lookup adds when the first phase finds no same recording: the phase stability, and the half-hop
      // phase if a second phase could help.
      const stabilityCpu = process.cpuUsage();
      extracted.phaseStability?.(STABLE_PHASE);
      const stabilityUsed = process.cpuUsage(stabilityCpu);
      stabilityCpuMs += (stabilityUsed.user + stabilityUsed.system) / 1000;
      const halfCpu = process.cpuUsage();
      extracted.halfHopPhase?.();
      const halfUsed = process.cpuUsage(halfCpu);
      halfHopCpuMs += (halfUsed.user + halfUsed.system) / 1000;
    }
    const oCpu = oursCpuMs / runs;
    const hCpu = halfHopCpuMs / runs;
    const sCpu = stabilityCpuMs / runs;
    const fCpu = theirsCpuMs === null ? null : theirsCpuMs / runs;
    const decodes: number[] = [];
    for (let i = 0; i < 3; i++) decodes.push((await ourDecode(file)).seconds * 1000);
    const decodeMs = median(decodes);
    const o = median(ours);
    const f = median(theirs);
    const seconds = fp.durationS;
    rows.push(
      `| ${file.split("/").pop()} | ${seconds.toFixed(0)} s | ${f.toFixed(0)} ms (${(seconds / (f / 1000)).toFixed(0)}×) | ` +
        `${o.toFixed(0)} ms (${(seconds / (o / 1000)).toFixed(0)}×) | ${(f / o).toFixed(2)} | ${decodeMs.toFixed(0)} ms | ` +
        `${fCpu === null ? "—" : `${fCpu.toFixed(0)} ms`} | ${oCpu.toFixed(0)} ms | ${fCpu === null ? "—" : (fCpu / oCpu).toFixed(2)} | ${hCpu.toFixed(0)} ms | ${sCpu.toFixed(0)} ms |`,
    );
    json.push({
      file,
      seconds,
      runs,
      fpcalcMedianMs: f,
      earmarkMedianMs: o,
      ratio: f / o,
      earmarkDecodeMs: decodeMs,
      fpcalcMeanCpuMs: fCpu,
      earmarkMeanCpuMs: oCpu,
      earmarkHalfHopMeanCpuMs: hCpu,
      earmarkPhaseStabilityMeanCpuMs: sCpu,
    });
  }
  process.stdout.write(
    "| file | audio | fpcalc median (× real time) | Earmark median (× real time) | ratio Earmark/fpcalc | of which Earmark's decode | fpcalc CPU, mean | Earmark CPU, mean | CPU ratio | Earmark half-hop phase CPU, mean | Earmark phase stability CPU, mean |\n" +
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
      `${rows.join("\n")}\n\nSPEED_JSON ${JSON.stringify(json)}\n`,
  );
  if (values.phases) {
    const phaseRows: string[] = [];
    const phaseJson: unknown[] = [];
    for (const file of positionals) {
      const p = await phasesOf(file, runs);
      phaseJson.push({ file, ...p });
      const cells = [p.decode, p.downsample, p.spectra, p.peaks, p.hashes].map((v) => `${v.toFixed(0)} ms`);
      const sum = p.decode + p.downsample + p.spectra + p.peaks + p.hashes;
      phaseRows.push(
        `| ${file.split("/").pop()} | ${p.frames} | ${cells.join(" | ")} | ${sum.toFixed(0)} ms | ${p.extractor.toFixed(0)} ms |`,
      );
    }
    process.stdout.write(
      "\n| file | frames | decode | downsample to 4 kHz | Meyda spectra | dB, peaks | hashes | sum | whole extractor (not decode) |\n" +
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n" +
        `${phaseRows.join("\n")}\n\nPHASES_JSON ${JSON.stringify(phaseJson)}\n`,
    );
  }
}

const LIMITS = { maxDurationS: 4 * 3600 };

/**
 * CPU time (user + system, ms) of this process's children that have ended and been waited for, from
 * /proc/self/stat (Linux; null elsewhere). In clock ticks, so 10 ms steps: the table gives the mean over the
 * runs. On a shared machine CPU time says more than wall time, which counts time spent waiting for a core.
 */
function childrenCpuMs(): number | null {
  try {
    const stat = readFileSync("/proc/self/stat", "utf8");
    // Fields after the parenthesised command name; cutime and cstime are fields 16 and 17.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return ((Number(fields[13]) + Number(fields[14])) * 1000) / CLOCK_TICKS_PER_S;
  } catch {
    return null;
  }
}
/** USER_HZ: 100 on every Linux architecture Node supports. */
const CLOCK_TICKS_PER_S = 100;

/**
 * Median milliseconds of each extraction phase over `runs` runs. One streaming pass per run, as the service
 * decodes: each chunk is timed out of the decoder, through a downsampler, and (separately) through a whole
 * extractor; then Meyda's spectra, peak picking and hashing are timed over the 4 kHz signal that pass produced
 * (kept, 2.9 MB for 3 minutes), so no phase holds the decoded audio in memory. The whole extractor's time is a
 * check on the sum of its phases.
 */
async function phasesOf(file: string, runs: number) {
  const names = ["decode", "downsample", "spectra", "peaks", "hashes", "extractor"] as const;
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<
    (typeof names)[number],
    number[]
  >;
  let frames = 0;
  for (let run = 0; run <= runs; run++) {
    // Run 0 warms up and is not counted.
    const keep = (phase: (typeof names)[number], ms: number) => {
      if (run > 0) samples[phase].push(ms);
    };
    const { source, probe } = await openAudioFile(file, LIMITS);
    const chunks = decodeAudio(source, probe, LIMITS)[Symbol.asyncIterator]();
    let decodeMs = 0;
    let downMs = 0;
    let wholeMs = 0;
    let down: MonoDownsampler | null = null;
    let extractor: FingerprintExtractor | null = null;
    const parts: Float32Array[] = [];
    for (;;) {
      let t = performance.now();
      const next = await chunks.next();
      decodeMs += performance.now() - t;
      if (next.done) break;
      const { channels, sampleRate } = next.value;
      t = performance.now();
      down ??= new MonoDownsampler(sampleRate);
      down.push(channels);
      parts.push(down.drain().slice());
      downMs += performance.now() - t;
      t = performance.now();
      extractor ??= new FingerprintExtractor(sampleRate);
      extractor.push(channels);
      wholeMs += performance.now() - t;
    }
    if (!down || !extractor) throw new Error(`${file}: no audio`);
    let t = performance.now();
    parts.push(down.finish().slice());
    downMs += performance.now() - t;
    t = performance.now();
    extractor.finish();
    wholeMs += performance.now() - t;
    keep("decode", decodeMs);
    keep("downsample", downMs);
    keep("extractor", wholeMs);

    const signal = new Float32Array(parts.reduce((n, x) => n + x.length, 0));
    parts.reduce((at, x) => {
      signal.set(x, at);
      return at + x.length;
    }, 0);
    // As the extractor asks for them: the frames of about one decoded chunk per call.
    t = performance.now();
    const spectra: Float32Array[] = [];
    const perCall = 16 * HOP;
    for (let at = 0; at + FRAME_SIZE <= signal.length; at += perCall) {
      spectra.push(
        ...spectraOf(signal.subarray(at, Math.min(signal.length, at + perCall + FRAME_SIZE - HOP))),
      );
    }
    keep("spectra", performance.now() - t);
    frames = spectra.length;

    t = performance.now();
    const picker = new PeakPicker();
    for (const spectrum of spectra) picker.add(spectrum);
    const peaks = picker.finish();
    keep("peaks", performance.now() - t);

    t = performance.now();
    hashPeaks(peaks);
    keep("hashes", performance.now() - t);
  }
  return Object.fromEntries([["frames", frames], ...names.map((n) => [n, median(samples[n])])]) as Record<
    (typeof names)[number] | "frames",
    number
  >;
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
