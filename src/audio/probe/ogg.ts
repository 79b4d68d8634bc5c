import { AudioInputError } from "../../errors.js";
import type { ByteSource } from "../bytes.js";
import type { AudioProbe } from "../format.js";
import { OGG_EOS, type OggPage, parseOggPage } from "../ogg.js";

/** Reads the identification header from the first page and the final granule position from the last page. */
export async function probeOgg(src: ByteSource): Promise<AudioProbe> {
  const head = await src.read(0, 65536 + 512);
  const first = parseOggPage(head, 0);
  if (!first || first.headerLength + first.bodyLength > head.length)
    throw new AudioInputError("audio-truncated", "The Ogg file ends inside its first page.");
  const packet = head.subarray(first.headerLength, first.headerLength + first.bodyLength);
  const dv = new DataView(packet.buffer, packet.byteOffset, packet.byteLength);
  let codec: "vorbis" | "opus";
  let channels: number;
  let sampleRate: number;
  let preSkip = 0;
  // Opus channel mapping family: 0 mono/stereo, 1 Vorbis channel order, 255 no defined order.
  let mappingFamily: number | null = null;
  if (String.fromCharCode(...packet.subarray(0, 7)) === "\x01vorbis") {
    if (packet.length < 30)
      throw new AudioInputError("audio-header-invalid", "The Vorbis identification header is short.");
    codec = "vorbis";
    channels = packet[11]!;
    sampleRate = dv.getUint32(12, true);
  } else {
    if (packet.length < 19)
      throw new AudioInputError("audio-header-invalid", "The OpusHead header is short.");
    codec = "opus";
    channels = packet[9]!;
    preSkip = dv.getUint16(10, true);
    mappingFamily = packet[18]!;
    sampleRate = 48000; // Opus always decodes at 48 kHz; the header's input rate is informational.
  }
  if (channels === 0)
    throw new AudioInputError("audio-header-invalid", `The ${codec} header declares 0 channels.`);

  // The last page of the stream carries the total granule position (samples, plus pre-skip for Opus).
  const tailStart = Math.max(0, src.size - 2 * 65536);
  const tail = await src.read(tailStart, src.size - tailStart);
  let last: OggPage | null = null;
  let truncated = false;
  for (let i = tail.length - 4; i >= 0; i--) {
    if (tail[i] !== 0x4f || tail[i + 1] !== 0x67 || tail[i + 2] !== 0x67 || tail[i + 3] !== 0x53) continue;
    // A capture pattern whose page header is not all there: the file was cut inside that header.
    if (i + 27 > tail.length || i + 27 + tail[i + 26]! > tail.length) {
      truncated = true;
      continue;
    }
    const page = parseOggPage(tail, i, tailStart);
    if (!page || page.serial !== first.serial) continue;
    if (page.offset + page.headerLength + page.bodyLength > src.size) {
      truncated = true;
      continue;
    }
    last = page;
    break;
  }
  if (truncated || !last) {
    throw new AudioInputError("audio-truncated", "The Ogg file ends inside a page: it was cut off.");
  }
  const samples = Number(last.granule) - preSkip;
  return {
    format: codec === "vorbis" ? "ogg-vorbis" : "ogg-opus",
    codec,
    sampleRate,
    channels,
    bitDepth: null,
    durationS: last.granule > 0n && samples > 0 ? samples / sampleRate : null,
    audioOffset: 0,
    audioBytes: src.size,
    details: { serial: first.serial, endOfStream: (last.headerType & OGG_EOS) !== 0, preSkip, mappingFamily },
  };
}
