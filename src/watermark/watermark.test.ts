import { describe, expect, it } from "vitest";
import { makeMix, rng, type Signal } from "../../test/harness/audio.js";
import { TEST_WATERMARK_KEY } from "../../test/harness/deps.js";
import type { PcmChunk } from "../audio/decode/index.js";
import { detectWatermark, embedWatermark, PAYLOAD_BYTES } from "./index.js";

const RATE = 22050;

/** Deterministic test audio: pink-ish noise plus a few drifting tones, with a slow loudness contour. */
function synth(seconds: number, channels: number, seed: number): Float32Array[] {
  let s = seed >>> 0;
  const rnd = () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const len = Math.round(seconds * RATE);
  return Array.from({ length: channels }, (_, c) => {
    const x = new Float32Array(len);
    let lp = 0;
    for (let i = 0; i < len; i++) {
      const t = i / RATE;
      lp = 0.9 * lp + 0.1 * rnd();
      const env = 0.6 + 0.4 * Math.sin(2 * Math.PI * 0.37 * t + c);
      const tones =
        0.05 * Math.sin(2 * Math.PI * (440 + 20 * Math.sin(t)) * t) + 0.03 * Math.sin(2 * Math.PI * 1320 * t);
      x[i] = env * (0.3 * lp + 0.05 * rnd() + tones);
    }
    return x;
  });
}

async function* chunks(channels: Float32Array[], sizes: number[] = [RATE]): AsyncIterable<PcmChunk> {
  const len = channels[0]?.length ?? 0;
  let at = 0;
  for (let i = 0; at < len; i++) {
    const n = sizes[i % sizes.length] as number;
    yield { channels: channels.map((c) => c.subarray(at, Math.min(len, at + n))), sampleRate: RATE };
    at += n;
  }
}

async function collect(it: AsyncIterable<PcmChunk>): Promise<Float32Array[]> {
  const parts: Float32Array[][] = [];
  for await (const c of it) parts.push(c.channels);
  const total = parts.reduce((s, p) => s + (p[0]?.length ?? 0), 0);
  const out = (parts[0] ?? []).map(() => new Float32Array(total));
  let at = 0;
  for (const p of parts) {
    p.forEach((c, i) => {
      (out[i] as Float32Array).set(c, at);
    });
    at += p[0]?.length ?? 0;
  }
  return out;
}

/** Speed change by linear-interpolation resampling: output plays `factor` times faster. */
function speedChange(x: Float32Array, factor: number): Float32Array {
  const out = new Float32Array(Math.floor(x.length / factor));
  for (let i = 0; i < out.length; i++) {
    const p = i * factor;
    const j = Math.floor(p);
    const f = p - j;
    out[i] = (x[j] as number) * (1 - f) + (x[Math.min(x.length - 1, j + 1)] as number) * f;
  }
  return out;
}

const key = new Uint8Array(32).map((_, i) => (i * 37 + 11) & 0xff);
const otherKey = new Uint8Array(32).map((_, i) => (i * 53 + 5) & 0xff);
const payload = Uint8Array.from([0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0]);

