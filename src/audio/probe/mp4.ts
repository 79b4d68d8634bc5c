import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import type { AudioProbe } from "../format.js";

interface Box {
  type: string;
  start: number;
  headerSize: number;
  size: number;
}

const MAX_TOP_LEVEL_BOXES = 10000;
const MAX_MOOV_BYTES = 64 * 1024 * 1024;
const CONTAINERS = new Set(["moov", "trak", "mdia", "minf", "stbl"]);

function boxesIn(b: Uint8Array, from: number, to: number): Box[] {
  const out: Box[] = [];
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let at = from;
  while (at + 8 <= to) {
    let size = dv.getUint32(at);
    let headerSize = 8;
    if (size === 1) {
      if (at + 16 > to) break;
      size = Number(dv.getBigUint64(at + 8));
      headerSize = 16;
    } else if (size === 0) size = to - at;
    if (size < headerSize || at + size > to) break;
    out.push({ type: String.fromCharCode(...b.subarray(at + 4, at + 8)), start: at, headerSize, size });
    at += size;
  }
  return out;
}

/** Walks the ISO BMFF boxes: finds `moov` wherever it is and reads the first sound track's parameters. */
export async function probeMp4(src: ByteSource): Promise<AudioProbe> {
  let moov: { at: number; size: number } | null = null;
  let mdat: { at: number; size: number } | null = null;
  let fragmented = false;
  let at = 0;
  for (let n = 0; at + 8 <= src.size; n++) {
    if (n > MAX_TOP_LEVEL_BOXES)
      throw new AudioInputError("audio-header-invalid", "The MP4 file has too many boxes.");
    const h = await src.read(at, 16);
    const dv = new DataView(h.buffer, h.byteOffset, h.byteLength);
    let size = dv.getUint32(0);
    let headerSize = 8;
    if (size === 1) {
      if (h.length < 16) break;
      size = Number(dv.getBigUint64(8));
      headerSize = 16;
    } else if (size === 0) size = src.size - at;
    if (size < headerSize)
      throw new AudioInputError("audio-header-invalid", `The MP4 box at byte ${at} has an invalid size.`);
    const type = String.fromCharCode(...h.subarray(4, 8));
    if (at + size > src.size) {
      throw new AudioInputError(
        "audio-truncated",
        `The MP4 "${type}" box declares ${size} bytes but the file ends ${src.size - at} bytes into it.`,
      );
    }
    if (type === "moov") moov = { at, size };
    else if (type === "mdat" && !mdat) mdat = { at, size };
    else if (type === "moof") fragmented = true;
    at += size;
  }
  if (!moov) {
    throw new AudioInputError(
      mdat ? "audio-truncated" : "audio-header-invalid",
      mdat
        ? "The MP4 file has media data but no moov box: it is incomplete."
        : "The MP4 file has no moov box.",
    );
  }
  if (moov.size > MAX_MOOV_BYTES)
    throw new AudioInputError("audio-header-invalid", "The MP4 moov box is larger than 64 MiB.");
  const m = await src.read(moov.at, moov.size);
  const track = findSoundTrack(m, 0, m.length);
  if (!track) throw new AudioInputError("no-audio", "The MP4 file has no sound track.");
  if (!mdat && !fragmented) throw new AudioInputError("no-audio", "The MP4 file has no media data.");
  return {
    format: "m4a",
    codec: track.codec,
    sampleRate: track.sampleRate,
    channels: track.channels,
    bitDepth: track.codec === "alac" || track.codec === "flac" ? track.sampleSize : null,
    durationS: track.durationS,
    audioOffset: mdat?.at ?? 0,
    audioBytes: mdat?.size ?? src.size,
    details: { fragmented, sampleEntry: track.entry },
  };
}

const CODEC_NAMES: Record<string, string> = {
  mp4a: "aac",
  alac: "alac",
  ".mp3": "mp3",
  fLaC: "flac",
  Opus: "opus",
  "ac-3": "ac3",
  "ec-3": "eac3",
};

function findSoundTrack(
  b: Uint8Array,
  from: number,
  to: number,
): {
  codec: string;
  entry: string;
  sampleRate: number;
  channels: number;
  sampleSize: number;
  durationS: number | null;
} | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // moov's own header is 8 or 16 bytes; children follow.
  const root = boxesIn(b, from, to)[0];
  if (!root) return null;
  const traks = boxesIn(b, root.start + root.headerSize, root.start + root.size).filter(
    (x) => x.type === "trak",
  );
  for (const trak of traks) {
    const found: Record<string, Box> = {};
    const walk = (box: Box) => {
      for (const child of boxesIn(b, box.start + box.headerSize, box.start + box.size)) {
        found[child.type] ??= child;
        if (CONTAINERS.has(child.type)) walk(child);
      }
    };
    walk(trak);
    const hdlr = found.hdlr;
    if (
      !hdlr ||
      String.fromCharCode(
        ...b.subarray(hdlr.start + hdlr.headerSize + 8, hdlr.start + hdlr.headerSize + 12),
      ) !== "soun"
    )
      continue;
    const stsd = found.stsd;
    if (!stsd) continue;
    const entryAt = stsd.start + stsd.headerSize + 8;
    if (entryAt + 36 > stsd.start + stsd.size) continue;
    const entry = String.fromCharCode(...b.subarray(entryAt + 4, entryAt + 8));
    const channels = dv.getUint16(entryAt + 24);
    const sampleSize = dv.getUint16(entryAt + 26);
    let sampleRate = dv.getUint32(entryAt + 32) >>> 16;
    let durationS: number | null = null;
    const mdhd = found.mdhd;
    if (mdhd) {
      const p = mdhd.start + mdhd.headerSize;
      const v1 = b[p] === 1;
      const timescale = dv.getUint32(p + (v1 ? 20 : 12));
      const duration = v1 ? Number(dv.getBigUint64(p + 24)) : dv.getUint32(p + 16);
      if (timescale > 0 && duration > 0 && duration !== 0xffffffff) durationS = duration / timescale;
      // Sample entries hold the rate as 16.16; rates above 65535 Hz only show in the media timescale.
      if (sampleRate === 0 && timescale >= 8000) sampleRate = timescale;
    }
    return { codec: CODEC_NAMES[entry] ?? entry.trim(), entry, sampleRate, channels, sampleSize, durationS };
  }
  return null;
}
