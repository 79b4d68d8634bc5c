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
import { FlacIntegrityCheck } from "./flac-check.js";
import { MpegIntegrityCheck } from "./mpeg-check.js";
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

/**
 * About two seconds of 128 kbps audio per decoder call. Measured (decode + stats of 180 s of MP3, medians of 5):
 * 16 KiB pieces 183× real time with an event-loop p99 delay of 7.7 ms; 32 KiB 246×, 14 ms; 64 KiB 261×, 27 ms.
 * Per-call overhead dominates below 32 KiB; above it, the API sharing the process stalls longer.
 */
const CODEC_PIECE_BYTES = 32 * 1024;

const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

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
  const check = integrityCheck(probe);
  const counter = new FrameCounter(probe, opts);
  // FLAC stops where its frames do (before a trailing tag); the other decoders find their own way.
  const end = probe.format === "flac" ? probe.audioOffset + probe.audioBytes : src.size;
  try {
    for await (const bytes of src.stream(0, end)) {
      // A read can hold seconds of compressed audio; decoding and analysing it in one synchronous call would
      // stall the event loop (and the API sharing it) for tens of milliseconds. Feed small pieces and let
      // other work in between.
      for (let at = 0; at < bytes.length; at += CODEC_PIECE_BYTES) {
        const piece = bytes.subarray(at, at + CODEC_PIECE_BYTES);
        check?.push(piece);
        const out = await decodeChunk(codec, piece, counter);
        if (out) yield out;
        await yieldToEventLoop();
      }
    }
    check?.finish();
    const tail = await decodeChunk(codec, null, counter);
    if (tail) yield tail;
  } finally {
    codec.free();
  }
  counter.finish();
}

/**
 * The stream-level check for formats whose decoder skips damaged data silently: each is fed the same bytes as
 * the decoder and throws an {@link AudioInputError} at the first damage it finds.
 */
function integrityCheck(probe: AudioProbe): { push(b: Uint8Array): void; finish(): void } | null {
  switch (probe.format) {
    case "ogg-vorbis":
    case "ogg-opus":
      return new OggIntegrityCheck();
    case "flac":
      return new FlacIntegrityCheck(probe.audioOffset);
    case "mp3":
      return new MpegIntegrityCheck(probe.audioOffset);
    default:
      return null;
  }
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
    let length = d.channelData[0]?.length ?? 0;
    const limit = this.outputLimit();
    if (limit !== null && this.frames + length > limit) {
      length = Math.max(0, limit - this.frames);
      d = { ...d, channelData: d.channelData.map((c) => c.subarray(0, length)) };
    }
    if (length === 0) return null;
    if (this.sampleRate === 0) this.sampleRate = d.sampleRate;
    else if (d.sampleRate !== this.sampleRate)
      throw new AudioInputError(
        "audio-corrupt",
        `The sample rate changes mid-stream (${this.sampleRate} → ${d.sampleRate} Hz).`,
      );
    // mpg123 always returns two channels; a mono stream is duplicated, so keep one.
    let channels =
      d.channelData.length > this.probe.channels
        ? d.channelData.slice(0, this.probe.channels)
        : d.channelData;
    const order = this.channelOrder(channels.length);
    if (order) channels = order.map((i) => channels[i]!);
    this.frames += length;
    if (this.frames > this.opts.maxDurationS * this.sampleRate)
      throw new AudioInputError(
        "duration-too-long",
        `The audio is longer than ${formatDuration(this.opts.maxDurationS)}.`,
      );
    return { channels, sampleRate: this.sampleRate };
  }

  /**
   * Vorbis (and Opus mapping family 1) order 3 to 8 channels as Vorbis I §4.3.9 says (L C R …, LFE last); the
   * decoders pass that order through. Everything else Earmark decodes — WAV, FLAC — and what reads the
   * channels (loudness weights the LFE and surrounds of 5.1 by position) use the WAV/SMPTE order (L R C LFE
   * …), so reorder.
   */
  private channelOrder(count: number): number[] | null {
    const { format, details } = this.probe;
    if (format !== "ogg-vorbis" && !(format === "ogg-opus" && details.mappingFamily === 1)) return null;
    return VORBIS_TO_WAV_ORDER[count] ?? null;
  }

  /**
   * ogg-opus-decoder trims the end of a stream to its last granule position but not by the pre-skip as well
   * (RFC 7845 §4.5: the output is granule − pre-skip samples), so it returns pre-skip samples of encoder padding
   * too many; cut them off at what the stream declares.
   */
  private outputLimit(): number | null {
    if (this.probe.format !== "ogg-opus" || this.probe.durationS === null || !this.probe.details.endOfStream)
      return null;
    return Math.round(this.probe.durationS * this.probe.sampleRate);
  }

  finish(): void {
    if (this.frames === 0) throw new AudioInputError("no-audio", "The file decoded to no audio at all.");
    const declared = declaredLength(this.probe, this.sampleRate);
    if (declared && this.frames < declared.frames - declared.slack) {
      const exact = (n: number) => `${n} frames (${formatDuration(n / this.sampleRate)})`;
      const got = exact(this.frames);
      const want = exact(declared.frames);
      throw new AudioInputError(
        declared.shortfall,
        declared.shortfall === "audio-truncated"
          ? `The file declares ${want} of audio but decodes to ${got}.`
          : `The file declares ${want} of audio but decodes to ${got}: corrupt frames were skipped.`,
      );
    }
  }
}

