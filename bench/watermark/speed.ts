/**
 * Watermark speed benchmark: embed and detect times on one file (median of --runs), as multiples of
 * real time, with peak RSS; the same for audiowmark (`add`, `get`) when it is on PATH, and ratios.
 *
 *   npm run bench:watermark -- FILE [--runs 5]
 *
 * Earmark runs in child processes (one per measurement) so RSS is per operation; the audio is
 * decoded to raw float before timing starts (decoding is the product's decode stage, not the mark).
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { detectWatermark, embedWatermark } from "../../src/watermark/index.js";
import { chunked, readAudio, writeWav } from "./audio-io.js";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { runs: { type: "string", default: "5" }, child: { type: "string" } },
});

const work = join("bench", "out", "wm-speed");

async function loadRaw(file: string) {
  const buf = await readFile(file);
  const header = JSON.parse(buf.subarray(0, buf.indexOf(10)).toString()) as {
    rate: number;
    channels: number;
    length: number;
  };
  const body = buf.subarray(buf.indexOf(10) + 1);
  const all = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  const channels = Array.from({ length: header.channels }, (_, c) =>
    all.subarray(c * header.length, (c + 1) * header.length),
  );
  return { channels, sampleRate: header.rate };
}

if (values.child) {
  // Child: one operation on the pre-decoded audio; prints {seconds, rssMiB}.
  const [op, raw, keyHex] = values.child.split(",") as [string, string, string];
  const pcm = await loadRaw(raw);
  const key = Uint8Array.from(Buffer.from(keyHex, "hex"));
  const before = process.memoryUsage().rss / 2 ** 20;
  const t0 = performance.now();
  if (op === "embed") {
    let n = 0;
    for await (const c of embedWatermark(chunked(pcm), { key, payload: randomBytes(8) }))
      n += c.channels[0]?.length ?? 0;
    if (n !== pcm.channels[0]?.length) throw new Error("length mismatch");
  } else {
    await detectWatermark(chunked(pcm), { key });
  }
  const seconds = (performance.now() - t0) / 1000;
  // Peak RSS above the RSS before the operation (the input audio is already in memory then).
  console.log(JSON.stringify({ seconds, rssMiB: process.resourceUsage().maxRSS / 1024 - before }));
  process.exit(0);
}

const file = positionals[0];
if (!file) throw new Error("usage: npm run bench:watermark -- FILE [--runs N]");
await mkdir(work, { recursive: true });
const pcm = await readAudio(file);
const duration = (pcm.channels[0]?.length ?? 0) / pcm.sampleRate;
const key = randomBytes(32).toString("hex");
const writeRaw = async (path: string, p: typeof pcm) => {
  const len = p.channels[0]?.length ?? 0;
  const header = Buffer.from(
    `${JSON.stringify({ rate: p.sampleRate, channels: p.channels.length, length: len })}\n`,
  );
  const body = Buffer.concat(p.channels.map((c) => Buffer.from(c.buffer, c.byteOffset, c.byteLength)));
  await writeFile(path, Buffer.concat([header, body]));
};
const rawIn = join(work, "in.f32");
await writeRaw(rawIn, pcm);
// Detection runs on a marked copy.
const markedChunks: Float32Array[][] = [];
for await (const c of embedWatermark(chunked(pcm), { key: Buffer.from(key, "hex"), payload: randomBytes(8) }))
  markedChunks.push(c.channels);
const marked = {
  sampleRate: pcm.sampleRate,
  channels: pcm.channels.map((_, ci) => {
    const out = new Float32Array(pcm.channels[0]?.length ?? 0);
    let at = 0;
    for (const m of markedChunks) {
      out.set(m[ci] as Float32Array, at);
      at += m[0]?.length ?? 0;
    }
    return out;
  }),
};
const rawMarked = join(work, "marked.f32");
await writeRaw(rawMarked, marked);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const runs = Number(values.runs);

function child(op: string, raw: string): { seconds: number; rssMiB: number } {
  const r = spawnSync(
    process.execPath,
    [...process.execArgv, process.argv[1] as string, "--child", `${op},${raw},${key}`],
    {
      encoding: "utf8",
    },
  );
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").pop() as string);
}

function timed(cmd: string, args: string[]): { seconds: number; rssMiB: number } {
  const r = spawnSync("/usr/bin/time", ["-f", "%e %M", cmd, ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`${cmd} failed: ${r.stderr}`);
  const [e, m] = (r.stderr.trim().split("\n").pop() as string).split(" ");
  return { seconds: Number(e), rssMiB: Number(m) / 1024 };
}

const measure = (f: () => { seconds: number; rssMiB: number }) => {
  const xs = Array.from({ length: runs }, f);
  return { seconds: median(xs.map((x) => x.seconds)), rssMiB: Math.max(...xs.map((x) => x.rssMiB)) };
};

const ours = {
  embed: measure(() => child("embed", rawIn)),
  detect: measure(() => child("detect", rawMarked)),
};
const line = (name: string, m: { seconds: number; rssMiB: number }) =>
  `| ${name} | ${m.seconds.toFixed(3)} s | ${(duration / m.seconds).toFixed(0)}× | ${m.rssMiB.toFixed(0)} MiB |`;
console.log(
  `File: ${file} (${duration.toFixed(1)} s, ${pcm.sampleRate} Hz, ${pcm.channels.length} ch); median of ${runs} runs`,
);
console.log(
  "| operation | time | × real time | peak RSS (earmark: above the RSS with the input loaded) |\n|---|---|---|---|",
);
console.log(line("earmark embed", ours.embed));
console.log(line("earmark detect", ours.detect));

if (spawnSync("sh", ["-c", "command -v audiowmark"]).status === 0) {
  const wav = join(work, "in.wav");
  await writeWav(wav, pcm, 16);
  const awmOut = join(work, "awm.wav");
  const payload = randomBytes(16).toString("hex");
  const theirs = {
    embed: measure(() => timed("audiowmark", ["add", wav, awmOut, payload])),
    detect: measure(() => timed("audiowmark", ["get", awmOut])),
  };
  console.log(line("audiowmark add", theirs.embed));
  console.log(line("audiowmark get", theirs.detect));
  console.log(
    `\nRatios (audiowmark time / earmark time, ≥ 1 means earmark is faster): embed ${(theirs.embed.seconds / ours.embed.seconds).toFixed(2)}, detect ${(theirs.detect.seconds / ours.detect.seconds).toFixed(2)}`,
  );
  console.log(
    "audiowmark times are wall-clock of the whole CLI run (including its WAV read/write); earmark's exclude decoding.",
  );
}
