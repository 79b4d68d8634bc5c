/**
 * Query-variant generation for the fingerprint evaluation corpus, plus the small process helpers
 * (tool checks, child processes, a bounded worker pool, hashing) that corpus.ts and eval.ts share.
 *
 * Every variant is produced from a reference WAV (44.1 kHz, 16-bit, stereo) and written as a
 * 16-bit mono WAV. Lossy variants are really encoded to the codec's container and decoded again, so
 * the codec artefacts survive into the WAV. Mono output keeps the variant set at roughly half the
 * disk size; both Chromaprint and a Meyda pipeline downmix to mono before analysis anyway, and the
 * encoders still see the original stereo signal.
 *
 * Not meant to be run on its own: `corpus.ts` calls `makeVariants` once the references exist.
 */
import { spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, rename, rm, stat } from "node:fs/promises";
import { dirname, join } from "node:path";

/** Which Debian package provides each external program we call. */
export const TOOL_PACKAGES: Record<string, string> = {
  ffmpeg: "ffmpeg",
  ffprobe: "ffmpeg",
  sox: "sox",
  rubberband: "rubberband-cli",
  fpcalc: "libchromaprint-tools",
  fluidsynth: "fluidsynth",
  unzip: "unzip",
  oggdec: "vorbis-tools",
  "dpkg-query": "dpkg",
};

export class CliError extends Error {}