/** For each channel count, which Vorbis-order channel goes to each WAV-order position. */
const VORBIS_TO_WAV_ORDER: Record<number, number[]> = {
  3: [0, 2, 1], // L C R → L R C
  5: [0, 2, 1, 3, 4], // FL C FR RL RR → FL FR FC BL BR
  6: [0, 2, 1, 5, 3, 4], // FL C FR RL RR LFE → FL FR FC LFE BL BR
  7: [0, 2, 1, 6, 5, 3, 4], // FL C FR SL SR RC LFE → FL FR FC LFE BC SL SR
  8: [0, 2, 1, 7, 5, 6, 3, 4], // FL C FR SL SR RL RR LFE → FL FR FC LFE BL BR SL SR
};

/**
 * How many frames the container says the audio has, how far short of that decoding may fall (encoders pad and
 * trim a little), and what a larger shortfall means. FLAC and MP3 decoders stop early on a cut file; the AAC
 * decoder drops damaged frames without a word, so in M4A a shortfall is damage (a cut M4A fails the probe).
 */
function declaredLength(
  probe: AudioProbe,
  outputRate: number,
): { frames: number; slack: number; shortfall: "audio-truncated" | "audio-corrupt" } | null {
  const { format, details, durationS } = probe;
  if (format === "flac" && typeof details.totalSamples === "number" && details.totalSamples > 0)
    return { frames: details.totalSamples, slack: 0, shortfall: "audio-truncated" };
  if (format === "mp3" && durationS !== null) {
    // A Xing/Info frame count includes the encoder's delay and padding, which gapless decoding removes.
    const frames = Math.round(durationS * probe.sampleRate);
    return { frames, slack: frames * 0.01 + 4096, shortfall: "audio-truncated" };
  }
  if (format === "m4a" && durationS !== null && (probe.codec === "aac" || probe.codec === "alac")) {
    // The output rate, not the container's: HE-AAC decodes at twice the rate its header states. Good files
    // decode to exactly the edit list's length; the decoder drops whole codec frames (1024 samples at the
    // container rate), so falling short by more than one frame means at least one was damaged.
    const frames = Math.round(durationS * outputRate);
    return { frames, slack: 1024 * Math.max(1, outputRate / probe.sampleRate), shortfall: "audio-corrupt" };
  }
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
  const buffer = new Uint8Array(want);
  let filled = 0;
  for await (const bytes of src.stream(probe.audioOffset, end)) {
    let at = 0;
    while (at < bytes.length) {
      const n = Math.min(want - filled, bytes.length - at);
      buffer.set(bytes.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === want) {
        // pcmToFloat copies, so the byte buffer is free again once it returns.
        yield { channels: pcmToFloat(buffer, encoding, probe.channels), sampleRate: probe.sampleRate };
        filled = 0;
        await yieldToEventLoop();
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
