/**
 * Test audio, generated in-process: PCM WAV written here, MP3/FLAC/Ogg encoded with npm encoders (WASM), so
 * tests need no system binaries. Signals are deterministic (seeded noise) so failures reproduce.
 */
import encodeFlacStream from "@audio/encode-flac";
import encodeMp3Stream from "@audio/encode-mp3";
import encodeOggStream from "@audio/encode-ogg";
import encodeOpusStream from "@audio/encode-opus";
import { bufferSource } from "../../src/audio/bytes.js";
import { decodeAudio } from "../../src/audio/decode/index.js";
import type { AudioProbe } from "../../src/audio/format.js";
import { openAudio } from "../../src/audio/open.js";

export interface Signal {
  sampleRate: number;
  channels: Float32Array[];
}

/** A small deterministic PRNG (mulberry32), for reproducible noise. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A few seconds of "music-like" audio: a melody of tones with harmonics plus a little noise. The melody is the
 * same for every seed (only the noise differs), so to the fingerprint stage every makeSignal is one
 * recording; use {@link makeMusic} for different ones. Committed fixtures were encoded from these signals.
 */
export function makeSignal(opts: {
  seconds: number;
  sampleRate?: number;
  channels?: number;
  seed?: number;
  amplitude?: number;
}): Signal {
  const sampleRate = opts.sampleRate ?? 44100;
  const n = Math.round(opts.seconds * sampleRate);
  const random = rng(opts.seed ?? 1);
  const amplitude = opts.amplitude ?? 0.3;
  const notes = [220, 277.18, 329.63, 440, 369.99, 293.66];
  const channels = Array.from({ length: opts.channels ?? 2 }, (_, c) => {
    const x = new Float32Array(n);
    for (let i = 0; i < n; i++) {
      const t = i / sampleRate;
      const f = notes[Math.floor(t * 2) % notes.length]! * (c === 1 ? 1.5 : 1);
      x[i] =
        amplitude * (0.7 * Math.sin(2 * Math.PI * f * t) + 0.2 * Math.sin(4 * Math.PI * f * t)) +
        0.02 * (random() - 0.5);
    }
    return x;
  });
  return { sampleRate, channels };
}

export type WavSampleFormat = "u8" | "s16" | "s24" | "s32" | "f32";

/** Writes a canonical WAV (PCM or IEEE float). */
export function encodeWav(signal: Signal, format: WavSampleFormat = "s16"): Buffer {
  const width = { u8: 1, s16: 2, s24: 3, s32: 4, f32: 4 }[format];
  const ch = signal.channels.length;
  const n = signal.channels[0]?.length ?? 0;
  const dataBytes = n * ch * width;
  const b = Buffer.alloc(44 + dataBytes);
  b.write("RIFF", 0);
  b.writeUInt32LE(36 + dataBytes, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(format === "f32" ? 3 : 1, 20);
  b.writeUInt16LE(ch, 22);
  b.writeUInt32LE(signal.sampleRate, 24);
  b.writeUInt32LE(signal.sampleRate * ch * width, 28);
  b.writeUInt16LE(ch * width, 32);
  b.writeUInt16LE(width * 8, 34);
  b.write("data", 36);
  b.writeUInt32LE(dataBytes, 40);
  let at = 44;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < ch; c++) {
      const v = Math.max(-1, Math.min(1, signal.channels[c]![i]!));
      switch (format) {
        case "u8":
          b.writeUInt8(Math.min(255, Math.round(v * 128 + 128)), at);
          break;
        case "s16":
          b.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v * 32768))), at);
          break;
        case "s24":
          b.writeIntLE(Math.max(-8388608, Math.min(8388607, Math.round(v * 8388608))), at, 3);
          break;
        case "s32":
          b.writeInt32LE(Math.max(-2147483648, Math.min(2147483647, Math.round(v * 2147483648))), at);
          break;
        case "f32":
          b.writeFloatLE(v, at);
          break;
      }
      at += width;
    }
  }
  return b;
}

interface StreamEncoder {
  encode(channels: Float32Array[]): Uint8Array | Promise<Uint8Array>;
  flush(): Uint8Array | Promise<Uint8Array>;
  free(): void;
}

async function runEncoder(encoder: StreamEncoder, signal: Signal): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  const n = signal.channels[0]?.length ?? 0;
  for (let i = 0; i < n; i += 4096)
    parts.push(await encoder.encode(signal.channels.map((c) => c.subarray(i, i + 4096))));
  parts.push(await encoder.flush());
  encoder.free();
  return Buffer.concat(parts);
}

export async function encodeMp3(signal: Signal, bitrate = 128): Promise<Buffer> {
  return runEncoder(
    await encodeMp3Stream({ sampleRate: signal.sampleRate, channels: signal.channels.length, bitrate }),
    signal,
  );
}

export async function encodeFlac(signal: Signal, bitDepth: 16 | 24 = 16): Promise<Buffer> {
  return runEncoder(
    await encodeFlacStream({ sampleRate: signal.sampleRate, channels: signal.channels.length, bitDepth }),
    signal,
  );
}

export async function encodeOggVorbis(signal: Signal): Promise<Buffer> {
  return runEncoder(
    await encodeOggStream({ sampleRate: signal.sampleRate, channels: signal.channels.length }),
    signal,
  );
}

/** Opus encodes at 48 kHz; pass a 48 kHz signal. */
export async function encodeOpus(signal: Signal): Promise<Buffer> {
  return runEncoder(
    await encodeOpusStream({ sampleRate: signal.sampleRate, channels: signal.channels.length }),
    signal,
  );
}

