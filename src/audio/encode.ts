/**
 * Writing decoded audio back out, for renditions that changed the samples (the watermark): WAV by hand,
 * FLAC and MP3 with npm's WASM encoders (libFLAC and LAME, from `@audio/encode-flac` / `@audio/encode-mp3`).
 * Everything streams: chunks in, bytes out, nothing held beyond the encoder's own frame.
 *
 * @module
 */

import encodeFlac from "@audio/encode-flac";
import encodeMp3 from "@audio/encode-mp3";
import type { PcmChunk } from "./decode/index.js";
import type { AudioProbe } from "./format.js";

/** Formats Earmark can write. Others (M4A/AAC, Ogg Vorbis/Opus) have no encoder here that C2PA can sign. */
export type EncodableFormat = "wav" | "flac" | "mp3";

export interface EncodeTarget {
  format: EncodableFormat;
  sampleRate: number;
  channels: number;
  /** PCM word size for WAV and FLAC. */
  bitDepth: 16 | 24;
  /** MP3 constant bitrate. */
  bitrateKbps: number;
  /** WAV: the number of frames that will arrive, when known, for exact header sizes; else a streamed header. */
  frames: number | null;
}

const MP3_BITRATES = [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
const MP3_RATES = new Set([8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000]);

/** Whether LAME can write audio of this shape (mono or stereo at an MPEG-1/2/2.5 rate). */
export const mp3CanHold = (p: { channels: number; sampleRate: number }) =>
  p.channels <= 2 && MP3_RATES.has(p.sampleRate);

/**
 * What a re-encoded rendition of this upload is written as: its own format where an encoder exists and the
 * audio fits it (MP3 at its bitrate rounded up to a standard one, mono or stereo at an MP3 rate), otherwise
 * FLAC — lossless, so nothing is lost beyond what the upload's own codec already removed. 24-bit words when
 * the upload had more than 16 bits.
 */
export function renditionTarget(probe: AudioProbe): EncodeTarget {
  const bitDepth: 16 | 24 = (probe.bitDepth ?? 16) > 16 ? 24 : 16;
  const base = { sampleRate: probe.sampleRate, channels: probe.channels, bitDepth, frames: null };
  const declared = Number(probe.details.bitrateKbps) || 0;
  const bitrateKbps = MP3_BITRATES.find((b) => b >= declared) ?? 320;
  // A WAV's frame count is in its header, so the rendition's header can be exact.
  const wavFrames = Number(probe.details.frames);
  const frames = probe.format === "wav" && Number.isFinite(wavFrames) ? wavFrames : null;
  if (probe.format === "wav") return { ...base, format: "wav", bitrateKbps, frames };
  if (probe.format === "mp3" && mp3CanHold(probe))
    return { ...base, format: "mp3", bitrateKbps: Math.max(bitrateKbps, 128) };
  if (probe.channels <= 8) return { ...base, format: "flac", bitrateKbps };
  return { ...base, format: "wav", bitrateKbps, frames };
}

/** Streams `chunks` out as `target`. Chunks must have the target's rate and channel count. */
export async function* encodeAudio(
  chunks: AsyncIterable<PcmChunk>,
  target: EncodeTarget,
): AsyncIterable<Uint8Array> {
  if (target.format === "wav") {
    yield* encodeWav(chunks, target);
    return;
  }
  const encoder =
    target.format === "flac"
      ? await encodeFlac({
          sampleRate: target.sampleRate,
          channels: target.channels,
          bitDepth: target.bitDepth,
        })
      : await encodeMp3({
          sampleRate: target.sampleRate,
          channels: target.channels,
          bitrate: target.bitrateKbps,
        });
  try {
    for await (const chunk of chunks) {
      checkShape(chunk, target);
      const out = encoder.encode(chunk.channels);
      if (out.length > 0) yield out.slice();
    }
    const tail = encoder.flush();
    if (tail.length > 0) yield tail.slice();
  } finally {
    encoder.free();
  }
}

function checkShape(chunk: PcmChunk, target: EncodeTarget): void {
  if (chunk.sampleRate !== target.sampleRate || chunk.channels.length !== target.channels)
    throw new Error(
      `encode: a chunk of ${chunk.channels.length} channel(s) at ${chunk.sampleRate} Hz in a ` +
        `${target.channels}-channel ${target.sampleRate} Hz stream`,
    );
}

/** A canonical PCM WAV header; sizes 0xFFFFFFFF when the length is not known (a streamed WAV). */
export function wavHeader(
  target: Pick<EncodeTarget, "sampleRate" | "channels" | "bitDepth">,
  frames: number | null,
) {
  const width = target.bitDepth / 8;
  const dataBytes = frames === null ? 0xffffffff : frames * target.channels * width;
  const b = Buffer.alloc(44);
  b.write("RIFF", 0);
  b.writeUInt32LE(frames === null ? 0xffffffff : 36 + dataBytes, 4);
  b.write("WAVEfmt ", 8);
  b.writeUInt32LE(16, 16);
  b.writeUInt16LE(1, 20);
  b.writeUInt16LE(target.channels, 22);
  b.writeUInt32LE(target.sampleRate, 24);
  b.writeUInt32LE(target.sampleRate * target.channels * width, 28);
  b.writeUInt16LE(target.channels * width, 32);
  b.writeUInt16LE(target.bitDepth, 34);
  b.write("data", 36);
  b.writeUInt32LE(dataBytes, 40);
  return b;
}

async function* encodeWav(chunks: AsyncIterable<PcmChunk>, target: EncodeTarget): AsyncIterable<Uint8Array> {
  yield wavHeader(target, target.frames);
  const width = target.bitDepth / 8;
  const full = target.bitDepth === 16 ? 32768 : 8388608;
  let written = 0;
  for await (const chunk of chunks) {
    checkShape(chunk, target);
    const n = chunk.channels[0]?.length ?? 0;
    const out = Buffer.alloc(n * target.channels * width);
    let at = 0;
    for (let i = 0; i < n; i++) {
      for (let c = 0; c < target.channels; c++) {
        const v = Math.round((chunk.channels[c] as Float32Array)[i]! * full);
        const s = v > full - 1 ? full - 1 : v < -full ? -full : v;
        if (width === 2) out.writeInt16LE(s, at);
        else out.writeIntLE(s, at, 3);
        at += width;
      }
    }
    written += n;
    yield out;
  }
  if (target.frames !== null && written !== target.frames)
    throw new Error(`encode: WAV header says ${target.frames} frames, ${written} arrived`);
}

/** The file extension and formats a CLI output path asks for. */
export function formatForPath(file: string): EncodableFormat | null {
  const ext = file.toLowerCase().split(".").pop();
  return ext === "wav" || ext === "flac" || ext === "mp3" ? ext : null;
}
