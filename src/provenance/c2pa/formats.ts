import type { AudioFormat } from "../../audio/format.js";

/**
 * The formats c2pa-rs embeds a manifest in, by the MIME type it expects. Ogg (Vorbis, Opus) and raw ADTS
 * AAC have no place for one: those need a sidecar `.c2pa` manifest.
 */
const C2PA_MIME: Partial<Record<AudioFormat, string>> = {
  wav: "audio/wav",
  mp3: "audio/mpeg",
  flac: "audio/flac",
  m4a: "audio/mp4",
};

/** The MIME type c2pa-rs reads and writes `format` as, or null when it cannot embed a manifest in it. */
export function c2paMimeType(format: AudioFormat): string | null {
  return C2PA_MIME[format] ?? null;
}

/** Thrown when asked to embed a manifest in a format that cannot carry one. */
export class UnsupportedProvenanceFormatError extends Error {
  constructor(readonly format: AudioFormat) {
    super(
      `a C2PA manifest cannot be embedded in ${format} (c2pa-rs: UnsupportedType); ` +
        "it needs a sidecar .c2pa manifest. Embedding works for WAV, MP3, FLAC and M4A.",
    );
    this.name = "UnsupportedProvenanceFormatError";
  }
}
