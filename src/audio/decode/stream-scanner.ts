/**
 * What the stream checks share: the stored bytes arrive in pieces, the first `skip` bytes (headers, tags) are
 * not theirs to check, and whatever a check has not consumed yet waits in `pending`.
 */
export abstract class StreamScanner {
  protected pending: Uint8Array = new Uint8Array(0);
  /** Stream offset of `pending[0]`. */
  protected offset = 0;

  /** @param skip bytes of the stream before the audio frames begin. */
  constructor(protected skip: number) {}

  /** Skips what is still to skip; returns the pending bytes followed by the rest of `chunk`, or null if none. */
  protected joined(chunk: Uint8Array): Uint8Array | null {
    let bytes = chunk;
    if (this.skip > 0) {
      const n = Math.min(this.skip, bytes.length);
      this.skip -= n;
      this.offset += n;
      bytes = bytes.subarray(n);
      if (bytes.length === 0) return null;
    }
    const buf = new Uint8Array(this.pending.length + bytes.length);
    buf.set(this.pending);
    buf.set(bytes, this.pending.length);
    return buf;
  }
}