describe("watermark", () => {
  const original = synth(52, 2, 1);
  const markedPromise = collect(
    embedWatermark(chunks(original, [RATE - 123, 7777, 30000]), { key, payload }),
  );

  it("keeps rate, channels and length, and changes the signal only slightly", async () => {
    const marked = await markedPromise;
    expect(marked.length).toBe(2);
    expect(marked[0]?.length).toBe(original[0]?.length);
    let sig = 0;
    let diff = 0;
    original.forEach((x, c) => {
      const y = marked[c] as Float32Array;
      for (let i = 0; i < x.length; i++) {
        sig += (x[i] as number) ** 2;
        diff += ((y[i] as number) - (x[i] as number)) ** 2;
      }
    });
    expect(diff).toBeGreaterThan(0);
    expect(10 * Math.log10(sig / diff)).toBeGreaterThan(20);
  });

  it("recovers the payload, and a mono downmix still carries it", async () => {
    const marked = await markedPromise;
    const d = await detectWatermark(chunks(marked, [40000]), { key });
    expect(d.found).toBe(true);
    expect(Array.from(d.payload ?? [])).toEqual(Array.from(payload));
    expect(d.payload?.length).toBe(PAYLOAD_BYTES);
    expect(d.confidence).toBeGreaterThan(0);
    expect(d.speedRatio).toBeCloseTo(1, 2);
    const mono = (marked[0] as Float32Array).map((v, i) => (v + (marked[1] as Float32Array)[i]!) / 2);
    const dm = await detectWatermark(chunks([mono]), { key });
    expect(Array.from(dm.payload ?? [])).toEqual(Array.from(payload));
  });

  it("finds nothing with another deployment's key or in unmarked audio", async () => {
    const marked = await markedPromise;
    const wrong = await detectWatermark(chunks(marked), { key: otherKey });
    expect(wrong).toMatchObject({ found: false, payload: null, ranges: [] });
    const plain = await detectWatermark(chunks(original), { key });
    expect(plain.found).toBe(false);
  });

  it("reports where the mark is in audio that is only partly marked", async () => {
    const marked = await markedPromise;
    const lead = synth(26, 1, 9)[0] as Float32Array;
    const piece = (marked[0] as Float32Array).subarray(Math.round(3.3 * RATE), Math.round(45 * RATE));
    const joined = new Float32Array(lead.length + piece.length);
    joined.set(lead);
    joined.set(piece, lead.length);
    const d = await detectWatermark(chunks([joined]), { key });
    expect(d.found).toBe(true);
    expect(d.ranges.length).toBeGreaterThan(0);
    const first = d.ranges[0] as { startS: number; endS: number };
    expect(first.startS).toBeGreaterThanOrEqual(20);
    expect(first.startS).toBeLessThanOrEqual(30);
    expect((d.ranges[d.ranges.length - 1] as { endS: number }).endS).toBeGreaterThan(55);
  });

  it("detects a piece sped up by 3 % (time and pitch) and estimates the speed", async () => {
    const marked = await markedPromise;
    const fast = speedChange((marked[0] as Float32Array).subarray(Math.round(5.1 * RATE)), 1.03);
    const d = await detectWatermark(chunks([fast]), { key });
    expect(Array.from(d.payload ?? [])).toEqual(Array.from(payload));
    expect(d.speedRatio).toBeGreaterThan(1.025);
    expect(d.speedRatio).toBeLessThan(1.035);
  });

  it("rejects a payload of the wrong size", async () => {
    const run = async () => {
      for await (const _ of embedWatermark(chunks(original), { key, payload: new Uint8Array(4) })) {
        // consume
      }
    };
    await expect(run()).rejects.toThrow(/8 bytes/);
  });
});

describe("watermark payloads", () => {
  async function* signalChunks(s: Signal): AsyncIterable<PcmChunk> {
    const len = s.channels[0]?.length ?? 0;
    for (let at = 0; at < len; at += s.sampleRate)
      yield { channels: s.channels.map((c) => c.subarray(at, at + s.sampleRate)), sampleRate: s.sampleRate };
  }

  // Any id must decode from a clean rendition, not only lucky ones: with earmark-wm-1 about one payload in
  // twenty (here the second one) decoded its 64 payload bits but not the MAC, which sat on the weakest
  // coded bits (bench/watermark/payloads.ts, docs/adr/0010-watermark.md).
  /** Embeds `count` payloads drawn from `seed` into `host` and returns those not read back exactly (hex). */
  async function missedPayloads(
    host: Signal,
    count: number,
    seed: number,
    strength?: number,
  ): Promise<string[]> {
    const key = Uint8Array.from(Buffer.from(TEST_WATERMARK_KEY, "hex"));
    const random = rng(seed);
    const missed: string[] = [];
    for (let i = 0; i < count; i++) {
      const payload = Uint8Array.from({ length: PAYLOAD_BYTES }, () => Math.floor(random() * 256));
      const options = strength === undefined ? { key, payload } : { key, payload, strength };
      const marked = await collect(embedWatermark(signalChunks(host), options));
      const d = await detectWatermark(signalChunks({ sampleRate: host.sampleRate, channels: marked }), {
        key,
      });
      if (!d.found || Buffer.from(d.payload ?? []).compare(Buffer.from(payload)) !== 0)
        missed.push(Buffer.from(payload).toString("hex"));
    }
    return missed;
  }

  it("decodes each of 8 seeded random payloads from a clean 40 s mix", async () => {
    expect(await missedPayloads(makeMix({ seconds: 40, seed: 5150 }), 8, 1)).toEqual([]);
  }, 60_000);
  // A weak mark over five windows: no window decodes alone, so the payload has to come from the windows
  // together. Summing each window's soft bits (earmark-wm-2 as first released) read neither payload; summing
  // the windows' cells by block position and weighting the bands once from all their pilots reads both.
  it("decodes a weak mark from several windows together", async () => {
    const host = makeMix({ seconds: 130, seed: 5150, sampleRate: 22050 });
    expect(await missedPayloads(host, 2, 7, 0.3)).toEqual([]);
  }, 60_000);
});
