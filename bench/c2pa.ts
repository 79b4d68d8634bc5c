/**
 * `npm run bench:c2pa [-- --seconds 180] [--runs 5]`: C2PA sign and read time per format for one file of
 * `--seconds` of 44.1 kHz stereo music, and the peak RSS of a process that signs and reads it. Each format
 * runs in a child process of its own, so the peak RSS is that format's (WASM memory only grows). `sign` is
 * Earmark's whole signing path: reading the input's manifest, signing, and reading back + validating the
 * result. M4A needs ffmpeg to make the file (no npm AAC encoder); without it that row says so.
 * Prints figures (medians), never pass/fail.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import type { AudioFormat } from "../src/audio/format.js";
import { readProvenance } from "../src/provenance/c2pa/read.js";
import { signAudio } from "../src/provenance/c2pa/sign.js";
import { warmC2pa } from "../src/provenance/c2pa/wasm.js";
import { disclosureToAssertions } from "../src/provenance/mapping.js";
import { ephemeralProvenance } from "../src/provenance/service.js";
import { encodeFlac, encodeMp3, encodeWav, makeMusic } from "../test/harness/audio.js";

const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "180" },
    runs: { type: "string", default: "5" },
    one: { type: "string" },
  },
});
const SECONDS = Number(args.seconds);
const RUNS = Number(args.runs);
const FORMATS = ["wav", "mp3", "flac", "m4a"] as const;
type Format = (typeof FORMATS)[number];

/** What a generated track's rendition states (the disclosure part of Earmark's manifest). */
const manifest = {
  title: "bench",
  claimGenerator: { name: "Earmark bench", version: "1" },
  assertions: disclosureToAssertions({ roles: { voice: "generated", composition: "generated" } }),
};

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;

async function audioFile(format: Format): Promise<Uint8Array | string> {
  const music = makeMusic({ seconds: SECONDS, seed: 3 });
  if (format === "wav") return new Uint8Array(encodeWav(music));
  if (format === "mp3") return new Uint8Array(await encodeMp3(music, 192));
  if (format === "flac") return new Uint8Array(await encodeFlac(music));
  const dir = mkdtempSync(path.join(os.tmpdir(), "earmark-bench-c2pa-"));
  try {
    writeFileSync(path.join(dir, "in.wav"), encodeWav(music));
    const args = ["-v", "error", "-y", "-i", "in.wav", "-c:a", "aac", "-b:a", "192k", "out.m4a"];
    execFileSync("ffmpeg", args, { cwd: dir, stdio: "ignore" });
    return new Uint8Array(readFileSync(path.join(dir, "out.m4a")));
  } catch {
    return "ffmpeg is not available to make an M4A file";
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function one(format: Format) {
  const file = await audioFile(format);
  if (typeof file === "string") return { format, skipped: file };
  const warmMs = warmC2pa();
  const { signer, trust } = await ephemeralProvenance(2 * 1024 ** 3);
  const sign: number[] = [];
  const read: number[] = [];
  let signed = file;
  for (let i = 0; i < RUNS; i++) {
    let t = performance.now();
    signed = (await signAudio(file, format as AudioFormat, manifest, signer, trust)).bytes;
    sign.push(performance.now() - t);
    t = performance.now();
    const { signal } = await readProvenance(signed, format as AudioFormat, trust);
    read.push(performance.now() - t);
    if (signal.state !== "trusted") throw new Error(`${format}: read back ${signal.state}`);
  }
  return {
    format,
    sizeMB: file.length / 1e6,
    warmMs,
    signMs: median(sign),
    readMs: median(read),
    peakRssMB: process.resourceUsage().maxRSS / 1024,
  };
}

if (args.one) {
  process.stdout.write(`${JSON.stringify(await one(args.one as Format))}\n`);
} else {
  console.log(
    `C2PA sign/read, ${SECONDS} s of 44.1 kHz stereo, median of ${RUNS} runs, one process per format`,
  );
  console.log("format | size MB | first load ms | sign ms (incl. read-back) | read ms | peak RSS MB");
  for (const format of FORMATS) {
    const r = spawnSync(
      process.execPath,
      [
        "--import",
        "tsx",
        fileURLToPath(import.meta.url),
        "--one",
        format,
        "--seconds",
        String(SECONDS),
        "--runs",
        String(RUNS),
      ],
      { encoding: "utf8", maxBuffer: 1 << 20 },
    );
    const line = r.stdout.trim().split("\n").at(-1) ?? "";
    if (r.status !== 0 || !line.startsWith("{")) {
      console.log(`${format} | failed: ${r.stderr.trim().split("\n").at(-1)}`);
      continue;
    }
    const x = JSON.parse(line);
    if (x.skipped) console.log(`${format} | ${x.skipped}`);
    else
      console.log(
        `${format} | ${x.sizeMB.toFixed(1)} | ${x.warmMs.toFixed(0)} | ${x.signMs.toFixed(0)} | ${x.readMs.toFixed(0)} | ${x.peakRssMB.toFixed(0)}`,
      );
  }
}
