import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import { type AudioProbe, MAX_CHANNELS } from "../format.js";

/** How WAV sample words are laid out; the decoder converts each to float. */
export type WavEncoding = "u8" | "s16" | "s24" | "s32" | "f32" | "f64" | "alaw" | "mulaw";

const OTHER_WAV_CODECS: Record<number, string> = {
  2: "Microsoft ADPCM",
  17: "IMA ADPCM",
  49: "GSM 6.10",
  80: "MPEG audio",
  85: "MP3",
  146: "Dolby AC-3",
  255: "AAC",
  5648: "HE-AAC",
};

const MAX_CHUNKS = 1000;

/** Reads the RIFF chunk list: the fmt chunk, and where the data chunk lies. Never reads the samples. */
export async function probeWav(src: ByteSource): Promise<AudioProbe> {
  const header = await src.read(0, 12);
  const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (header.length < 12)
    throw new AudioInputError("audio-truncated", "The WAV file ends inside its RIFF header.");

  let fmt: {
    tag: number;
    channels: number;
    sampleRate: number;
    blockAlign: number;
    bits: number;
  } | null = null;
  let dataOffset = -1;
  let dataSize = 0;
  let at = 12;
  for (let n = 0; at + 8 <= src.size; n++) {
    if (n >= MAX_CHUNKS)
      throw new AudioInputError(
        "audio-header-invalid",
        `The WAV file has more than ${MAX_CHUNKS} chunks before its audio.`,
      );
    const h = await src.read(at, 8);
    const id = String.fromCharCode(...h.subarray(0, 4));
    const size = view(h).getUint32(4, true);
    const bodyAt = at + 8;
    if (id === "fmt ") {
      if (size < 16)
        throw new AudioInputError(
          "audio-header-invalid",
          `The WAV fmt chunk is ${size} bytes; at least 16 are required.`,
        );
      if (bodyAt + 16 > src.size)
        throw new AudioInputError("audio-truncated", "The WAV file ends inside its fmt chunk.");
      const body = view(await src.read(bodyAt, Math.min(size, 40)));
      let tag = body.getUint16(0, true);
      if (tag === 0xfffe) {
        if (size < 40 || body.byteLength < 40)
          throw new AudioInputError(
            "audio-header-invalid",
            "The WAVE_FORMAT_EXTENSIBLE fmt chunk is shorter than 40 bytes.",
          );
        tag = body.getUint16(24, true); // first two bytes of the sub-format GUID
      }
      fmt = {
        tag,
        channels: body.getUint16(2, true),
        sampleRate: body.getUint32(4, true),
        blockAlign: body.getUint16(12, true),
        bits: body.getUint16(14, true),
      };
    } else if (id === "data") {
      dataOffset = bodyAt;
      // 0xFFFFFFFF (and 0 with bytes following) is what streaming writers leave when they never seek back.
      const streamed = size === 0xffffffff || (size === 0 && src.size > bodyAt);
      dataSize = streamed ? src.size - bodyAt : size;
      if (fmt) break;
    }
    at = bodyAt + size + (size & 1);
  }

  if (!fmt)
    throw new AudioInputError("audio-header-invalid", "The WAV file has no fmt chunk before its end.");
  if (dataOffset < 0) throw new AudioInputError("no-audio", "The WAV file has no data chunk.");

  const encoding = wavEncoding(fmt.tag, fmt.bits);
  if (fmt.channels === 0)
    throw new AudioInputError("audio-header-invalid", "The WAV fmt chunk declares 0 channels.");
  // Said before the block-align and length checks, which an absurd channel count fails for a less useful reason.
  if (fmt.channels > MAX_CHANNELS)
    throw new AudioInputError(
      "unsupported-channel-count",
      `The audio has ${fmt.channels} channels; Earmark accepts 1–${MAX_CHANNELS}.`,
    );
  const expectedAlign = (fmt.channels * fmt.bits) / 8;
  if (fmt.blockAlign !== expectedAlign)
    throw new AudioInputError(
      "audio-header-invalid",
      `The WAV block align is ${fmt.blockAlign} bytes but ${fmt.channels} channels of ${fmt.bits} bits need ${expectedAlign}.`,
    );
  if (dataOffset + dataSize > src.size)
    throw new AudioInputError(
      "audio-truncated",
      `The WAV data chunk declares ${dataSize} bytes but the file ends after ${src.size - dataOffset} of them.`,
    );
  const frames = Math.floor(dataSize / fmt.blockAlign);
  if (frames === 0)
    throw new AudioInputError("no-audio", "The WAV data chunk holds no complete sample frame.");
  return {
    format: "wav",
    codec: `pcm_${encoding}`,
    sampleRate: fmt.sampleRate,
    channels: fmt.channels,
    bitDepth: fmt.bits,
    durationS: fmt.sampleRate > 0 ? frames / fmt.sampleRate : null,
    audioOffset: dataOffset,
    audioBytes: frames * fmt.blockAlign,
    details: { encoding, frames, blockAlign: fmt.blockAlign },
  };
}

function wavEncoding(tag: number, bits: number): WavEncoding {
  const fail = (what: string) =>
    new AudioInputError(
      "unsupported-encoding",
      `${what} in WAV is not supported; send PCM, float, FLAC or MP3.`,
    );
  if (tag === 1) {
    const map: Record<number, WavEncoding> = { 8: "u8", 16: "s16", 24: "s24", 32: "s32" };
    const enc = map[bits];
    if (!enc) throw fail(`${bits}-bit integer PCM`);
    return enc;
  }
  if (tag === 3) {
    if (bits === 32) return "f32";
    if (bits === 64) return "f64";
    throw fail(`${bits}-bit floating point`);
  }
  if (tag === 6 && bits === 8) return "alaw";
  if (tag === 7 && bits === 8) return "mulaw";
  throw fail(OTHER_WAV_CODECS[tag] ?? `Codec 0x${tag.toString(16).padStart(4, "0")}`);
}
