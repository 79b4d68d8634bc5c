/**
 * Compares our loudness figures with ffmpeg's ebur128 filter and measures our speed.
 *
 *   npx tsx bench/loudness.ts [file.wav …]
 *
 * For each WAV file (PCM 8/16/24/32-bit, float 32/64-bit, plain or WAVE_FORMAT_EXTENSIBLE) it computes our
 * stats and, when ffmpeg is on the PATH, runs `ffmpeg -nostats -i FILE -af ebur128=peak=true -f null -` and
 * parses its Summary. It prints integrated loudness, loudness range and true peak side by side, and our
 * processing speed as a multiple of real time (decoding excluded: the file is converted to float chunks
 * first, then pushed through the accumulator in 4096-frame chunks as a decoder would).
 *
 * ffmpeg's ebur128 designs its K-weighting for the input rate with the plain bilinear transform and the RLB
 * numerator left un-normalised, which reads speech about 0.2 LU loud at 8 kHz (and slightly less at 11–22
 * kHz). For inputs not at 48 kHz the table therefore also shows ffmpeg on the file resampled to 48 kHz
 * ("I ffm@48k"), where its filter is exactly the standard's.
 *
 * Without arguments it writes a few synthetic speech-like and music-like signals (44.1 and 48 kHz) to a
 * temporary directory and uses those.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { type AudioStats, createStatsAccumulator } from "../src/audio/stats.js";

interface Wav {
  sampleRate: number;
  channels: Float32Array[];
}

// ---------------------------------------------------------------------------------------------------------
// WAV reading and writing

const WAVE_FORMAT_PCM = 1;
const WAVE_FORMAT_IEEE_FLOAT = 3;
const WAVE_FORMAT_EXTENSIBLE = 0xfffe;

function parseWav(bytes: Buffer, name: string): Wav {
  const fail = (why: string): never => {
    throw new Error(`${name}: ${why}`);
  };
  if (
    bytes.length < 12 ||
    bytes.toString("latin1", 0, 4) !== "RIFF" ||
    bytes.toString("latin1", 8, 12) !== "WAVE"
  ) {
    fail("not a RIFF/WAVE file");
  }
  let format = 0;
  let channelCount = 0;
  let sampleRate = 0;
  let bits = 0;
  let blockAlign = 0;
  let dataStart = -1;
  let dataLength = 0;
  let pos = 12;
  while (pos + 8 <= bytes.length) {
    const id = bytes.toString("latin1", pos, pos + 4);
    const size = bytes.readUInt32LE(pos + 4);
    const body = pos + 8;
    if (id === "fmt ") {
      format = bytes.readUInt16LE(body);
      channelCount = bytes.readUInt16LE(body + 2);
      sampleRate = bytes.readUInt32LE(body + 4);
      blockAlign = bytes.readUInt16LE(body + 12);
      bits = bytes.readUInt16LE(body + 14);
      // Extensible: the real format code is the first two bytes of the sub-format GUID.
      if (format === WAVE_FORMAT_EXTENSIBLE && size >= 40) format = bytes.readUInt16LE(body + 24);
    } else if (id === "data") {
      dataStart = body;
      // Streamed WAVs may leave the size at 0 or 0xFFFFFFFF: take what the file holds.
      dataLength = Math.min(size === 0 ? Number.POSITIVE_INFINITY : size, bytes.length - body);
      break;
    }
    pos = body + size + (size & 1);
  }
  if (!format || dataStart < 0) fail("missing fmt or data chunk");
  const bytesPerSample = bits / 8;
  const supported =
    (format === WAVE_FORMAT_PCM && [8, 16, 24, 32].includes(bits)) ||
    (format === WAVE_FORMAT_IEEE_FLOAT && (bits === 32 || bits === 64));
  if (!supported) fail(`unsupported format ${format} with ${bits} bits`);
  if (blockAlign !== bytesPerSample * channelCount) fail(`unexpected block align ${blockAlign}`);
  const frames = Math.floor(dataLength / blockAlign);
  const channels = Array.from({ length: channelCount }, () => new Float32Array(frames));
  const read = sampleReader(format, bits);
  for (let f = 0; f < frames; f++) {
    const base = dataStart + f * blockAlign;
    for (let c = 0; c < channelCount; c++) channels[c]![f] = read(bytes, base + c * bytesPerSample);
  }
  return { sampleRate, channels };
}

function sampleReader(format: number, bits: number): (b: Buffer, at: number) => number {
  if (format === WAVE_FORMAT_IEEE_FLOAT) {
    return bits === 32 ? (b, at) => b.readFloatLE(at) : (b, at) => b.readDoubleLE(at);
  }
  switch (bits) {
    case 8:
      return (b, at) => (b[at]! - 128) / 128;
    case 16:
      return (b, at) => b.readInt16LE(at) / 32_768;
    case 24:
      return (b, at) => b.readIntLE(at, 3) / 8_388_608;
    default:
      return (b, at) => b.readInt32LE(at) / 2_147_483_648;
  }
}

function writeWav(path: string, wav: Wav, encoding: "pcm16" | "pcm24" | "float32"): void {
  const { sampleRate, channels } = wav;
  const bytesPerSample = encoding === "pcm16" ? 2 : encoding === "pcm24" ? 3 : 4;
  const frames = channels[0]!.length;
  const blockAlign = bytesPerSample * channels.length;
  const out = Buffer.alloc(44 + frames * blockAlign);
  out.write("RIFF", 0, "latin1");
  out.writeUInt32LE(36 + frames * blockAlign, 4);
  out.write("WAVEfmt ", 8, "latin1");
  out.writeUInt32LE(16, 16);
  out.writeUInt16LE(encoding === "float32" ? WAVE_FORMAT_IEEE_FLOAT : WAVE_FORMAT_PCM, 20);
  out.writeUInt16LE(channels.length, 22);
  out.writeUInt32LE(sampleRate, 24);
  out.writeUInt32LE(sampleRate * blockAlign, 28);
  out.writeUInt16LE(blockAlign, 32);
  out.writeUInt16LE(bytesPerSample * 8, 34);
  out.write("data", 36, "latin1");
  out.writeUInt32LE(frames * blockAlign, 40);
  let at = 44;
  for (let f = 0; f < frames; f++) {
    for (const ch of channels) {
      const v = Math.max(-1, Math.min(1, ch[f]!));
      if (encoding === "float32") out.writeFloatLE(ch[f]!, at);
      else if (encoding === "pcm16") out.writeInt16LE(Math.round(v * 32_767), at);
      else out.writeIntLE(Math.round(v * 8_388_607), at, 3);
      at += bytesPerSample;
    }
  }
  writeFileSync(path, out);
}

// ---------------------------------------------------------------------------------------------------------
// Synthetic test signals

/** Deterministic PRNG (mulberry32) so generated files are the same on every run. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Two-pole resonator used as a crude formant / band-pass filter. */
function resonator(freq: number, bandwidth: number, fs: number): (x: number) => number {
  const r = Math.exp((-Math.PI * bandwidth) / fs);
  const a1 = -2 * r * Math.cos((2 * Math.PI * freq) / fs);
  const a2 = r * r;
  const g = 1 - r;
  let y1 = 0;
  let y2 = 0;
  return (x) => {
    const y = g * x - a1 * y1 - a2 * y2;
    y2 = y1;
    y1 = y;
    return y;
  };
}

