/**
 * Recognising stored bytes as audio: the format from the first bytes (never the file name), corrected for
 * long ID3 tags, then the probed headers. Uploads, the command line and the benchmarks all open audio this way,
 * so a file is refused with the same words wherever it arrives.
 *
 * @module
 */

import { AudioInputError } from "../errors.js";
import { type ByteSource, fileSource } from "./bytes.js";
import { type AudioFormat, type AudioProbe, id3v2Length, SUPPORTED_FORMATS_TEXT, sniff } from "./format.js";
import { type ProbeLimits, probeAudio } from "./probe/index.js";

/** How many leading bytes the format is recognised from. */
export const SNIFF_BYTES = 65536;

/** The 415 for bytes that are not audio Earmark reads, saying what they look like. */
export function notSupportedAudio(head: Uint8Array): AudioInputError {
  const found = sniff(head);
  const what =
    found.kind === "unsupported"
      ? `The file is ${found.what}, which Earmark does not read.`
      : `The file is not audio Earmark can read (it looks like ${found.kind === "unknown" ? found.what : "audio"}).`;
  return new AudioInputError(
    "unsupported-media-type",
    `${what} Supported formats: ${SUPPORTED_FORMATS_TEXT}.`,
  );
}

/**
 * Sniffing calls anything behind an ID3 tag longer than the head it sees (cover art) MP3. FLAC and ADTS AAC
 * carry ID3 tags too, so once the bytes are stored, look at what follows the tag.
 */
export async function formatBehindLongId3(blob: ByteSource, format: AudioFormat): Promise<AudioFormat> {
  if (format !== "mp3") return format;
  const tag = id3v2Length(await blob.read(0, 10));
  if (tag + 4 <= SNIFF_BYTES || tag >= blob.size) return format;
  const after = sniff(await blob.read(tag, SNIFF_BYTES));
  return after.kind === "audio" && (after.format === "flac" || after.format === "aac")
    ? after.format
    : format;
}

/** Recognises and probes stored audio; AudioInputError when it is empty, not audio, or its headers are bad. */
export async function openAudio(src: ByteSource, limits: ProbeLimits): Promise<AudioProbe> {
  if (src.size === 0) throw new AudioInputError("empty-upload", "The file is empty (0 bytes).");
  const head = await src.read(0, SNIFF_BYTES);
  const found = sniff(head);
  if (found.kind !== "audio") throw notSupportedAudio(head);
  return probeAudio(src, await formatBehindLongId3(src, found.format), limits);
}

/** {@link openAudio} over a file on disk. */
export async function openAudioFile(
  path: string,
  limits: ProbeLimits,
): Promise<{ source: ByteSource; probe: AudioProbe }> {
  const source = await fileSource(path);
  return { source, probe: await openAudio(source, limits) };
}
