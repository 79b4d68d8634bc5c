import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import { type AudioProbe, adtsFrameLength, findMpegFrames, id3v2Length, parseMpegHeader } from "../format.js";

/** Finds the first run of MPEG frames after any ID3v2 tag, and reads a Xing/Info/VBRI frame count if present. */
export async function probeMp3(src: ByteSource): Promise<AudioProbe> {
  const start = id3v2Length(await src.read(0, 10));
  if (start > src.size)
    throw new AudioInputError(
      "audio-truncated",
      `The ID3 tag declares ${start} bytes but the file ends after ${src.size}.`,
    );
  if (start === src.size)
    throw new AudioInputError("no-audio", "The file is an ID3 tag with no audio after it.");
  const head = await src.read(start, 65536);
  const rel = findMpegFrames(head, 0, 3);
  if (rel < 0) {
    if (start > 0 && String.fromCharCode(...head.subarray(0, 4)) === "fLaC")
      throw new AudioInputError(
        "audio-header-invalid",
        "FLAC behind an ID3 tag was sent where MP3 was expected.",
      );
    throw new AudioInputError(
      start > 0 ? "no-audio" : "unsupported-media-type",
      start > 0
        ? "The file has an ID3 tag but no MPEG audio frames in the 64 KiB after it."
        : "No MPEG audio frames were found.",
    );
  }
  const first = parseMpegHeader(head, rel)!;
  const frameAt = start + rel;

  // Xing/Info sits after the side information of the first frame; VBRI at a fixed 32 bytes after the header.
  const sideInfo = first.version === 1 ? (first.channels === 1 ? 17 : 32) : first.channels === 1 ? 9 : 17;
  const tagAt = rel + 4 + sideInfo;
  const tag = String.fromCharCode(...head.subarray(tagAt, tagAt + 4));
  let frames: number | null = null;
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (
    (tag === "Xing" || tag === "Info") &&
    tagAt + 12 <= head.length &&
    (dv.getUint32(tagAt + 4) & 1) === 1
  ) {
    frames = dv.getUint32(tagAt + 8);
  } else if (
    String.fromCharCode(...head.subarray(rel + 36, rel + 40)) === "VBRI" &&
    rel + 54 <= head.length
  ) {
    frames = dv.getUint32(rel + 36 + 14);
  }

  let end = src.size;
  const tail = await src.read(Math.max(0, src.size - 128), 128);
  if (tail.length === 128 && String.fromCharCode(...tail.subarray(0, 3)) === "TAG") end -= 128;
  const audioBytes = Math.max(0, end - frameAt);
  const durationS = frames ? (frames * first.samplesPerFrame) / first.sampleRate : null;
  return {
    format: "mp3",
    codec: `mp${first.layer}`,
    sampleRate: first.sampleRate,
    channels: first.channels,
    bitDepth: null,
    durationS,
    audioOffset: frameAt,
    audioBytes,
    details: {
      frames,
      bitrateKbps: first.bitrateKbps,
      // Without a frame count, assume constant bitrate: a guess, used only to refuse absurd files early.
      estimatedDurationS: durationS ?? (audioBytes * 8) / (first.bitrateKbps * 1000),
    },
  };
}

const ADTS_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

/** Raw AAC in ADTS frames: the first frame header gives rate and channels; the length is unknown until decoded. */
export async function probeAdts(src: ByteSource): Promise<AudioProbe> {
  const start = id3v2Length(await src.read(0, 10));
  const h = await src.read(start, 16);
  if (adtsFrameLength(h, 0) === 0)
    throw new AudioInputError("audio-header-invalid", "No ADTS frame header was found.");
  const rate = ADTS_RATES[(h[2]! >> 2) & 0xf] ?? 0;
  const channelConfig = ((h[2]! & 1) << 2) | (h[3]! >> 6);
  return {
    format: "aac",
    codec: "aac",
    sampleRate: rate,
    channels: channelConfig === 7 ? 8 : channelConfig === 0 ? 2 : channelConfig,
    bitDepth: null,
    durationS: null,
    audioOffset: start,
    audioBytes: src.size - start,
    details: {},
  };
}