/** Throws a CliError naming the apt package for every program in `names` that is not on PATH. */
export function requireTools(names: readonly string[]): void {
  const missing = names.filter((name) => spawnSync("sh", ["-c", `command -v ${name}`]).status !== 0);
  if (missing.length > 0) {
    const lines = missing.map(
      (m) => `  ${m}: apt-get install -y --no-install-recommends ${TOOL_PACKAGES[m] ?? m}`,
    );
    throw new CliError(`missing required tool(s):\n${lines.join("\n")}`);
  }
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a program without a shell and collects its output. Never rejects on a non-zero exit. */
export function run(cmd: string, args: readonly string[]): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code: code ?? -1,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

/** Like `run`, but rejects with the tail of stderr when the exit code is not 0. */
export async function runChecked(cmd: string, args: readonly string[]): Promise<RunResult> {
  const r = await run(cmd, args);
  if (r.code !== 0) {
    const tail = r.stderr.trim().split("\n").slice(-5).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} exited with ${r.code}\n${tail}`);
  }
  return r;
}

/** Calls `fn` on every item with at most `concurrency` calls in flight; rethrows the first error. */
export async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i] as T, i);
    }
  };
  const n = Math.max(1, Math.min(concurrency, items.length));
  await Promise.all(Array.from({ length: n }, () => worker()));
}

export function sha256File(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const h = createHash("sha256");
    createReadStream(path)
      .on("data", (d) => h.update(d))
      .on("error", reject)
      .on("end", () => resolve(h.digest("hex")));
  });
}

export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** Duration in seconds as ffprobe reports it for the container. */
export async function probeDuration(path: string): Promise<number> {
  const r = await runChecked("ffprobe", [
    "-v",
    "error",
    "-show_entries",
    "format=duration",
    "-of",
    "default=noprint_wrappers=1:nokey=1",
    path,
  ]);
  const d = Number.parseFloat(r.stdout.trim());
  if (!Number.isFinite(d)) throw new Error(`ffprobe gave no duration for ${path}`);
  return d;
}

/** RMS of the mono mixdown (full scale = 1.0), measured by sox. */
export async function monoRms(path: string): Promise<number> {
  const r = await runChecked("sox", [path, "-n", "remix", "-", "stat"]);
  const m = /RMS\s+amplitude:\s+([0-9.eE+-]+)/.exec(r.stderr);
  if (!m?.[1]) throw new Error(`sox stat printed no RMS for ${path}`);
  return Number.parseFloat(m[1]);
}

const FF = ["-hide_banner", "-nostdin", "-v", "error", "-y", "-threads", "1"];
/** Output options for the uniform WAV every fingerprinter reads. */
const WAV_MONO_44K = ["-ac", "1", "-ar", "44100", "-c:a", "pcm_s16le"];

async function ffmpeg(args: readonly string[]): Promise<void> {
  await runChecked("ffmpeg", [...FF, ...args]);
}

interface StepContext {
  input: string;
  output: string;
  /** Scratch file path with the given extension, unique per variant. */
  scratch(ext: string): string;
  duration: number;
}

export interface TransformSpec {
  name: string;
  description: string;
  apply(ctx: StepContext): Promise<void>;
}

function codec(name: string, description: string, ext: string, encodeArgs: string[]): TransformSpec {
  return {
    name,
    description,
    async apply({ input, output, scratch }) {
      const enc = scratch(ext);
      await ffmpeg(["-i", input, ...encodeArgs, enc]);
      await ffmpeg(["-i", enc, ...WAV_MONO_44K, output]);
    },
  };
}

function filter(name: string, description: string, af: string, outArgs = WAV_MONO_44K): TransformSpec {
  return {
    name,
    description,
    async apply({ input, output }) {
      await ffmpeg(["-i", input, "-af", af, ...outArgs, output]);
    },
  };
}

/**
 * White noise at a target SNR. The SNR is taken over the whole clip: noise RMS =
 * (RMS of the mono mixdown) / 10^(snr/20). ffmpeg's white `anoisesrc` is uniform in
 * [-amplitude, amplitude], whose RMS is amplitude/sqrt(3). The seed is fixed so reruns are identical.
 */
function noise(name: string, snrDb: number): TransformSpec {
  return {
    name,
    description: `white noise added at ${snrDb} dB SNR (whole-clip RMS)`,
    async apply({ input, output, duration }) {
      const rms = await monoRms(input);
      const noiseRms = rms / 10 ** (snrDb / 20);
      const amplitude = Math.min(1, noiseRms * Math.sqrt(3));
      const graph =
        `anoisesrc=color=white:sample_rate=44100:seed=12345:amplitude=${amplitude.toFixed(6)}:` +
        `duration=${(duration + 1).toFixed(3)}[n];[0:a]pan=mono|c0=0.5*c0+0.5*c1[s];` +
        "[s][n]amix=inputs=2:normalize=0:duration=first[m]";
      await ffmpeg(["-i", input, "-filter_complex", graph, "-map", "[m]", ...WAV_MONO_44K, output]);
    },
  };
}

/** Speed change by resampling: pitch and tempo move together, like a tape or turntable running fast. */
function speed(name: string, factor: number): TransformSpec {
  return filter(
    name,
    `speed x${factor} (asetrate+aresample: pitch and tempo together)`,
    `asetrate=${Math.round(44100 * factor)},aresample=44100`,
  );
}

export const TRANSFORMS: readonly TransformSpec[] = [
  codec("mp3-64k", "MP3 64 kbit/s (libmp3lame), decoded", "mp3", ["-c:a", "libmp3lame", "-b:a", "64k"]),
  codec("mp3-128k", "MP3 128 kbit/s (libmp3lame), decoded", "mp3", ["-c:a", "libmp3lame", "-b:a", "128k"]),
  codec("aac-128k", "AAC 128 kbit/s (ffmpeg native aac, .m4a), decoded", "m4a", [
    "-c:a",
    "aac",
    "-b:a",
    "128k",
  ]),
  codec("opus-64k", "Opus 64 kbit/s (libopus, .opus), decoded to 44.1 kHz", "opus", [
    "-c:a",
    "libopus",
    "-b:a",
    "64k",
  ]),
  filter("resample-22k", "resampled to 22.05 kHz (stays 22.05 kHz)", "aresample=22050", [
    "-ac",
    "1",
    "-ar",
    "22050",
    "-c:a",
    "pcm_s16le",
  ]),
  filter("gain-6db", "gain -6 dB", "volume=-6dB"),
  noise("noise-20db", 20),
  noise("noise-10db", 10),
  {
    name: "trim-10s",
    description: "first 10 s removed",
    async apply({ input, output }) {
      await ffmpeg(["-ss", "10", "-i", input, ...WAV_MONO_44K, output]);
    },
  },
  {
    name: "excerpt-15s",
    description: "15 s excerpt from the middle",
    async apply({ input, output, duration }) {
      const start = Math.max(0, duration / 2 - 7.5);
      await ffmpeg(["-ss", start.toFixed(3), "-t", "15", "-i", input, ...WAV_MONO_44K, output]);
    },
  },
  speed("speed+2", 1.02),
  speed("speed-2", 0.98),
  speed("speed+5", 1.05),
  speed("speed-5", 0.95),
  filter("tempo+5", "tempo +5 % (atempo, pitch unchanged)", "atempo=1.05"),
  {
    name: "pitch+1st",
    description: "pitch +1 semitone (rubberband CLI -p 1, tempo unchanged)",
    async apply({ input, output, scratch }) {
      const shifted = scratch("wav");
      await runChecked("rubberband", ["-q", "-p", "1", input, shifted]);
      await ffmpeg(["-i", shifted, ...WAV_MONO_44K, output]);
    },
  },
];

export interface VariantJob {
  refId: string;
  input: string;
  duration: number;
}

export interface VariantRecord {
  refId: string;
  transform: string;
  /** Path relative to the corpus directory. */
  file: string;
}

/** Relative path of a variant inside the corpus directory. */
export function variantPath(transform: string, refId: string): string {
  return join("variants", transform, `${refId}.wav`);
}

/**
 * Builds every (reference x transform) variant under `corpusDir`, at most `concurrency` at a time.
 * A variant whose WAV already exists is not rebuilt; outputs are written to a temporary name and
 * renamed, so an interrupted run never leaves a truncated file behind.
 */
export async function makeVariants(
  corpusDir: string,
  jobs: readonly VariantJob[],
  concurrency: number,
  log: (msg: string) => void,
): Promise<VariantRecord[]> {
  const tasks = jobs.flatMap((job) => TRANSFORMS.map((t) => ({ job, t })));
  const records: VariantRecord[] = [];
  let done = 0;
  let built = 0;
  const started = Date.now();
  await pool(tasks, concurrency, async ({ job, t }) => {
    const rel = variantPath(t.name, job.refId);
    const out = join(corpusDir, rel);
    if (!(await exists(out))) {
      await mkdir(dirname(out), { recursive: true });
      const scratchDir = join(corpusDir, "tmp");
      await mkdir(scratchDir, { recursive: true });
      const scratchFiles: string[] = [];
      const tmpOut = `${out}.part.wav`;
      try {
        await t.apply({
          input: job.input,
          output: tmpOut,
          duration: job.duration,
          scratch: (ext) => {
            const p = join(scratchDir, `${t.name}.${job.refId}.${scratchFiles.length}.${ext}`);
            scratchFiles.push(p);
            return p;
          },
        });
        await rename(tmpOut, out);
      } finally {
        await Promise.all([tmpOut, ...scratchFiles].map((p) => rm(p, { force: true })));
      }
      built++;
    }
    records.push({ refId: job.refId, transform: t.name, file: rel });
    done++;
    if (done % 100 === 0 || done === tasks.length) {
      const secs = ((Date.now() - started) / 1000).toFixed(0);
      log(`variants ${done}/${tasks.length} (${built} built this run, ${secs}s)`);
    }
  });
  records.sort((a, b) => a.refId.localeCompare(b.refId) || a.transform.localeCompare(b.transform));
  return records;
}
