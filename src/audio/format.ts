/** Formats Earmark decodes. Ogg is split by codec because the codec decides the decoder. */
export const AUDIO_FORMATS = ["wav", "mp3", "flac", "ogg-vorbis", "ogg-opus", "m4a", "aac"] as const;
export type AudioFormat = (typeof AUDIO_FORMATS)[number];

export const CONTENT_TYPES: Record<AudioFormat, string> = {
  wav: "audio/wav",
  mp3: "audio/mpeg",
  flac: "audio/flac",
  "ogg-vorbis": "audio/ogg",
  "ogg-opus": "audio/ogg",
  m4a: "audio/mp4",
  aac: "audio/aac",
};

/** Said in every 415 answer, so a client knows what to send instead. */
export const SUPPORTED_FORMATS_TEXT =
  "WAV (PCM/float/G.711), MP3, FLAC, Ogg Vorbis, Ogg Opus, M4A/MP4 (AAC, ALAC), ADTS AAC";

export const SAMPLE_RATE_RANGE = { min: 8000, max: 192000 } as const;
export const MAX_CHANNELS = 8;

/** What probing the stored bytes of an upload found, before any decoding. */
export interface AudioProbe {
  format: AudioFormat;
  /** Codec inside the container, e.g. `pcm_s16le`, `mp3`, `flac`, `vorbis`, `opus`, `aac`, `alac`. */
  codec: string;
  sampleRate: number;
  channels: number;
  /** Bits per sample for PCM and lossless codecs; null for lossy codecs. */
  bitDepth: number | null;
  /** Duration the container declares exactly; null when only decoding can tell. */
  durationS: number | null;
  /** Byte range of the coded audio inside the file (for WAV: the data chunk). */
  audioOffset: number;
  audioBytes: number;
  /** Format-specific facts the decoder needs (e.g. WAV sample encoding, MP3 frame count). */
  details: Record<string, string | number | boolean | null>;
}

export type SniffResult =
  | { kind: "audio"; format: AudioFormat }
  | { kind: "unsupported"; what: string }
  | { kind: "unknown"; what: string };

const ascii = (b: Uint8Array, at: number, len: number) =>
  String.fromCharCode(...b.subarray(at, Math.min(b.length, at + len)));

/** Length in bytes of an ID3v2 tag starting at `at` (header + body + optional footer), or 0. */
export function id3v2Length(b: Uint8Array, at = 0): number {
  if (b.length < at + 10 || ascii(b, at, 3) !== "ID3") return 0;
  const sizeBytes = [b[at + 6], b[at + 7], b[at + 8], b[at + 9]] as number[];
  if (sizeBytes.some((x) => x > 0x7f)) return 0;
  const size = (sizeBytes[0]! << 21) | (sizeBytes[1]! << 14) | (sizeBytes[2]! << 7) | sizeBytes[3]!;
  const footer = (b[at + 5]! & 0x10) !== 0 ? 10 : 0;
  return 10 + size + footer;
}

export interface MpegFrameHeader {
  version: 1 | 2 | 2.5;
  layer: 1 | 2 | 3;
  bitrateKbps: number;
  sampleRate: number;
  channels: 1 | 2;
  frameLength: number;
  samplesPerFrame: number;
}

