/**
 * Ingestion benchmark: figures for the README, not pass/fail.
 *
 *   npm run bench:ingest [-- --quick] [--skip-postgres] [--only latency|throughput|decode|rss]…
 *                        [--clients N] [--uploads N] [--batch N] [--runs N] [--music FILE|DIR|PK3]
 *
 * 1. latency     upload accept latency p50/p99 and uploads/s under N concurrent clients, against a real
 *                `earmark start` (in-process worker running) on embedded PGlite, and on Postgres when
 *                DATABASE_URL is set; a 30 s 44.1 kHz stereo WAV and a 30 s MP3.
 * 2. throughput  end-to-end uploads per minute: Postgres `earmark serve` + 1 or 2 `earmark worker` processes,
 *                and the embedded single process; a fixed batch of 3-minute MP3s, first POST → last decision.
 * 3. decode      decode speed (× real time) per format, ours in-process vs `ffmpeg -f f32le` on the same file,
 *                and the analysis cost per format (probe, then all stages over one decode).
 * 4. rss         peak RSS of a 1-hour MP3 and a 1-hour WAV through receive + the whole pipeline, each in a
 *                fresh child process.
 *
 * Inputs are made from real music found on the machine (a Debian music package such as nexuiz-music; see
 * bench/ingest/inputs.ts), or a synthetic signal when there is none — the report says which. They are
 * written to a temporary directory that is removed at the end. ffmpeg is optional: without it the ffmpeg
 * columns and the M4A row are left out, and the report says so. The last line is `BENCH_JSON {...}`.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { type DecodeCase, decodeTable, runDecode } from "./ingest/decode.js";
import { multipartBody } from "./ingest/http.js";
import {
  type EncodedFormat,
  encodeTo,
  FORMAT_LABELS,
  loopFile,
  loopWav,
  type MusicPiece,
  musicPiece,
  slice,
} from "./ingest/inputs.js";
import { type LatencyCase, type LatencyInput, latencyTable, runLatency } from "./ingest/latency.js";
import { stopAll } from "./ingest/procs.js";
import { type RssCase, type RssRun, rssTable, runRss } from "./ingest/rss.js";
import { BENCH_LIMITS, postgresVersion } from "./ingest/servers.js";
import { runThroughput, type ThroughputCase, throughputTable } from "./ingest/throughput.js";
import { fmt, loadAvg, machineFacts, mib, now } from "./ingest/util.js";

const SECTIONS = ["latency", "throughput", "decode", "rss"] as const;
type Section = (typeof SECTIONS)[number];

const { values: args } = parseArgs({
  options: {
    quick: { type: "boolean", default: false },
    "skip-postgres": { type: "boolean", default: false },
    only: { type: "string", multiple: true },
    clients: { type: "string" },
    uploads: { type: "string" },
    batch: { type: "string" },
    runs: { type: "string" },
    music: { type: "string" },
    help: { type: "boolean", default: false },
  },
});

if (args.help) {
  const src = readFileSync(new URL(import.meta.url), "utf8");
  process.stdout.write(`${/\/\*\*([\s\S]*?)\*\//.exec(src)?.[1]?.replace(/^ \*( |$)/gm, "") ?? ""}\n`);
  process.exit(0);
}

function count(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} expects a whole number ≥ 1, got ${value}`);
  return n;
}

const quick = args.quick;
const only = (args.only ?? []).flatMap((o) => o.split(",")).map((o) => o.trim());
for (const o of only)
  if (!SECTIONS.includes(o as Section))
    throw new Error(`--only ${o}: expected one of ${SECTIONS.join(", ")}`);
const sections = new Set<Section>(only.length > 0 ? (only as Section[]) : SECTIONS);
const opts = {
  clients: count("clients", args.clients, quick ? 4 : 8),
  uploads: count("uploads", args.uploads, quick ? 24 : 160),
  batch: count("batch", args.batch, quick ? 6 : 40),
  runs: count("runs", args.runs, quick ? 1 : 3),
  pieceS: quick ? 30 : 180,
  latencyS: quick ? 10 : 30,
  longS: quick ? 300 : 3600,
};

const lines: string[] = [];
const say = (line = "") => {
  process.stdout.write(`${line}\n`);
  lines.push(line);
};
const notes: string[] = [];
const note = (text: string) => {
  notes.push(text);
  say(`NOTE: ${text}`);
};

const command =
  process.env.npm_lifecycle_event === "bench:ingest"
    ? `npm run bench:ingest${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(" ")}` : ""}`
    : `npx tsx bench/ingest.ts ${process.argv.slice(2).join(" ")}`.trim();
const machine = machineFacts();
const startedAt = new Date();
const t0 = now();

say("Earmark ingestion benchmark");
say("===========================");
say(`command:   ${command}${process.env.DATABASE_URL ? "   (DATABASE_URL set)" : ""}`);
say(`started:   ${startedAt.toISOString()}`);
say(`machine:   ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB, ${machine.os}`);
say(`node:      ${machine.node}`);
say(`git:       ${machine.git ?? "unknown"}`);
say(`ffmpeg:    ${machine.ffmpeg ?? "not found — reference-tool ratios and the M4A row are skipped"}`);
say(`load avg:  ${loadAvg()} (1/5/15 min) — the machine is shared; figures move with other work on it`);
say(
  `options:   sections ${[...sections].join(", ")}; ${quick ? "QUICK (smoke-test sizes); " : ""}clients ${opts.clients}, ` +
    `latency uploads/run ${opts.uploads}, runs ${opts.runs}, throughput batch ${opts.batch}`,
);
say(
  `server env: ${Object.entries(BENCH_LIMITS)
    .map(([k, v]) => `${k}=${v}`)
    .join(" ")} (so the rate limiter does not cap the benchmark); LOG_LEVEL=info`,
);

let pgVersion: string | null = null;
const pgUrl = args["skip-postgres"] ? undefined : process.env.DATABASE_URL;
if (args["skip-postgres"]) say("postgres:  skipped (--skip-postgres)");
else if (!pgUrl) say("postgres:  skipped (DATABASE_URL is not set)");
else {
  try {
    pgVersion = await postgresVersion(pgUrl);
    say(`postgres:  ${pgVersion} (throwaway databases created and dropped on that server)`);
  } catch (err) {
    note(`Postgres at DATABASE_URL is unreachable (${(err as Error).message}): Postgres figures skipped.`);
  }
}
const usePostgres = pgVersion !== null;
const hasFfmpeg = machine.ffmpeg !== null;

const tmp = mkdtempSync(path.join(os.tmpdir(), "earmark-bench-"));
let cleaned = false;
const cleanup = async () => {
  if (cleaned) return;
  cleaned = true;
  await stopAll();
  rmSync(tmp, { recursive: true, force: true });
};
process.on("SIGINT", () => {
  process.stderr.write("interrupted: stopping child processes and removing the temp directory\n");
  void cleanup().then(() => process.exit(130));
});

const results: {
  latency: LatencyCase[];
  throughput: ThroughputCase[];
  decode: DecodeCase[];
  rss: RssCase[];
} = { latency: [], throughput: [], decode: [], rss: [] };
let music: MusicPiece | null = null;

try {
  say();
  say("Inputs");
  say("------");
  let t = now();
  music = await musicPiece(opts.pieceS, tmp, args.music ?? null);
  say(`source: ${music.description}`);
  if (music.kind === "synthetic")
    note("no real music was found: every figure below is on a SYNTHETIC signal.");
  const piece = music.signal;
  const encoded = new Map<string, string | null>();
  const file = async (format: EncodedFormat, seconds = opts.pieceS) => {
    const key = `${format}-${seconds}`;
    if (!encoded.has(key))
      encoded.set(key, await encodeTo(slice(piece, seconds), format, tmp, `piece-${seconds}s`));
    return encoded.get(key) ?? null;
  };
  const need = [...sections];
  if (sections.has("latency")) {
    await file("wav16", opts.latencyS);
    await file("mp3", opts.latencyS);
  }
  if (sections.has("throughput") || sections.has("rss")) await file("mp3");
  if (sections.has("rss")) await file("wav16");
  if (sections.has("decode"))
    for (const f of Object.keys(FORMAT_LABELS) as EncodedFormat[]) {
      const made = await file(f);
      if (!made && f === "m4a")
        note("ffmpeg is not available: no M4A/AAC input (our M4A decoder is not measured).");
    }
  say(
    `encoded ${[...encoded.values()].filter(Boolean).length} input files for ${need.join(", ")} in ${fmt(now() - t, 1)} s`,
  );

  // ---------------------------------------------------------------------------------------------------
  if (sections.has("latency")) {
    say();
    say(`1. Upload accept latency (${opts.clients} concurrent clients, multipart POST /v1/uploads)`);
    say("---------------------------------------------------------------------------------");
    say(
      `Each client sends its next upload as soon as the previous one is answered (202). A run is ${opts.uploads} uploads; ` +
        `${opts.runs} run(s) after a warm-up of ${opts.clients * 2}; runs are interleaved across the servers (all started first) and the figures are medians over runs. Each server is ` +
        "`earmark start` with its default in-process worker (1) processing the uploads as they arrive, as a user " +
        "would run it; 'drain s' is how long after the last 202 the worker had decided them all. The last row(s) " +
        "repeat PGlite with EARMARK_WORKERS=0 (API only, nothing processed) to show what the in-process worker " +
        "costs the API: they share one event loop.",
    );
    t = now();
    const inputs: LatencyInput[] = [];
    const wav = await file("wav16", opts.latencyS);
    const mp3 = await file("mp3", opts.latencyS);
    const meta = { title: "bench", kind: "music" };
    if (wav)
      inputs.push({
        name: "wav",
        label: `${opts.latencyS} s WAV 44.1k stereo 16-bit`,
        body: multipartBody(readFileSync(wav), "piece.wav", "audio/wav", meta),
      });
    if (mp3)
      inputs.push({
        name: "mp3",
        label: `${opts.latencyS} s MP3 128k`,
        body: multipartBody(readFileSync(mp3), "piece.mp3", "audio/mpeg", meta),
      });
    results.latency = await runLatency(
      tmp,
      inputs,
      {
        targets: [
          { backend: "pglite", workers: 1 },
          ...(usePostgres ? [{ backend: "postgres" as const, workers: 1 }] : []),
          // For comparison: the same embedded server with its worker switched off (API only).
          { backend: "pglite", workers: 0 },
        ],
        clients: opts.clients,
        uploads: opts.uploads,
        runs: opts.runs,
      },
      say,
    );
    say();
    say(latencyTable(results.latency));
    for (const c of results.latency)
      if (c.firstError)
        note(
          `latency ${c.backend} (workers ${c.workers}) ${c.input}: first error or failure: ${c.firstError}`,
        );
    say(`(section took ${fmt(now() - t, 0)} s; load avg ${loadAvg()})`);
  }

  // ---------------------------------------------------------------------------------------------------
  if (sections.has("throughput")) {
    say();
    say(
      `2. End-to-end throughput (${opts.batch} uploads of a ${opts.pieceS / 60}-minute MP3, first POST → last decided)`,
    );
    say("----------------------------------------------------------------------------------------");
    say(
      `The batch is posted by ${opts.clients} concurrent clients; the clock stops at the server-stamped decision time ` +
        "of the last upload. Postgres: an API-only `earmark serve` plus separate `earmark worker --concurrency 1` " +
        "processes; PGlite: `earmark start` with its one in-process worker. One run each (a run is long).",
    );
    if (!usePostgres)
      note("Postgres is not in use: only the embedded single-process throughput is measured.");
    t = now();
    const mp3 = (await file("mp3"))!;
    results.throughput = await runThroughput(
      tmp,
      multipartBody(readFileSync(mp3), "piece.mp3", "audio/mpeg", { title: "bench", kind: "music" }),
      opts.pieceS,
      { postgres: usePostgres, uploads: opts.batch, clients: opts.clients },
      say,
    );
    say();
    say(throughputTable(results.throughput));
    for (const c of results.throughput)
      if (c.firstError) note(`throughput ${c.setup}: first error or failure: ${c.firstError}`);
    say(`(section took ${fmt(now() - t, 0)} s; load avg ${loadAvg()})`);
  }

  // ---------------------------------------------------------------------------------------------------
  if (sections.has("decode")) {
    say();
    say(`3. Decode speed per format (${opts.pieceS} s piece, × real time; medians of ${opts.runs} run(s))`);
    say("-------------------------------------------------------------------------");
    say(
      "ours = decodeAudio() in this process over fileSource(), after one warm-up decode; ffmpeg = " +
        "`ffmpeg -v error -i FILE -f f32le -y /dev/null` timed as a whole process (start-up included). " +
        "ours/ffmpeg < 1 means we are slower. The pipeline columns are one upload's analysis as the orchestrator " +
        "runs it: probe, then every registered stage (decode, stats) together over one decode of the file.",
    );
    if (!hasFfmpeg) note("ffmpeg is not on the PATH: the ffmpeg columns and ours/ffmpeg ratios are skipped.");
    t = now();
    const files: { format: string; label: string; file: string }[] = [];
    for (const f of Object.keys(FORMAT_LABELS) as EncodedFormat[]) {
      const made = await file(f);
      if (made) files.push({ format: f, label: FORMAT_LABELS[f], file: made });
    }
    results.decode = await runDecode(files, { runs: opts.runs, ffmpeg: hasFfmpeg }, say);
    say();
    say(decodeTable(results.decode));
    say(`(section took ${fmt(now() - t, 0)} s; load avg ${loadAvg()})`);
  }

  // ---------------------------------------------------------------------------------------------------
  if (sections.has("rss")) {
    const minutes = opts.longS / 60;
    say();
    say(`4. Peak RSS, one ${minutes}-minute file end to end (target: no more than ~1 GB)`);
    say("--------------------------------------------------------------");
    say(
      "A fresh child process per file: storeAudio() from a file stream (sniff, hash, blob store, probe), " +
        "commitUpload(), then processUpload() as a worker runs it (decode stage, stats stage, decision, " +
        "rendition). PEAK = process.resourceUsage().maxRSS at the end (the child is forked from a small shell, " +
        "not from this benchmark, so it does not inherit our RSS as its maxRSS); VmHWM = the kernel's " +
        "high-water mark from /proc/self/status, as a cross-check; the 'after' columns are the peak reached " +
        "by the end of each phase ('after open' = Node + modules + the existing database opened; each data " +
        "directory or database is created and migrated beforehand by `earmark migrate` in another process, " +
        "as a worker restarting on an installed system would find it). The last row is the very first start: a " +
        "brand-new PGlite data directory created (initdb) in the same process that then takes the upload. " +
        "'RSS at end' is the resident size (not the peak) once the upload is decided.",
    );
    t = now();
    const copies = Math.round(opts.longS / opts.pieceS);
    const longMp3 = path.join(tmp, `long-${minutes}min.mp3`);
    const longWav = path.join(tmp, `long-${minutes}min.wav`);
    await loopFile(readFileSync((await file("mp3"))!), copies, longMp3);
    await loopWav(piece, copies, longWav);
    say(`  made the ${minutes}-minute files from ${copies} copies of the ${opts.pieceS} s piece`);
    const mp3Label = `${minutes} min MP3 128k stereo`;
    const wavLabel = `${minutes} min WAV 44.1k stereo 16-bit`;
    const runs: RssRun[] = [];
    for (const [label, f] of [
      [mp3Label, longMp3],
      [wavLabel, longWav],
    ] as const) {
      runs.push({ label, file: f, database: "pglite" });
      if (usePostgres) runs.push({ label, file: f, database: "postgres" });
    }
    // The very first `earmark start` creates the embedded database (initdb) in the same process.
    runs.push({ label: wavLabel, file: longWav, database: "pglite", firstStart: true });
    results.rss = await runRss(tmp, runs, say);
    say();
    say(rssTable(results.rss));
    for (const c of results.rss)
      if (c.status !== "decided")
        note(`rss ${c.label} (${c.database}): ${c.status} ${JSON.stringify(c.failure)}`);
    say(`(section took ${fmt(now() - t, 0)} s; load avg ${loadAvg()})`);
  }
} finally {
  await cleanup();
}

const durationS = now() - t0;
say();
say(
  `Done in ${fmt(durationS / 60, 1)} min (${fmt(durationS, 0)} s); temp dir removed. Load avg at end: ${loadAvg()}.`,
);
const summary = {
  version: 1,
  command,
  startedAt: startedAt.toISOString(),
  durationS: Math.round(durationS),
  machine,
  postgres: pgVersion,
  options: { quick, sections: [...sections], ...opts },
  music: music ? { kind: music.kind, description: music.description } : null,
  latency: results.latency.map((c) => ({
    database: c.backend,
    inProcessWorkers: c.workers,
    input: c.label,
    audioMiB: Number(mib(c.audioBytes).toFixed(2)),
    clients: c.clients,
    uploadsPerRun: opts.uploads,
    runs: c.runs.length,
    p50Ms: round(c.median.p50Ms),
    p99Ms: round(c.median.p99Ms),
    uploadsPerS: round(c.median.perS, 2),
    mibPerS: round(c.median.mibPerS, 1),
    drainS: round(c.median.drainS, 1),
    perRun: c.runs.map((r) => ({
      p50Ms: round(r.p50Ms),
      p99Ms: round(r.p99Ms),
      uploadsPerS: round(r.perS, 2),
    })),
    errors: c.runs.reduce((a, r) => a + r.errors, 0),
    failed: c.runs.reduce((a, r) => a + r.failed, 0),
  })),
  throughput: results.throughput.map((c) => ({
    setup: c.setup,
    workers: c.workers,
    uploads: c.uploads,
    audioS: c.audioS,
    uploadPhaseS: round(c.uploadPhaseS, 1),
    endToEndS: round(c.endToEndS, 1),
    uploadsPerMin: round(c.perMinute, 1),
    audioRealTime: round(c.realTime, 1),
    decided: c.decided,
    failed: c.failed + c.errors,
  })),
  decode: results.decode.map((c) => ({
    format: c.label,
    audioS: round(c.audioS, 1),
    runs: c.runs,
    oursRealTime: round(c.oursRealTime),
    ffmpegRealTime: c.ffmpegRealTime === null ? null : round(c.ffmpegRealTime),
    oursOverFfmpeg: c.ratio === null ? null : round(c.ratio, 3),
    pipelineRealTime: round(c.pipeline.realTime, 1),
    analysisS: round(c.pipeline.analysisS, 3),
  })),
  rss: results.rss.map((c) => ({
    file: c.label,
    database: c.database,
    sizeMiB: round(mib(c.sizeBytes)),
    status: c.status,
    firstStart: c.firstStart,
    peakRssMiB: round(c.maxRssMiB),
    vmHwmMiB: c.vmHwmMiB === null ? null : round(c.vmHwmMiB),
    endRssMiB: c.endRssMiB === null ? null : round(c.endRssMiB),
    afterOpenMiB: round(c.baselineMiB),
    afterReceiveMiB: round(c.afterReceiveMiB),
    afterDecodeMiB: c.afterDecodeMiB === null ? null : round(c.afterDecodeMiB),
    afterStatsMiB: c.afterStatsMiB === null ? null : round(c.afterStatsMiB),
    wallS: round(c.wallS, 1),
  })),
  notes,
};
process.stdout.write(`BENCH_JSON ${JSON.stringify(summary)}\n`);

function round(v: number, digits = 0): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