/** An MP3 whose headers are fine but with 2 KB of garbage in the middle: only decoding finds it. */
export async function corruptMp3(): Promise<Buffer> {
  const mp3 = await encodeMp3(makeSignal({ seconds: 6 }));
  const mid = Math.floor(mp3.length / 2);
  for (let i = mid; i < mid + 2000; i++) mp3[i] = (i * 7919) & 255;
  return mp3;
}

/**
 * Denser "music": three voices of random notes (chosen by the seed) with harmonics and decaying envelopes,
 * plus noise bursts on a beat. Unlike {@link makeSignal} it does not repeat, so fingerprints of different
 * seeds share nothing and an excerpt has exactly one place in the piece.
 */
export function makeMusic(opts: {
  seconds: number;
  seed: number;
  sampleRate?: number;
  channels?: number;
}): Signal {
  const sampleRate = opts.sampleRate ?? 44100;
  const n = Math.round(opts.seconds * sampleRate);
  const random = rng(opts.seed);
  const mono = new Float32Array(n);
  for (let voice = 0; voice < 3; voice++) {
    let at = 0;
    while (at < n) {
      const len = Math.round((0.15 + random() * 0.45) * sampleRate);
      const midi = 45 + voice * 7 + Math.floor(random() * 24);
      const f = 440 * 2 ** ((midi - 69) / 12);
      const amp = 0.05 + random() * 0.1;
      for (let i = 0; i < len && at + i < n; i++) {
        const t = i / sampleRate;
        const env = Math.exp(-3 * t) * Math.min(1, i / 200);
        const w = 2 * Math.PI * f * t;
        mono[at + i]! += amp * env * (Math.sin(w) + 0.5 * Math.sin(2 * w) + 0.25 * Math.sin(3 * w));
      }
      at += len;
    }
  }
  const beat = Math.round(0.5 * sampleRate);
  for (let at = 0; at < n; at += beat) {
    for (let i = 0; i < 2000 && at + i < n; i++) mono[at + i]! += 0.1 * (random() - 0.5) * Math.exp(-i / 400);
  }
  const channels = Array.from({ length: opts.channels ?? 2 }, () => mono.slice());
  return { sampleRate, channels };
}

/**
 * {@link makeMusic} over a bed of darkened noise (a pad, cymbals, room): the dense spectrum produced music has
 * (median spectral flatness ~0.36, under the policy's noise-only threshold of 0.5).
 * The watermark needs it — on the bare notes of makeMusic, sparse and decaying like plucked strings, the mark
 * does not decode (docs/adr/0010-watermark.md, known failures).
 */
export function makeMix(opts: {
  seconds: number;
  seed: number;
  sampleRate?: number;
  channels?: number;
}): Signal {
  const signal = makeMusic(opts);
  const random = rng(opts.seed ^ 0x5eed);
  let lp = 0;
  const n = signal.channels[0]!.length;
  for (let i = 0; i < n; i++) {
    lp = 0.9 * lp + 0.1 * (random() - 0.5);
    for (const c of signal.channels) c[i]! += 0.3 * lp;
  }
  return signal;
}

/**
 * Noise-like "rain": white noise whose level changes every 0.1 s, no tones at all. Its spectral peaks are
 * chance maxima of the noise, so they depend on exactly where the analysis frames fall — the hard case for
 * a trimmed copy whose frames lie between the original's.
 */
export function makeRain(opts: { seconds: number; seed: number; sampleRate?: number }): Signal {
  const sampleRate = opts.sampleRate ?? 44100;
  const n = Math.round(opts.seconds * sampleRate);
  const random = rng(opts.seed);
  const step = Math.round(sampleRate / 10);
  const x = new Float32Array(n);
  let level = 0;
  for (let i = 0; i < n; i++) {
    if (i % step === 0) level = 0.1 + 0.2 * random();
    x[i] = level * (random() - 0.5);
  }
  return { sampleRate, channels: [x, x.slice()] };
}

/** Plays `signal` `factor` times faster (pitch and tempo together), by linear interpolation. */
export function playFaster(signal: Signal, factor: number): Signal {
  const n = Math.floor(signal.channels[0]!.length / factor);
  return {
    sampleRate: signal.sampleRate,
    channels: signal.channels.map((c) => {
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) {
        const x = i * factor;
        const i0 = Math.floor(x);
        const f = x - i0;
        out[i] = (c[i0] ?? 0) * (1 - f) + (c[i0 + 1] ?? 0) * f;
      }
      return out;
    }),
  };
}

/** `seconds` of `signal` from `fromS`. */
export function excerpt(signal: Signal, fromS: number, seconds: number): Signal {
  const a = Math.round(fromS * signal.sampleRate);
  const b = a + Math.round(seconds * signal.sampleRate);
  return { sampleRate: signal.sampleRate, channels: signal.channels.map((c) => c.slice(a, b)) };
}

/** Decodes a file's bytes (any format Earmark reads) into one signal, with the probe. */
export async function decodeFile(bytes: Uint8Array): Promise<Signal & { probe: AudioProbe }> {
  const limits = { maxDurationS: 3600 };
  const source = bufferSource(bytes);
  const probe = await openAudio(source, limits);
  const parts: Float32Array[][] = [];
  for await (const chunk of decodeAudio(source, probe, limits)) parts.push(chunk.channels);
  const n = parts.reduce((sum, p) => sum + p[0]!.length, 0);
  const channels = Array.from({ length: probe.channels }, (_, ch) => {
    const out = new Float32Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p[ch]!, at);
      at += p[ch]!.length;
    }
    return out;
  });
  return { sampleRate: probe.sampleRate, channels, probe };
}
