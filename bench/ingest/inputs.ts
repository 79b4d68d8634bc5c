/**
 * Benchmark inputs: a piece of real music found on this machine (a Debian music package, see below) or a
 * synthetic signal when there is none, encoded into every format Earmark reads, plus the long files of the
 * memory section. Everything is written into the run's temporary directory.
 */
import { spawnSync } from "node:child_process";
import { once } from "node:events";
import {
  closeSync,
  createWriteStream,
  openSync,
  readdirSync,
  readSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { inflateRawSync } from "node:zlib";
import { decodeAudio } from "../../src/audio/decode/index.js";
import type { AudioFormat } from "../../src/audio/format.js";
import { openAudioFile } from "../../src/audio/open.js";
import {
  encodeFlac,
  encodeMp3,
  encodeOggVorbis,
  encodeOpus,
  encodeWav,
  makeSignal,
  type Signal,
} from "../../test/harness/audio.js";
import { hasTool } from "./util.js";

/** Where Debian's music packages put their files (checked in this order), and which files count as audio. */
const SEARCH_ROOTS = [
  "/usr/share/games/nexuiz/data/music.pk3",
  "/usr/share/games",
  "/usr/share/planetblupi",
  "/usr/share/sounds",
  "/usr/share/asterisk/sounds",
];
const AUDIO_EXT = /\.(ogg|oga|opus|mp3|flac|wav)$/i;
const ARCHIVE_EXT = /\.(pk3|zip)$/i;
const LIMITS = { maxDurationS: 4 * 3600 };

export interface MusicPiece {
  signal: Signal;
  /** "real music" or "synthetic". */
  kind: "real" | "synthetic";
  /** What it is and where it came from, for the report. */
  description: string;
}

// ---------------------------------------------------------------------------------------------------------
// Finding real music

/** Files under `root` (or `root` itself), depth-first in name order, bounded. */
function walk(root: string, out: string[], depth = 0): void {
  if (out.length > 20_000 || depth > 8) return;
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(root);
  } catch {
    return;
  }
  if (st.isFile()) {
    if (AUDIO_EXT.test(root) || ARCHIVE_EXT.test(root)) out.push(root);
    return;
  }
  if (!st.isDirectory()) return;
  let names: string[];
  try {
    names = readdirSync(root).sort();
  } catch {
    return;
  }
  for (const n of names) walk(path.join(root, n), out, depth + 1);
}

interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  localHeader: number;
}

/** The entries of a zip (or Quake .pk3) archive, read from its central directory. */
function zipEntries(file: string): ZipEntry[] {
  const fd = openSync(file, "r");
  try {
    const size = statSync(file).size;
    const tailLen = Math.min(size, 65_557);
    const tail = Buffer.alloc(tailLen);
    readSync(fd, tail, 0, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) return [];
    const count = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = Buffer.alloc(cdSize);
    readSync(fd, cd, 0, cdSize, cdOffset);
    const entries: ZipEntry[] = [];
    let at = 0;
    for (let i = 0; i < count && at + 46 <= cd.length; i++) {
      if (cd.readUInt32LE(at) !== 0x02014b50) break;
      const nameLen = cd.readUInt16LE(at + 28);
      entries.push({
        name: cd.toString("utf8", at + 46, at + 46 + nameLen),
        method: cd.readUInt16LE(at + 10),
        compressedSize: cd.readUInt32LE(at + 20),
        localHeader: cd.readUInt32LE(at + 42),
      });
      at += 46 + nameLen + cd.readUInt16LE(at + 30) + cd.readUInt16LE(at + 32);
    }
    return entries;
  } finally {
    closeSync(fd);
  }
}