const MPEG_BITRATES: Record<string, number[]> = {
  // Index 1..14 of the bitrate field; from ISO/IEC 11172-3 and 13818-3.
  "1-1": [32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448],
  "1-2": [32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384],
  "1-3": [32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320],
  "2-1": [32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256],
  "2-2": [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
  "2-3": [8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160],
};
const MPEG_RATES: Record<number, number[]> = {
  1: [44100, 48000, 32000],
  2: [22050, 24000, 16000],
  2.5: [11025, 12000, 8000],
};

/** Parses an MPEG audio frame header (layers I–III), or null when the four bytes are not one. */
export function parseMpegHeader(b: Uint8Array, at: number): MpegFrameHeader | null {
  if (at + 4 > b.length) return null;
  const b1 = b[at + 1]!;
  const b2 = b[at + 2]!;
  const b3 = b[at + 3]!;
  if (b[at] !== 0xff || (b1 & 0xe0) !== 0xe0) return null;
  const versionBits = (b1 >> 3) & 3;
  const layerBits = (b1 >> 1) & 3;
  if (versionBits === 1 || layerBits === 0) return null;
  const version = versionBits === 3 ? 1 : versionBits === 2 ? 2 : 2.5;
  const layer = (4 - layerBits) as 1 | 2 | 3;
  const bitrateIndex = b2 >> 4;
  const rateIndex = (b2 >> 2) & 3;
  if (bitrateIndex === 0 || bitrateIndex === 15 || rateIndex === 3) return null; // free format is not supported
  const table = MPEG_BITRATES[`${version === 1 ? 1 : 2}-${layer}`]!;
  const bitrateKbps = table[bitrateIndex - 1]!;
  const sampleRate = MPEG_RATES[version]![rateIndex]!;
  const padding = (b2 >> 1) & 1;
  const channels = b3 >> 6 === 3 ? 1 : 2;
  let samplesPerFrame: number;
  let frameLength: number;
  if (layer === 1) {
    samplesPerFrame = 384;
    frameLength = (Math.floor((12 * bitrateKbps * 1000) / sampleRate) + padding) * 4;
  } else {
    samplesPerFrame = layer === 3 && version !== 1 ? 576 : 1152;
    frameLength = Math.floor(((samplesPerFrame / 8) * bitrateKbps * 1000) / sampleRate) + padding;
  }
  return { version, layer, bitrateKbps, sampleRate, channels, frameLength, samplesPerFrame };
}

/** Offset of the first of `count` consecutive, consistent MPEG frames in `b` at or after `from`, or -1. */
export function findMpegFrames(b: Uint8Array, from: number, count: number, scanLimit = 65536): number {
  const end = Math.min(b.length - 4, from + scanLimit);
  for (let i = from; i < end; i++) {
    if (b[i] !== 0xff) continue;
    const first = parseMpegHeader(b, i);
    if (!first) continue;
    let at = i;
    let ok = 0;
    let h: MpegFrameHeader | null = first;
    while (h && h.sampleRate === first.sampleRate && h.layer === first.layer && ok < count) {
      ok++;
      at += h.frameLength;
      if (at + 4 > b.length) break;
      h = parseMpegHeader(b, at);
    }
    // Short files are allowed: a run that starts where the audio starts and reaches the end of what we have
    // counts. Anywhere else it does not, or any stray sync word near the end of the bytes (one in about ten
    // random 64 KiB blocks) would make binary data "MP3".
    if (ok >= count || (i === from && at >= b.length - 4 && ok >= 1)) return i;
  }
  return -1;
}

/** ADTS (raw AAC) header: 12-bit sync, layer 00. Returns frame length or 0. */
export function adtsFrameLength(b: Uint8Array, at: number): number {
  if (at + 7 > b.length || b[at] !== 0xff || (b[at + 1]! & 0xf6) !== 0xf0) return 0;
  const rateIndex = (b[at + 2]! >> 2) & 0xf;
  if (rateIndex > 12) return 0;
  const len = ((b[at + 3]! & 3) << 11) | (b[at + 4]! << 3) | (b[at + 5]! >> 5);
  return len >= 7 ? len : 0;
}

/** Mostly printable ASCII and well-formed UTF-8 sequences (so lyrics in any script count as text). */
function looksLikeText(b: Uint8Array): boolean {
  const n = Math.min(b.length, 4096);
  if (n === 0) return false;
  let printable = 0;
  for (let i = 0; i < n; i++) {
    const c = b[i]!;
    if (c === 9 || c === 10 || c === 13 || (c >= 32 && c < 127)) {
      printable++;
      continue;
    }
    const follow = c >= 0xc2 && c <= 0xdf ? 1 : c >= 0xe0 && c <= 0xef ? 2 : c >= 0xf0 && c <= 0xf4 ? 3 : 0;
    let ok = follow > 0;
    for (let k = 1; ok && k <= follow && i + k < n; k++) ok = (b[i + k]! & 0xc0) === 0x80;
    if (!ok) continue;
    const len = Math.min(follow + 1, n - i);
    printable += len;
    i += len - 1;
  }
  return printable / n > 0.95;
}

/**
 * Identifies audio by its first bytes, never by file name or declared type. `head` should hold at least the
 * first 64 KiB (or the whole file when shorter).
 *
 * @example
 * sniff(new TextEncoder().encode("not audio")) // { kind: "unknown", what: "text" }
 */
export function sniff(head: Uint8Array): SniffResult {
  const b = head;
  const tag4 = ascii(b, 0, 4);
  if (tag4 === "RIFF" && ascii(b, 8, 4) === "WAVE") return { kind: "audio", format: "wav" };
  if ((tag4 === "RF64" || tag4 === "BW64") && ascii(b, 8, 4) === "WAVE")
    return { kind: "unsupported", what: "RF64/BW64 WAV (files over 4 GiB)" };
  if (tag4 === "RIFX") return { kind: "unsupported", what: "big-endian WAV (RIFX)" };
  if (tag4 === "fLaC") return { kind: "audio", format: "flac" };
  if (tag4 === "OggS") return sniffOgg(b);
  if (ascii(b, 4, 4) === "ftyp") return { kind: "audio", format: "m4a" };
  if (tag4 === "FORM" && ["AIFF", "AIFC"].includes(ascii(b, 8, 4)))
    return { kind: "unsupported", what: "AIFF" };
  if (tag4 === "MThd") return { kind: "unsupported", what: "MIDI (notes, not recorded audio)" };
  if (ascii(b, 0, 5) === "#!AMR") return { kind: "unsupported", what: "AMR" };
  if (tag4 === "caff") return { kind: "unsupported", what: "Core Audio Format (CAF)" };
  if (tag4 === "wvpk") return { kind: "unsupported", what: "WavPack" };
  if (tag4 === "MAC ") return { kind: "unsupported", what: "Monkey's Audio (APE)" };
  if (tag4 === ".snd") return { kind: "unsupported", what: "Sun/NeXT AU" };
  if (b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3)
    return { kind: "unsupported", what: "Matroska/WebM" };
  if (b[0] === 0x30 && b[1] === 0x26 && b[2] === 0xb2 && b[3] === 0x75)
    return { kind: "unsupported", what: "ASF/WMA" };

  const id3 = id3v2Length(b);
  if (id3 > 0) {
    // The tag may be longer than the head we hold (cover art); the probe re-checks what follows it.
    if (id3 + 4 > b.length) return { kind: "audio", format: "mp3" };
    if (ascii(b, id3, 4) === "fLaC") return { kind: "audio", format: "flac" };
    if (adtsFrameLength(b, id3) > 0) return { kind: "audio", format: "aac" };
    if (findMpegFrames(b, id3, 3) >= 0) return { kind: "audio", format: "mp3" };
    return { kind: "unknown", what: "an ID3 tag followed by no audio Earmark recognises" };
  }
  if (adtsFrameLength(b, 0) > 0 && adtsFrameLength(b, adtsFrameLength(b, 0)) > 0)
    return { kind: "audio", format: "aac" };
  if (findMpegFrames(b, 0, 3) >= 0) return { kind: "audio", format: "mp3" };

  if (tag4 === "%PDF") return { kind: "unknown", what: "a PDF document" };
  if (b[0] === 0x89 && ascii(b, 1, 3) === "PNG") return { kind: "unknown", what: "a PNG image" };
  if (b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return { kind: "unknown", what: "a JPEG image" };
  if (tag4 === "PK\x03\x04") return { kind: "unknown", what: "a ZIP archive" };
  if (looksLikeText(b)) return { kind: "unknown", what: "text" };
  return { kind: "unknown", what: "binary data in no audio format Earmark recognises" };
}

function sniffOgg(b: Uint8Array): SniffResult {
  // First page: 27-byte header, segment table, then the first packet (the codec's identification header).
  const segments = b[26];
  if (segments === undefined) return { kind: "unknown", what: "a truncated Ogg page" };
  const packet = 27 + segments;
  if (ascii(b, packet, 7) === "\x01vorbis") return { kind: "audio", format: "ogg-vorbis" };
  if (ascii(b, packet, 8) === "OpusHead") return { kind: "audio", format: "ogg-opus" };
  if (ascii(b, packet, 5) === "\x7fFLAC") return { kind: "unsupported", what: "FLAC in Ogg" };
  if (ascii(b, packet, 8) === "Speex   ") return { kind: "unsupported", what: "Ogg Speex" };
  if (ascii(b, packet, 7) === "\x80theora") return { kind: "unsupported", what: "Ogg Theora video" };
  return { kind: "unsupported", what: "Ogg with an unknown codec" };
}