/** Speech-like: voiced syllables (glottal pulse train through three formants) and fricatives, with pauses. */
function speechLike(fs: number, seconds: number, seed: number): Wav {
  const rnd = prng(seed);
  const n = Math.round(fs * seconds);
  const x = new Float32Array(n);
  let i = Math.round(0.4 * fs);
  while (i < n) {
    const phraseEnd = Math.min(n, i + Math.round((1.5 + 2.5 * rnd()) * fs));
    const f1 = resonator(400 + 400 * rnd(), 80, fs);
    const f2 = resonator(1100 + 900 * rnd(), 120, fs);
    const f3 = resonator(2500 + 500 * rnd(), 200, fs);
    const hiss = resonator(Math.min(5000, fs * 0.3), 2000, fs);
    let phase = 0;
    const pitch = 100 + 120 * rnd();
    for (; i < phraseEnd; i++) {
      const t = i / fs;
      const syllable = Math.max(0, Math.sin(2 * Math.PI * 4.3 * t)) ** 2; // ~4 syllables per second
      const f0 = pitch * (1 + 0.15 * Math.sin(2 * Math.PI * 0.7 * t));
      phase += f0 / fs;
      let pulse = 0;
      if (phase >= 1) {
        phase -= 1;
        pulse = 1;
      }
      const voiced = f1(pulse) * 6 + f2(pulse) * 4 + f3(pulse) * 2;
      const fricative = Math.sin(2 * Math.PI * 1.3 * t) > 0.85 ? hiss(rnd() - 0.5) * 3 : 0;
      x[i] = 0.5 * syllable * voiced + fricative + 0.0005 * (rnd() - 0.5);
    }
    const pause = Math.min(n, i + Math.round((0.2 + 0.6 * rnd()) * fs));
    for (; i < pause; i++) x[i] = 0.0005 * (rnd() - 0.5);
  }
  normalisePeak(x, 10 ** (-3 / 20));
  return { sampleRate: fs, channels: [x] };
}

