/**
 * Section 3: decode speed per format, in this process, against ffmpeg decoding the same file to f32 PCM;
 * and the pipeline's whole analysis cost per format (probe, then every registered stage together over one
 * decode), as the orchestrator runs it.
 */
import { spawnSync } from "node:child_process";
import { statSync } from "node:fs";
import pino from "pino";
import { decodeAudio } from "../../src/audio/decode/index.js";
import { openAudioFile } from "../../src/audio/open.js";
import { memoryCatalogue } from "../../src/fingerprint/index.js";
import { analyseTogether } from "../../src/pipeline/analyse.js";
import type { UploadFacts } from "../../src/pipeline/stage.js";
import { DEFAULT_STAGES } from "../../src/pipeline/stages/index.js";
import { ephemeralProvenance } from "../../src/provenance/service.js";
import { detectWatermark } from "../../src/watermark/index.js";
import { fmt, median, now, table } from "./util.js";

const LIMITS = { maxDurationS: 4 * 3600 };

export interface DecodeCase {
  format: string;
  label: string;
  file: string;
  sizeBytes: number;
  audioS: number;
  runs: number;
  oursS: number;
  oursRealTime: number;
  ffmpegS: number | null;
  ffmpegRealTime: number | null;
  /** ours ×RT / ffmpeg ×RT: below 1 means we are slower. */
  ratio: number | null;
  pipeline: { probeMs: number; analysisS: number; totalS: number; realTime: number };
}

/** Decodes a whole file with Earmark's decoders; the time excludes opening and probing. */
export async function ourDecode(file: string): Promise<{ seconds: number; audioS: number }> {
  const { source: src, probe } = await openAudioFile(file, LIMITS);
  const t = now();
  let frames = 0;
  let rate = probe.sampleRate;
  for await (const chunk of decodeAudio(src, probe, LIMITS)) {
    frames += chunk.channels[0]!.length;
    rate = chunk.sampleRate;
  }
  return { seconds: now() - t, audioS: frames / rate };
}

function ffmpegDecode(file: string): number | null {
  const t = now();
  const r = spawnSync("ffmpeg", ["-v", "error", "-i", file, "-f", "f32le", "-y", "/dev/null"], {
    encoding: "utf8",
  });
  if (r.error || r.status !== 0) return null;
  return now() - t;
}

const silent = pino({ level: "silent" });
const provenance = ephemeralProvenance();
const BENCH_KEY = new Uint8Array(32).fill(7);

async function pipelineOnce(file: string) {
  const t0 = now();
  const { source: src, probe } = await openAudioFile(file, LIMITS);
  const t1 = now();
  const upload: UploadFacts = {
    id: "upl_bench",
    accountId: "acc_bench",
    metadata: { kind: "music" },
    sha256: "",
    sizeBytes: src.size,
    probe,
  };
  const outcomes = await analyseTogether(
    DEFAULT_STAGES,
    { upload, source: src, probe, signals: {} },
    {
      signal: new AbortController().signal,
      logger: silent,
      limits: LIMITS,
      catalogue: memoryCatalogue(),
      provenance: await provenance,
      // Detection with a key nothing was marked with: the full cost of the stage, no link to look up.
      watermarks: {
        detect: (audio, signal) => detectWatermark(audio, { key: BENCH_KEY, signal }),
        link: async () => null,
      },
    },
  );
  const t2 = now();
  const failed = outcomes.find((o) => !o.ok);
  if (failed && !failed.ok) throw new Error(`${file}: stage ${failed.stage.name}: ${String(failed.error)}`);
  const decoded = outcomes.find((o) => o.stage.name === "decode");
  const audioS = decoded?.ok ? (decoded.data as { durationS: number }).durationS : 0;
  return { probeS: t1 - t0, analysisS: t2 - t1, totalS: t2 - t0, audioS };
}

export async function runDecode(
  files: { format: string; label: string; file: string }[],
  opts: { runs: number; ffmpeg: boolean },
  say: (line: string) => void,
): Promise<DecodeCase[]> {
  const cases: DecodeCase[] = [];
  for (const f of files) {
    // Warm-up (WASM compile, JIT of the decoder and the stats code), then the three measurements taken in
    // turn each run, so load from other work on a shared machine falls on all of them alike.
    await ourDecode(f.file);
    await pipelineOnce(f.file);
    const ours: number[] = [];
    const ff: number[] = [];
    const pipe: Awaited<ReturnType<typeof pipelineOnce>>[] = [];
    let audioS = 0;
    for (let r = 0; r < opts.runs; r++) {
      const d = await ourDecode(f.file);
      ours.push(d.seconds);
      audioS = d.audioS;
      if (opts.ffmpeg) {
        const s = ffmpegDecode(f.file);
        if (s !== null) ff.push(s);
      }
      pipe.push(await pipelineOnce(f.file));
    }
    const oursS = median(ours);
    const ffmpegS = ff.length > 0 ? median(ff) : null;
    const totalS = median(pipe.map((p) => p.totalS));
    const c: DecodeCase = {
      format: f.format,
      label: f.label,
      file: f.file,
      sizeBytes: statSync(f.file).size,
      audioS,
      runs: opts.runs,
      oursS,
      oursRealTime: audioS / oursS,
      ffmpegS,
      ffmpegRealTime: ffmpegS ? audioS / ffmpegS : null,
      ratio: ffmpegS ? ffmpegS / oursS : null,
      pipeline: {
        probeMs: median(pipe.map((p) => p.probeS)) * 1000,
        analysisS: median(pipe.map((p) => p.analysisS)),
        totalS,
        realTime: audioS / totalS,
      },
    };
    cases.push(c);
    say(
      `  ${f.label}: ours ${fmt(c.oursRealTime, 0)}×RT, ffmpeg ${fmt(c.ffmpegRealTime, 0)}×RT, pipeline ${fmt(c.pipeline.realTime, 0)}×RT`,
    );
  }
  return cases;
}

export function decodeTable(cases: DecodeCase[]): string {
  return table(
    [
      "format",
      "MiB",
      "audio s",
      "ours s",
      "ours ×RT",
      "ffmpeg s",
      "ffmpeg ×RT",
      "ours/ffmpeg",
      "probe ms",
      "stages s",
      "pipeline ×RT",
    ],
    cases.map((c) => [
      c.label,
      fmt(c.sizeBytes / 1024 / 1024, 2),
      fmt(c.audioS, 1),
      fmt(c.oursS, 3),
      fmt(c.oursRealTime, 0),
      fmt(c.ffmpegS, 3),
      fmt(c.ffmpegRealTime, 0),
      fmt(c.ratio, 2),
      fmt(c.pipeline.probeMs, 1),
      fmt(c.pipeline.analysisS, 3),
      fmt(c.pipeline.realTime, 0),
    ]),
  );
}