function zipExtract(file: string, entry: ZipEntry, to: string): void {
  const fd = openSync(file, "r");
  try {
    const local = Buffer.alloc(30);
    readSync(fd, local, 0, 30, entry.localHeader);
    const start = entry.localHeader + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    const data = Buffer.alloc(entry.compressedSize);
    readSync(fd, data, 0, entry.compressedSize, start);
    if (entry.method === 0) writeFileSync(to, data);
    else if (entry.method === 8) writeFileSync(to, inflateRawSync(data));
    else throw new Error(`zip method ${entry.method} not supported`);
  } finally {
    closeSync(fd);
  }
}

async function probeFile(file: string): Promise<{ format: AudioFormat; durationS: number } | null> {
  try {
    const { probe } = await openAudioFile(file, LIMITS);
    const estimate = probe.details.estimatedDurationS;
    const durationS = probe.durationS ?? (typeof estimate === "number" ? estimate : 0);
    return { format: probe.format, durationS };
  } catch {
    return null;
  }
}

function debianPackageOf(file: string): string | null {
  const r = spawnSync("dpkg", ["-S", file], { encoding: "utf8" });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split(":")[0]?.trim() || null;
}

/** The first audio file (in search order) of at least `minSeconds`, extracted from an archive if need be. */
async function findRealMusic(
  minSeconds: number,
  tmp: string,
  explicit: string | null,
): Promise<{ file: string; label: string } | null> {
  const candidates: string[] = [];
  for (const root of explicit ? [explicit] : SEARCH_ROOTS) walk(root, candidates);
  const seen = new Set<string>();
  for (const c of candidates) {
    if (seen.has(c)) continue;
    seen.add(c);
    const pkg = debianPackageOf(c);
    const origin = pkg ? `Debian package ${pkg}` : "local file";
    if (ARCHIVE_EXT.test(c)) {
      const entries = zipEntries(c)
        .filter((e) => AUDIO_EXT.test(e.name))
        .sort((a, b) => a.name.localeCompare(b.name));
      for (const e of entries) {
        const out = path.join(tmp, `source-${path.basename(e.name)}`);
        try {
          zipExtract(c, e, out);
        } catch {
          continue;
        }
        const p = await probeFile(out);
        if (p && p.durationS >= minSeconds)
          return { file: out, label: `${path.basename(e.name)} from ${c} (${origin}; its own licence)` };
      }
    } else {
      const p = await probeFile(c);
      if (p && p.durationS >= minSeconds) return { file: c, label: `${c} (${origin}; its own licence)` };
    }
  }
  return null;
}

/** Decodes the first `seconds` of a file with Earmark's own decoder, as stereo (mono is duplicated). */
async function decodeExcerpt(file: string, seconds: number): Promise<Signal> {
  const { source: src, probe } = await openAudioFile(file, LIMITS);
  const want = Math.round(seconds * probe.sampleRate);
  const channels = Array.from({ length: Math.max(2, probe.channels) }, () => new Float32Array(want));
  let at = 0;
  for await (const chunk of decodeAudio(src, probe, LIMITS)) {
    const n = Math.min(chunk.channels[0]!.length, want - at);
    channels.forEach((dst, c) => {
      dst.set(chunk.channels[Math.min(c, chunk.channels.length - 1)]!.subarray(0, n), at);
    });
    at += n;
    if (at >= want) break;
  }
  if (at < want) throw new Error(`${file} decoded to only ${(at / probe.sampleRate).toFixed(1)} s`);
  return { sampleRate: probe.sampleRate, channels: channels.slice(0, 2) };
}

