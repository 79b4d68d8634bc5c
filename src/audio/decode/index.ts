import { decoder as aacDecoder } from "@audio/decode-aac";
import { decoder as mp4Decoder } from "@audio/decode-mp4";
import { FLACDecoder } from "@wasm-audio-decoders/flac";
import { OggVorbisDecoder } from "@wasm-audio-decoders/ogg-vorbis";
import { MPEGDecoder } from "mpg123-decoder";
import { OggOpusDecoder } from "ogg-opus-decoder";
import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import type { AudioFormat, AudioProbe } from "../format.js";
import { formatDuration } from "../probe/index.js";
import type { WavEncoding } from "../probe/wav.js";
import { OggIntegrityCheck } from "./ogg-check.js";
import { bytesPerSample, pcmToFloat } from "./pcm.js";

/** A block of decoded audio: one Float32Array per channel, all the same length. */
export interface PcmChunk {
  channels: Float32Array[];
  sampleRate: number;
}

export interface DecodeOptions {
  maxDurationS: number;
}

interface Decoded {
  channelData: Float32Array[];
  sampleRate: number;
  errors?: { message: string; outputSamples?: number }[];
}

/** The common shape of the codec libraries, after adaptation. */
interface CodecDecoder {
  decode(bytes: Uint8Array): Decoded | Promise<Decoded>;
  flush(): Decoded | Promise<Decoded>;
  free(): void;
}

const EMPTY: Decoded = { channelData: [], sampleRate: 0 };

/** Decoder versions, recorded with the decode signal so a decision can be traced to the code that read the audio. */
export const DECODER_LIBRARIES: Record<AudioFormat, string> = {
  wav: "earmark-pcm",
  mp3: "mpg123-decoder",
  flac: "@wasm-audio-decoders/flac",
  "ogg-vorbis": "@wasm-audio-decoders/ogg-vorbis",
  "ogg-opus": "ogg-opus-decoder",
  m4a: "@audio/decode-mp4",
  aac: "@audio/decode-aac",
};

async function openCodec(format: Exclude<AudioFormat, "wav">): Promise<CodecDecoder> {
  switch (format) {
    case "mp3": {
      const d = new MPEGDecoder();
      await d.ready;
      return { decode: (b) => d.decode(b), flush: () => EMPTY, free: () => d.free() };
    }
    case "flac": {
      const d = new FLACDecoder();
      await d.ready;
      return d;
    }
    case "ogg-vorbis": {
      const d = new OggVorbisDecoder();
      await d.ready;
      return d;
    }
    case "ogg-opus": {
      const d = new OggOpusDecoder();
      await d.ready;
      return d;
    }
    case "m4a": {
      const d = await mp4Decoder();
      return d;
    }
    case "aac": {
      const d = await aacDecoder();
      return d;
    }
  }
}

/**
 * The codec libraries print their decode errors to the console as well as returning them; we report them as
 * failures instead, so their console output is swallowed while a (synchronous) decode call runs.
 */
function quietly<T>(fn: () => T): T {
  const { error, warn } = console;
  console.error = () => {};
  console.warn = () => {};
  try {
    return fn();
  } finally {
    console.error = error;
    console.warn = warn;
  }
}

/**
 * Decodes stored audio as a stream of planar float chunks, never holding the whole signal. Corrupt frames,
 * truncation and streams longer than the limit end the stream with an {@link AudioInputError}.
 *
 * @example
 * for await (const chunk of decodeAudio(source, probe, { maxDurationS: 14400 })) total += chunk.channels[0].length;
 */
export async function* decodeAudio(
  src: ByteSource,
  probe: AudioProbe,
  opts: DecodeOptions,
): AsyncGenerator<PcmChunk> {
  if (probe.format === "wav") {
    yield* decodeWav(src, probe, opts);
    return;
  }
  const codec = await openCodec(probe.format);
  const ogg = probe.format === "ogg-vorbis" || probe.format === "ogg-opus" ? new OggIntegrityCheck() : null;
  const counter = new FrameCounter(probe, opts);
  try {
    for await (const bytes of src.stream(0, src.size)) {
      ogg?.push(bytes);
      const out = await decodeChunk(codec, bytes, counter);
      if (out) yield out;
    }
    ogg?.finish();
    const tail = await decodeChunk(codec, null, counter);
    if (tail) yield tail;
  } finally {
    codec.free();
  }
  counter.finish();
}

