import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import { type AudioProbe, id3v2Length } from "../format.js";

const MAX_BLOCKS = 10000;

/** Reads STREAMINFO and walks the metadata blocks to where the frames begin. */
export async function probeFlac(src: ByteSource): Promise<AudioProbe> {
  const start = id3v2Length(await src.read(0, 10));
  const head = await src.read(start, 42);
  if (head.length < 42)
    throw new AudioInputError("audio-truncated", "The FLAC file ends inside its STREAMINFO block.");
  const type = head[4]! & 0x7f;
  const length = (head[5]! << 16) | (head[6]! << 8) | head[7]!;
  if (type !== 0 || length !== 34)
    throw new AudioInputError(
      "audio-header-invalid",
      "The FLAC stream does not begin with a 34-byte STREAMINFO block.",
    );
  const si = head.subarray(8);
  const sampleRate = (si[10]! << 12) | (si[11]! << 4) | (si[12]! >> 4);
  const channels = ((si[12]! >> 1) & 7) + 1;
  const bitDepth = (((si[12]! & 1) << 4) | (si[13]! >> 4)) + 1;
  // 36-bit total sample count: 4 bits in byte 13, then 4 bytes.
  const totalSamples =
    (si[13]! & 0x0f) * 2 ** 32 + ((si[14]! << 24) >>> 0) + (si[15]! << 16) + (si[16]! << 8) + si[17]!;
  if (sampleRate === 0)
    throw new AudioInputError("audio-header-invalid", "The FLAC STREAMINFO declares a sample rate of 0.");
  if (bitDepth < 4)
    throw new AudioInputError(
      "audio-header-invalid",
      `The FLAC STREAMINFO declares ${bitDepth}-bit samples.`,
    );

  let at = start + 4;
  for (let n = 0; ; n++) {
    if (n >= MAX_BLOCKS)
      throw new AudioInputError(
        "audio-header-invalid",
        `The FLAC file has more than ${MAX_BLOCKS} metadata blocks.`,
      );
    const h = await src.read(at, 4);
    if (h.length < 4) throw new AudioInputError("audio-truncated", "The FLAC file ends inside its metadata.");
    const last = (h[0]! & 0x80) !== 0;
    if ((h[0]! & 0x7f) === 127)
      throw new AudioInputError("audio-header-invalid", "The FLAC file has an invalid metadata block type.");
    at += 4 + ((h[1]! << 16) | (h[2]! << 8) | h[3]!);
    if (at > src.size)
      throw new AudioInputError("audio-truncated", "The FLAC file ends inside its metadata.");
    if (last) break;
  }
  // An ID3v1 tag after the last frame is not audio: the decoder would take it for part of that frame (and
  // drop the frame), so the audio ends before it.
  const tail = src.size - at >= 128 ? await src.read(src.size - 128, 3) : new Uint8Array(0);
  const end = String.fromCharCode(...tail) === "TAG" ? src.size - 128 : src.size;
  if (at >= end)
    throw new AudioInputError(
      totalSamples > 0 ? "audio-truncated" : "no-audio",
      "The FLAC file has no audio frames.",
    );
  return {
    format: "flac",
    codec: "flac",
    sampleRate,
    channels,
    bitDepth,
    durationS: totalSamples > 0 ? totalSamples / sampleRate : null,
    audioOffset: at,
    audioBytes: end - at,
    details: { totalSamples },
  };
}