export async function musicPiece(seconds: number, tmp: string, explicit: string | null): Promise<MusicPiece> {
  const found = await findRealMusic(seconds, tmp, explicit);
  if (found) {
    const signal = await decodeExcerpt(found.file, seconds);
    return {
      signal,
      kind: "real",
      description: `real music: first ${seconds} s of ${found.label}, ${signal.sampleRate} Hz stereo`,
    };
  }
  if (explicit) throw new Error(`--music ${explicit}: no audio of at least ${seconds} s found there`);
  return {
    signal: makeSignal({ seconds, sampleRate: 44_100, channels: 2, seed: 7 }),
    kind: "synthetic",
    description: `SYNTHETIC signal (no real music of ≥ ${seconds} s found; install e.g. nexuiz-music): test/harness makeSignal, ${seconds} s, 44100 Hz stereo`,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Encoding

export function slice(signal: Signal, seconds: number): Signal {
  const n = Math.min(signal.channels[0]!.length, Math.round(seconds * signal.sampleRate));
  return { sampleRate: signal.sampleRate, channels: signal.channels.map((c) => c.subarray(0, n)) };
}

export type EncodedFormat = "wav16" | "wav24" | "mp3" | "flac" | "vorbis" | "opus" | "m4a";

export const FORMAT_LABELS: Record<EncodedFormat, string> = {
  wav16: "WAV 16-bit",
  wav24: "WAV 24-bit",
  mp3: "MP3 128k CBR",
  flac: "FLAC 16-bit",
  vorbis: "Ogg Vorbis",
  opus: "Ogg Opus",
  m4a: "M4A/AAC 128k",
};

/**
 * Writes `signal` in one format and returns the path, or null when the format needs a missing tool (M4A is
 * made by ffmpeg's AAC encoder; everything else by the npm WASM encoders of test/harness/audio.ts).
 */
export async function encodeTo(
  signal: Signal,
  format: EncodedFormat,
  dir: string,
  name: string,
): Promise<string | null> {
  const ext = {
    wav16: "wav",
    wav24: "wav",
    mp3: "mp3",
    flac: "flac",
    vorbis: "ogg",
    opus: "opus",
    m4a: "m4a",
  };
  const file = path.join(dir, `${name}.${format}.${ext[format]}`);
  switch (format) {
    case "wav16":
      writeFileSync(file, encodeWav(signal, "s16"));
      return file;
    case "wav24":
      writeFileSync(file, encodeWav(signal, "s24"));
      return file;
    case "mp3":
      writeFileSync(file, await encodeMp3(signal, 128));
      return file;
    case "flac":
      writeFileSync(file, await encodeFlac(signal, 16));
      return file;
    case "vorbis":
      writeFileSync(file, await encodeOggVorbis(signal));
      return file;
    case "opus":
      writeFileSync(file, await encodeOpus(signal));
      return file;
    case "m4a": {
      if (!hasTool("ffmpeg")) return null;
      const wav = path.join(dir, `${name}.m4a-source.wav`);
      writeFileSync(wav, encodeWav(signal, "s16"));
      const r = spawnSync("ffmpeg", ["-v", "error", "-i", wav, "-c:a", "aac", "-b:a", "128k", "-y", file], {
        encoding: "utf8",
      });
      if (r.error || r.status !== 0) return null;
      return file;
    }
  }
}

/**
 * A long 16-bit WAV made of `copies` repetitions of `signal`, written as a stream (a 1-hour stereo file is
 * ~635 MB and is never held in memory).
 */
export async function loopWav(signal: Signal, copies: number, file: string): Promise<void> {
  const one = encodeWav(signal, "s16");
  const data = one.subarray(44);
  const header = Buffer.from(one.subarray(0, 44));
  const total = data.length * copies;
  header.writeUInt32LE(Math.min(0xffffffff, 36 + total), 4);
  header.writeUInt32LE(total, 40);
  const out = createWriteStream(file);
  const write = async (b: Buffer) => {
    if (!out.write(b)) await once(out, "drain");
  };
  await write(header);
  for (let i = 0; i < copies; i++) await write(data);
  out.end();
  await once(out, "finish");
}

/**
 * A long MP3 made of `copies` back-to-back copies of one encoded MP3 (the WASM encoder writes bare frames with
 * no Xing/Info header, so the concatenation is a valid CBR stream of the summed length).
 */
export async function loopFile(source: Buffer, copies: number, file: string): Promise<void> {
  const out = createWriteStream(file);
  for (let i = 0; i < copies; i++) if (!out.write(source)) await once(out, "drain");
  out.end();
  await once(out, "finish");
}
