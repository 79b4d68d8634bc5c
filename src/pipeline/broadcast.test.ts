import { describe, expect, it } from "vitest";
import type { PcmChunk } from "../audio/decode/index.js";
import { PcmBroadcast } from "./broadcast.js";

/** A decoder stand-in: `n` chunks whose single sample is their index, counting how many were decoded. */
function counting(n: number, failAt?: number) {
  const state = { decoded: 0, returned: false };
  async function* gen(): AsyncGenerator<PcmChunk> {
    try {
      for (let i = 0; i < n; i++) {
        if (i === failAt) throw new Error(`corrupt frame at chunk ${i}`);
        state.decoded++;
        await new Promise((r) => setImmediate(r));
        yield { channels: [Float32Array.of(i)], sampleRate: 8000 };
      }
    } finally {
      state.returned = true;
    }
  }
  return { iterator: gen(), state };
}

async function collect(it: AsyncIterable<PcmChunk>, opts: { stopAfter?: number; delayMs?: number } = {}) {
  const seen: number[] = [];
  for await (const c of it) {
    seen.push(c.channels[0]![0]!);
    if (opts.delayMs) await new Promise((r) => setTimeout(r, opts.delayMs));
    if (seen.length === opts.stopAfter) break;
  }
  return seen;
}

describe("PcmBroadcast", () => {
  it("gives every reader every chunk in order from one decode", async () => {
    const { iterator, state } = counting(50);
    const b = new PcmBroadcast(iterator, 3);
    const all = await Promise.all([0, 1, 2].map((i) => collect(b.reader(i), { delayMs: i === 2 ? 1 : 0 })));
    const expected = Array.from({ length: 50 }, (_, i) => i);
    for (const seen of all) expect(seen).toEqual(expected);
    expect(state.decoded).toBe(50);
  });

  it("keeps a fast reader within the window of the slowest, so memory stays bounded", async () => {
    const { iterator } = counting(40);
    const b = new PcmBroadcast(iterator, 2, 4);
    const fastSeen: number[] = [];
    let slowAt = 0;
    let maxLead = 0;
    const fast = (async () => {
      for await (const c of b.reader(0)) {
        fastSeen.push(c.channels[0]![0]!);
        maxLead = Math.max(maxLead, fastSeen.length - slowAt);
      }
    })();
    const slow = (async () => {
      for await (const _ of b.reader(1)) {
        await new Promise((r) => setTimeout(r, 2));
        slowAt++;
      }
    })();
    await Promise.all([fast, slow]);
    expect(fastSeen).toHaveLength(40);
    expect(maxLead).toBeLessThanOrEqual(5); // the window, plus the chunk the slow reader holds
  });

  it("does not hold the others back for a reader that stops early or never starts, once marked done", async () => {
    const { iterator, state } = counting(30);
    const b = new PcmBroadcast(iterator, 3, 2);
    b.done(2); // a stage that failed before reading
    const [early, full] = await Promise.all([collect(b.reader(0), { stopAfter: 3 }), collect(b.reader(1))]);
    expect(early).toEqual([0, 1, 2]);
    expect(full).toHaveLength(30);
    expect(state.decoded).toBe(30);
  });

  it("stops decoding when every reader has stopped", async () => {
    const { iterator, state } = counting(1000);
    const b = new PcmBroadcast(iterator, 2);
    await Promise.all([collect(b.reader(0), { stopAfter: 5 }), collect(b.reader(1), { stopAfter: 7 })]);
    await new Promise((r) => setImmediate(r));
    expect(state.decoded).toBeLessThan(20);
    expect(state.returned).toBe(true);
  });

  it("delivers a decoding error to every reader after the chunks before it", async () => {
    const { iterator } = counting(10, 6);
    const b = new PcmBroadcast(iterator, 2);
    const results = await Promise.all(
      [0, 1].map(async (i) => {
        const seen: number[] = [];
        try {
          for await (const c of b.reader(i)) seen.push(c.channels[0]![0]!);
          return { seen, error: null };
        } catch (err) {
          return { seen, error: (err as Error).message };
        }
      }),
    );
    for (const r of results)
      expect(r).toEqual({ seen: [0, 1, 2, 3, 4, 5], error: "corrupt frame at chunk 6" });
  });
});
