/**
 * File I/O and attacks for the watermark harness. Audio is read and written through ffmpeg as raw
 * float32 (the harness is an evaluation tool; the product decodes with src/audio/decode).
 */
import { spawn } from "node:child_process";
import type { PcmChunk } from "../../src/audio/decode/index.js";

export interface Pcm {
  channels: Float32Array[];
  sampleRate: number;
}

function runTool(cmd: string, args: string[], stdin?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (d: Buffer) => out.push(d));
    child.stderr.on("data", (d: Buffer) => err.push(d));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code === 0) resolve(Buffer.concat(out));
      else
        reject(
          new Error(`${cmd} ${args.join(" ")} exited ${code}: ${Buffer.concat(err).toString().slice(-400)}`),
        );
    });
    child.stdin.on("error", () => {});
    if (stdin) child.stdin.end(stdin);
    else child.stdin.end();
  });
}

export { runTool };

/** Reads any file ffmpeg understands; keeps its rate and channel count unless given. */
export async function readAudio(file: string, opts: { rate?: number; channels?: number } = {}): Promise<Pcm> {
  const probe = await runTool("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    "a:0",
    "-show_entries",
    "stream=sample_rate,channels",
    "-of",
    "csv=p=0",
    file,
  ]);
  const [rateStr, chStr] = probe.toString().trim().split("\n")[0]?.split(",") ?? [];
  const rate = opts.rate ?? Number(rateStr);
  const channels = opts.channels ?? Number(chStr);
  const raw = await runTool("ffmpeg", [
    "-v",
    "error",
    "-i",
    file,
    "-f",
    "f32le",
    "-ac",
    String(channels),
    "-ar",
    String(rate),
    "-",
  ]);
  const all = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
  const len = Math.floor(all.length / channels);
  const chans = Array.from({ length: channels }, () => new Float32Array(len));
  for (let i = 0; i < len; i++)
    for (let c = 0; c < channels; c++) (chans[c] as Float32Array)[i] = all[i * channels + c] as number;
  return { channels: chans, sampleRate: rate };
}

/** Writes a float WAV (32-bit) so nothing is lost before the attack's own processing. */
export async function writeWav(file: string, pcm: Pcm, bits: 16 | 32 = 32): Promise<void> {
  const nCh = pcm.channels.length;
  const len = pcm.channels[0]?.length ?? 0;
  const inter = new Float32Array(len * nCh);
  for (let i = 0; i < len; i++)
    for (let c = 0; c < nCh; c++) inter[i * nCh + c] = (pcm.channels[c] as Float32Array)[i] as number;
  await runTool(
    "ffmpeg",
    [
      "-v",
      "error",
      "-y",
      "-f",
      "f32le",
      "-ar",
      String(pcm.sampleRate),
      "-ac",
      String(nCh),
      "-i",
      "-",
      "-c:a",
      bits === 16 ? "pcm_s16le" : "pcm_f32le",
      file,
    ],
    Buffer.from(inter.buffer),
  );
}

/** Splits PCM into chunks of `seconds` (the decoders deliver ~1–2 s). */
export async function* chunked(pcm: Pcm, seconds = 1.3): AsyncIterable<PcmChunk> {
  const step = Math.max(1, Math.round(pcm.sampleRate * seconds));
  const len = pcm.channels[0]?.length ?? 0;
  for (let at = 0; at < len; at += step) {
    yield {
      channels: pcm.channels.map((c) => c.subarray(at, Math.min(len, at + step))),
      sampleRate: pcm.sampleRate,
    };
  }
}

export async function collect(chunks: AsyncIterable<PcmChunk>): Promise<Pcm> {
  const parts: PcmChunk[] = [];
  for await (const c of chunks) parts.push(c);
  const first = parts[0];
  if (!first) return { channels: [], sampleRate: 0 };
  const total = parts.reduce((s, p) => s + (p.channels[0]?.length ?? 0), 0);
  const channels = first.channels.map(() => new Float32Array(total));
  let at = 0;
  for (const p of parts) {
    p.channels.forEach((c, i) => {
      (channels[i] as Float32Array).set(c, at);
    });
    at += p.channels[0]?.length ?? 0;
  }
  return { channels, sampleRate: first.sampleRate };
}

export function snrDb(original: Pcm, marked: Pcm): number {
  let s = 0;
  let n = 0;
  original.channels.forEach((x, c) => {
    const y = marked.channels[c] as Float32Array;
    for (let i = 0; i < x.length; i++) {
      const v = x[i] as number;
      const d = (y[i] as number) - v;
      s += v * v;
      n += d * d;
    }
  });
  return 10 * Math.log10(s / n);
}