async function decodeChunk(
  codec: CodecDecoder,
  bytes: Uint8Array | null,
  counter: FrameCounter,
): Promise<PcmChunk | null> {
  let result: Decoded;
  try {
    result = await quietly(() => (bytes ? codec.decode(bytes) : codec.flush()));
  } catch (err) {
    throw new AudioInputError("audio-corrupt", `The decoder stopped: ${(err as Error).message}`);
  }
  const firstError = result.errors?.[0];
  if (firstError) {
    const at = counter.sampleRate ? ` near ${formatDuration(counter.frames / counter.sampleRate)}` : "";
    throw new AudioInputError("audio-corrupt", `Corrupt audio${at}: ${firstError.message.trim()}`);
  }
  return counter.take(result);
}

/** Counts decoded frames, keeps the channel layout the probe declared, and enforces the duration limit. */
class FrameCounter {
  frames = 0;
  sampleRate = 0;
  constructor(
    private readonly probe: AudioProbe,
    private readonly opts: DecodeOptions,
  ) {}

  take(d: Decoded): PcmChunk | null {
    const length = d.channelData[0]?.length ?? 0;
    if (length === 0) return null;
    if (this.sampleRate === 0) this.sampleRate = d.sampleRate;
    else if (d.sampleRate !== this.sampleRate)
      throw new AudioInputError(
        "audio-corrupt",
        `The sample rate changes mid-stream (${this.sampleRate} → ${d.sampleRate} Hz).`,
      );
    // mpg123 always returns two channels; a mono stream is duplicated, so keep one.
    const channels =
      d.channelData.length > this.probe.channels
        ? d.channelData.slice(0, this.probe.channels)
        : d.channelData;
    this.frames += length;
    if (this.frames > this.opts.maxDurationS * this.sampleRate)
      throw new AudioInputError(
        "duration-too-long",
        `The audio is longer than ${formatDuration(this.opts.maxDurationS)}.`,
      );
    return { channels, sampleRate: this.sampleRate };
  }

  finish(): void {
    if (this.frames === 0) throw new AudioInputError("no-audio", "The file decoded to no audio at all.");
    const declared = declaredFrames(this.probe);
    // Encoders pad and trim by up to a couple of frames; a real truncation loses far more.
    if (declared !== null && this.frames < declared * 0.99 - 4096) {
      const got = formatDuration(this.frames / this.sampleRate);
      const want = formatDuration(declared / this.sampleRate);
      throw new AudioInputError(
        "audio-truncated",
        `The file declares ${want} of audio but decodes to ${got}.`,
      );
    }
  }
}

function declaredFrames(probe: AudioProbe): number | null {
  if (
    probe.format === "flac" &&
    typeof probe.details.totalSamples === "number" &&
    probe.details.totalSamples > 0
  )
    return probe.details.totalSamples;
  if (probe.format === "mp3" && probe.durationS !== null)
    return Math.round(probe.durationS * probe.sampleRate);
  return null;
}

const WAV_CHUNK_FRAMES = 16384;

async function* decodeWav(src: ByteSource, probe: AudioProbe, opts: DecodeOptions): AsyncGenerator<PcmChunk> {
  const encoding = probe.details.encoding as WavEncoding;
  const frameBytes = bytesPerSample(encoding) * probe.channels;
  const maxFrames = opts.maxDurationS * probe.sampleRate;
  if ((probe.details.frames as number) > maxFrames)
    throw new AudioInputError(
      "duration-too-long",
      `The audio is longer than ${formatDuration(opts.maxDurationS)}.`,
    );
  const end = probe.audioOffset + probe.audioBytes;
  const want = WAV_CHUNK_FRAMES * frameBytes;
  let buffer = new Uint8Array(want);
  let filled = 0;
  for await (const bytes of src.stream(probe.audioOffset, end)) {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(want - filled, bytes.length - at);
      buffer.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === want) {
        yield { channels: pcmToFloat(buffer, encoding, probe.channels), sampleRate: probe.sampleRate };
        buffer = new Uint8Array(want);
        filled = 0;
      }
    }
  }
  const whole = filled - (filled % frameBytes);
  if (whole > 0)
    yield {
      channels: pcmToFloat(buffer.subarray(0, whole), encoding, probe.channels),
      sampleRate: probe.sampleRate,
    };
}
