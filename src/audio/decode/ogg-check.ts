import { AudioInputError } from "../../errors.js";
import { oggPageCrc, parseOggPage, storedOggCrc } from "../ogg.js";

/**
 * Checks an Ogg byte stream page by page as it passes: every page must follow the previous one directly,
 * carry a valid CRC and the next sequence number. The codec libraries skip damaged pages silently, which would
 * let a file with a corrupt middle through as a shorter one.
 */
export class OggIntegrityCheck {
  private pending = new Uint8Array(0);
  private offset = 0;
  private readonly sequence = new Map<number, number>();
  pages = 0;

  push(chunk: Uint8Array): void {
    const buf = new Uint8Array(this.pending.length + chunk.length);
    buf.set(this.pending);
    buf.set(chunk, this.pending.length);
    let at = 0;
    while (at + 27 <= buf.length) {
      const page = parseOggPage(buf, at, this.offset);
      if (!page) {
        if (buf[at] !== 0x4f || buf[at + 1] !== 0x67 || buf[at + 2] !== 0x67 || buf[at + 3] !== 0x53)
          throw new AudioInputError(
            "audio-corrupt",
            `The Ogg stream has data that is not a page at byte ${this.offset + at}.`,
          );
        break; // header incomplete: wait for more bytes
      }
      const end = at + page.headerLength + page.bodyLength;
      if (end > buf.length) break;
      const bytes = buf.subarray(at, end);
      if (oggPageCrc(bytes) !== storedOggCrc(bytes))
        throw new AudioInputError(
          "audio-corrupt",
          `Ogg page ${page.sequence} at byte ${page.offset} fails its checksum.`,
        );
      const expected = this.sequence.get(page.serial);
      if (expected !== undefined && page.sequence !== expected)
        throw new AudioInputError(
          "audio-corrupt",
          `Ogg page ${expected} is missing (page ${page.sequence} follows page ${expected - 1}).`,
        );
      this.sequence.set(page.serial, page.sequence + 1);
      this.pages++;
      at = end;
    }
    this.offset += at;
    this.pending = buf.slice(at);
  }

  finish(): void {
    if (this.pending.length > 0)
      throw new AudioInputError(
        "audio-truncated",
        `The Ogg stream ends inside a page at byte ${this.offset}.`,
      );
  }
}
