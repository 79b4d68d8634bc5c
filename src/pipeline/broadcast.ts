import type { PcmChunk } from "../audio/decode/index.js";

/**
 * One decode, several readers: every reader sees every chunk, in order, from the start. The readers move
 * in step: one that is `window` chunks ahead of the slowest unfinished reader waits for it, so memory holds
 * at most `window` chunks whatever the length of the audio. A reader that stops early (its loop breaks or
 * throws) or never starts must be marked `done(i)`, or the others wait for it at the window's edge.
 * A decoding error reaches every reader after the chunks before it.
 */
export class PcmBroadcast {
  private buffer: PcmChunk[] = [];
  /** Index (in the whole stream) of buffer[0]. */
  private base = 0;
  /** Per reader, the index of the next chunk it reads; Infinity once done. */
  private readonly positions: number[];
  private ended = false;
  private failure: { error: unknown } | null = null;
  private pulling: Promise<void> | null = null;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly source: AsyncIterator<PcmChunk>,
    readers: number,
    private readonly window = 8,
  ) {
    this.positions = new Array(readers).fill(0);
  }

  /** Reader `i`'s chunks. */
  reader(i: number): AsyncIterable<PcmChunk> {
    return {
      [Symbol.asyncIterator]: () => ({
        next: () => this.next(i),
        return: async () => {
          this.done(i);
          return { done: true as const, value: undefined };
        },
      }),
    };
  }

  /** Reader `i` will read no more. When no reader is left, decoding stops. */
  done(i: number): void {
    if (this.positions[i] === Number.POSITIVE_INFINITY) return;
    this.positions[i] = Number.POSITIVE_INFINITY;
    this.trim();
    this.wake();
    if (this.positions.every((p) => p === Number.POSITIVE_INFINITY) && !this.ended) {
      this.ended = true;
      void Promise.resolve(this.source.return?.()).catch(() => {});
    }
  }

  private slowest(): number {
    return Math.min(...this.positions);
  }

  private async next(i: number): Promise<IteratorResult<PcmChunk>> {
    for (;;) {
      const pos = this.positions[i]!;
      if (pos === Number.POSITIVE_INFINITY) return { done: true, value: undefined };
      if (pos < this.base + this.buffer.length) {
        const chunk = this.buffer[pos - this.base]!;
        this.positions[i] = pos + 1;
        this.trim();
        this.wake();
        return { done: false, value: chunk };
      }
      if (this.failure) throw this.failure.error;
      if (this.ended) return { done: true, value: undefined };
      if (pos - this.slowest() >= this.window) {
        await new Promise<void>((resolve) => this.waiters.push(resolve));
        continue;
      }
      this.pulling ??= this.pull();
      await this.pulling;
    }
  }

  private async pull(): Promise<void> {
    try {
      const r = await this.source.next();
      if (r.done) this.ended = true;
      else this.buffer.push(r.value);
    } catch (error) {
      this.failure = { error };
    } finally {
      this.pulling = null;
      this.wake();
    }
  }

  /** Drops the chunks every unfinished reader has read. */
  private trim(): void {
    const drop = Math.min(this.slowest() - this.base, this.buffer.length);
    if (drop > 0) {
      this.buffer.splice(0, drop);
      this.base += drop;
    }
  }

  private wake(): void {
    const waiting = this.waiters;
    this.waiters = [];
    for (const w of waiting) w();
  }
}
