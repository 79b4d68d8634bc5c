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
 *
 *   npx tsx bench/fingerprint/speed.ts --phases [--runs 7] FILE...
 *
 * adds where Earmark's time goes, phase by phase over the decoded audio held in memory (medians of the runs):
 * decode, downsampling to 4 kHz, Meyda's spectra of every frame, and the rest of the extractor (dB spectra,
 * peak picking, selection) and hashing. "rest" is the whole in-memory extraction less the downsampling and
 * spectra timed alone, so it carries their noise.
 */
import { parseArgs } from "node:util";
import { decodeAudio } from "../../src/audio/decode/index.js";
import { extractFeatureFrames } from "../../src/audio/features.js";
import { openAudioFile } from "../../src/audio/open.js";
import { ANALYSIS_RATE, MonoDownsampler } from "../../src/fingerprint/downsample.js";
import { FingerprintExtractor, FRAME_SIZE, HOP, hashPeaks } from "../../src/fingerprint/extract.js";
import { fingerprintFile } from "../../src/fingerprint/index.js";
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
  if (values.phases) {
    const phaseRows: string[] = [];
    const phaseJson: unknown[] = [];
    for (const file of positionals) {
      const p = await phasesOf(file, runs);
      phaseJson.push({ file, ...p });
      const cells = [p.decode, p.downsample, p.spectra, p.rest, p.hashes, p.total].map(
        (v) => `${v.toFixed(0)} ms`,
      );
      phaseRows.push(`| ${file.split("/").pop()} | ${p.frames} | ${cells.join(" | ")} |`);
    }
    process.stdout.write(
      "\n| file | frames | decode | downsample to 4 kHz | Meyda spectra | rest: dB, peaks | hashes | sum |\n" +
        "|---|---:|---:|---:|---:|---:|---:|---:|\n" +
        `${phaseRows.join("\n")}\n\nPHASES_JSON ${JSON.stringify(phaseJson)}\n`,
    );
  }
}

const LIMITS = { maxDurationS: 4 * 3600 };

/**
 * Median milliseconds of each extraction phase over `runs` runs. One streaming pass per run, as the service
 * decodes: each chunk is timed out of the decoder, through a downsampler of its own, and through a whole
 * extractor; Meyda's spectra are timed afterwards over the 4 kHz signal that pass produced (the one thing
 * kept), so no phase holds the decoded audio in memory.
 */
async function phasesOf(file: string, runs: number) {
  const samples: Record<"decode" | "downsample" | "spectra" | "whole" | "hashes", number[]> = {
    decode: [],
    downsample: [],
    spectra: [],
    whole: [],
    hashes: [],
  };
  let frames = 0;
  for (let run = 0; run <= runs; run++) {
    // Run 0 warms up and is not counted.
    const keep = (phase: keyof typeof samples, ms: number) => {
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
    const fp = extractor.finish();
    wholeMs += performance.now() - t;
    keep("decode", decodeMs);
    keep("downsample", downMs);
    keep("whole", wholeMs);

    const signal = new Float32Array(parts.reduce((n, x) => n + x.length, 0));
    parts.reduce((at, x) => {
      signal.set(x, at);
      return at + x.length;
    }, 0);
    t = performance.now();
    // As the extractor asks for them: the frames of about one decoded chunk per call.
    frames = 0;
    const perCall = 16 * HOP;
    for (let at = 0; at + FRAME_SIZE <= signal.length; at += perCall) {
      const piece = signal.subarray(at, Math.min(signal.length, at + perCall + FRAME_SIZE - HOP));
      frames += extractFeatureFrames(piece, HOP, ["amplitudeSpectrum"], {
        sampleRate: ANALYSIS_RATE,
        bufferSize: FRAME_SIZE,
      }).length;
    }
    keep("spectra", performance.now() - t);

    t = performance.now();
    hashPeaks(fp.peakList);
    keep("hashes", performance.now() - t);
  }
  const decode = median(samples.decode);
  const downsample = median(samples.downsample);
  const spectra = median(samples.spectra);
  const hashes = median(samples.hashes);
  const rest = Math.max(0, median(samples.whole) - downsample - spectra - hashes);
  return {
    frames,
    decode,
    downsample,
    spectra,
    rest,
    hashes,
    total: decode + downsample + spectra + rest + hashes,
  };
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
