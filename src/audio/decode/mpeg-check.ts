import { AudioInputError } from "../../errors.js";
import { id3v2Length, type MpegFrameHeader, parseMpegHeader } from "../format.js";
import { StreamScanner } from "./stream-scanner.js";

const ascii = (b: Uint8Array, at: number, len: number) =>
  String.fromCharCode(...b.subarray(at, Math.min(b.length, at + len)));

/** Tags that may follow the last frame of an MP3; nothing after them is audio. */
const TRAILING_TAGS = ["TAG", "APETAGEX", "LYRICSBEGIN"];

/**
 * Checks that an MPEG audio stream is an unbroken run of frames as it passes: each frame must start where the
 * previous one ended, with a header of the same layer and sample rate. mpg123 skips damaged frames and
 * resynchronises silently (up to its resync limit), which would let a file with a damaged middle through as
 * a shorter one. Tolerated: ID3v2 tags between frames (concatenated files), tags after the last frame, and a
 * last frame cut short (the decoder drops it; without a frame count nothing says how long the file was).
 */
export class MpegIntegrityCheck extends StreamScanner {
  private first: MpegFrameHeader | null = null;
  private tail = false;
  frames = 0;

  push(chunk: Uint8Array): void {
    if (this.tail) return;
    const buf = this.joined(chunk);
    if (!buf) return;
    let at = 0;
    while (at + 4 <= buf.length) {
      const h = parseMpegHeader(buf, at);
      if (!h) {
        if (TRAILING_TAGS.some((t) => ascii(buf, at, t.length) === t)) {
          this.tail = true;
          at = buf.length;
          break;
        }
        if (at + 10 > buf.length) break; // maybe an ID3v2 header: wait for its ten bytes
        const id3 = id3v2Length(buf, at);
        if (id3 > 0) {
          if (at + id3 > buf.length) break;
          at += id3;
          continue;
        }
        throw this.corrupt(at, "has data that is not an MPEG audio frame");
      }
      if (this.first && (h.layer !== this.first.layer || h.sampleRate !== this.first.sampleRate))
        throw this.corrupt(at, `has a layer ${h.layer}, ${h.sampleRate} Hz frame header`);
      this.first ??= h;
      if (at + h.frameLength > buf.length) break;
      at += h.frameLength;
      this.frames++;
    }
    this.offset += at;
    this.pending = buf.subarray(at);
  }

  finish(): void {
    // Whatever is left is shorter than a frame, a frame cut short, or the start of a tag: all tolerated.
  }

  private corrupt(at: number, what: string): AudioInputError {
    return new AudioInputError(
      "audio-corrupt",
      `The MP3 stream ${what} at byte ${this.offset + at}${this.frames > 0 ? ` (after frame ${this.frames})` : ""}.`,
    );
  }
}