/** Music-like: chords of band-limited saws, bass, kick, hi-hat; a quiet intro then a loud section. */
function musicLike(fs: number, seconds: number, seed: number, loud: boolean): Wav {
  const rnd = prng(seed);
  const n = Math.round(fs * seconds);
  const left = new Float32Array(n);
  const right = new Float32Array(n);
  const chords = [
    [220, 277.18, 329.63],
    [196, 246.94, 293.66],
    [174.61, 220, 261.63],
    [196, 246.94, 329.63],
  ];
  const beat = 60 / 120;
  const hat = resonator(Math.min(9000, fs * 0.4), 4000, fs);
  for (let i = 0; i < n; i++) {
    const t = i / fs;
    const chord = chords[Math.floor(t / (4 * beat)) % chords.length]!;
    let pad = 0;
    for (const f of chord) {
      for (let h = 1; h <= 8 && f * h < fs / 2.2; h++) pad += Math.sin(2 * Math.PI * f * h * t + h) / h;
    }
    const bass = Math.sin(2 * Math.PI * (chord[0]! / 2) * t);
    const tb = t % beat;
    const kick = Math.sin(2 * Math.PI * (50 + 100 * Math.exp(-tb * 30)) * tb) * Math.exp(-tb * 8);
    const th = (t + beat / 2) % beat;
    const hh = hat(rnd() - 0.5) * Math.exp(-th * 40) * 4;
    const section = t < seconds / 3 ? 0.25 : 1; // quiet intro → a loudness range to measure
    const l = section * (0.12 * pad + 0.3 * bass + 0.5 * kick + hh);
    const r = section * (0.1 * pad + 0.3 * bass + 0.5 * kick + 0.8 * hh);
    left[i] = loud ? Math.tanh(2.5 * l) : l;
    right[i] = loud ? Math.tanh(2.5 * r) : r;
  }
  const peak = loud ? 10 ** (-0.3 / 20) : 10 ** (-6 / 20);
  const scale = peak / Math.max(maxAbs(left), maxAbs(right));
  for (let i = 0; i < n; i++) {
    left[i]! *= scale;
    right[i]! *= scale;
  }
  return { sampleRate: fs, channels: [left, right] };
}

function maxAbs(x: Float32Array): number {
  let m = 0;
  for (const v of x) m = Math.max(m, Math.abs(v));
  return m;
}

function normalisePeak(x: Float32Array, peak: number): void {
  const s = peak / maxAbs(x);
  for (let i = 0; i < x.length; i++) x[i]! *= s;
}

function generateFiles(): string[] {
  const dir = mkdtempSync(join(tmpdir(), "earmark-loudness-"));
  const specs: [string, Wav, "pcm16" | "pcm24" | "float32"][] = [
    ["speech-48k-mono.wav", speechLike(48_000, 40, 1), "pcm24"],
    ["speech-44k1-mono.wav", speechLike(44_100, 40, 2), "pcm16"],
    ["music-44k1-stereo.wav", musicLike(44_100, 60, 3, false), "pcm16"],
    ["music-48k-stereo-loud.wav", musicLike(48_000, 60, 4, true), "float32"],
  ];
  return specs.map(([name, wav, encoding]) => {
    const path = join(dir, name);
    writeWav(path, wav, encoding);
    return path;
  });
}

// ---------------------------------------------------------------------------------------------------------
// Measuring

const CHUNK = 4096;

function measure(wav: Wav): { stats: AudioStats; seconds: number } {
  const acc = createStatsAccumulator(wav.sampleRate, wav.channels.length);
  const frames = wav.channels[0]!.length;
  const start = process.hrtime.bigint();
  for (let p = 0; p < frames; p += CHUNK) acc.push(wav.channels.map((c) => c.subarray(p, p + CHUNK)));
  const stats = acc.finish();
  return { stats, seconds: Number(process.hrtime.bigint() - start) / 1e9 };
}

interface FfmpegSummary {
  i: number | null;
  lra: number | null;
  tp: number | null;
  seconds: number;
}

function hasFfmpeg(): boolean {
  const r = spawnSync("ffmpeg", ["-version"], { encoding: "utf8" });
  return !r.error && r.status === 0;
}

function runFfmpeg(file: string, resampleTo48k = false): FfmpegSummary | string {
  const start = process.hrtime.bigint();
  const filter = resampleTo48k ? "aresample=48000,ebur128=peak=true" : "ebur128=peak=true";
  const r = spawnSync("ffmpeg", ["-nostats", "-i", file, "-af", filter, "-f", "null", "-"], {
    encoding: "utf8",
    maxBuffer: 512 * 1024 * 1024,
  });
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  if (r.error) return r.error.message;
  const summary = r.stderr.slice(r.stderr.lastIndexOf("Summary:"));
  if (r.status !== 0 || !summary.startsWith("Summary:")) return `ffmpeg exited ${r.status}`;
  const grab = (re: RegExp): number | null => {
    const m = re.exec(summary);
    return m ? Number(m[1]) : null;
  };
  return {
    i: grab(/\bI:\s+(-?[\d.]+|-?inf) LUFS/),
    lra: grab(/\bLRA:\s+(-?[\d.]+) LU/),
    tp: grab(/True peak:\s+Peak:\s+(-?[\d.]+|-?inf) dBFS/),
    seconds,
  };
}

const fmt = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined || !Number.isFinite(v) ? "—" : v.toFixed(digits);

function pad(cells: string[], widths: number[]): string {
  return cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
}

function main(): void {
  const args = process.argv.slice(2);
  const files = args.length > 0 ? args : generateFiles();
  const ffmpeg = hasFfmpeg();
  if (!ffmpeg) console.log("ffmpeg not found on PATH: showing our figures only.\n");

  // Warm the JIT so the first file's speed is not dominated by compilation.
  measure(musicLike(44_100, 10, 99, false));

  const header = ["file", "rate", "ch", "dur s", "I ours", "I ffm", "ΔI", "I ffm@48k"];
  header.push("LRA ours", "LRA ffm", "TP ours", "TP ffm", "ΔTP", "ours ×RT", "ffm ×RT");
  const rows: string[][] = [];
  let audioSeconds = 0;
  let ourSeconds = 0;
  let worstI = 0;
  let worstI48 = 0;
  let worstTp = 0;
  let worstLra = 0;
  for (const file of files) {
    let wav: Wav;
    try {
      wav = parseWav(readFileSync(file), file);
    } catch (err) {
      console.error(`skipping ${file}: ${(err as Error).message}`);
      continue;
    }
    const { stats, seconds } = measure(wav);
    audioSeconds += stats.durationS;
    ourSeconds += seconds;
    const ff = ffmpeg ? runFfmpeg(file) : null;
    if (typeof ff === "string") console.error(`${file}: ${ff}`);
    const theirs = ff && typeof ff !== "string" ? ff : null;
    const at48 = ffmpeg && wav.sampleRate !== 48_000 ? runFfmpeg(file, true) : null;
    const theirI48 = at48 && typeof at48 !== "string" && at48.i !== null && at48.i > -70 ? at48.i : null;
    // ffmpeg prints −70.0 LUFS when nothing passes the gate, where we report null.
    const theirI = theirs?.i !== null && theirs?.i !== undefined && theirs.i > -70 ? theirs.i : null;
    const dI =
      stats.integratedLoudnessLufs !== null && theirI !== null ? stats.integratedLoudnessLufs - theirI : null;
    const dTp = stats.truePeakDbtp !== null && theirs?.tp != null ? stats.truePeakDbtp - theirs.tp : null;
    const dLra =
      stats.loudnessRangeLu !== null && theirs?.lra != null ? stats.loudnessRangeLu - theirs.lra : null;
    if (dI !== null) worstI = Math.max(worstI, Math.abs(dI));
    const ref48 = wav.sampleRate === 48_000 ? theirI : theirI48;
    if (stats.integratedLoudnessLufs !== null && ref48 !== null) {
      worstI48 = Math.max(worstI48, Math.abs(stats.integratedLoudnessLufs - ref48));
    }
    if (dTp !== null) worstTp = Math.max(worstTp, Math.abs(dTp));
    if (dLra !== null) worstLra = Math.max(worstLra, Math.abs(dLra));
    rows.push([
      basename(file),
      String(wav.sampleRate),
      String(wav.channels.length),
      stats.durationS.toFixed(1),
      fmt(stats.integratedLoudnessLufs, 2),
      fmt(theirI),
      dI === null ? "" : dI.toFixed(2),
      at48 ? fmt(theirI48) : "",
      fmt(stats.loudnessRangeLu, 2),
      fmt(theirs?.lra),
      fmt(stats.truePeakDbtp, 2),
      fmt(theirs?.tp),
      dTp === null ? "" : dTp.toFixed(2),
      (stats.durationS / seconds).toFixed(0),
      theirs ? (stats.durationS / theirs.seconds).toFixed(0) : "",
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  console.log(pad(header, widths));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const r of rows) console.log(pad(r, widths));
  console.log(
    `\n${rows.length} file(s), ${audioSeconds.toFixed(1)} s of audio in ${ourSeconds.toFixed(3)} s: ` +
      `${(audioSeconds / ourSeconds).toFixed(0)}× real time overall.`,
  );
  if (ffmpeg) {
    console.log(
      `Largest |ours − ffmpeg|: I ${worstI.toFixed(2)} LU, LRA ${worstLra.toFixed(2)} LU, TP ${worstTp.toFixed(2)} dB ` +
        `(ffmpeg prints one decimal); I against ffmpeg at 48 kHz ${worstI48.toFixed(2)} LU.`,
    );
  }
}

main();
