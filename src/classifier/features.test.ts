import { describe, expect, it } from "vitest";
import { rng } from "../../test/harness/audio.js";
import {
  ANALYSIS_RATE,
  FEATURE_COUNT,
  FEATURE_NAMES,
  featuresOf,
  featuresOfChunks,
  WindowFeatureStream,
  windowFeatures,
  windowSpans,
} from "./features.js";
import { resampleMono } from "./resample.js";

const R = ANALYSIS_RATE;
const at = (name: string) => FEATURE_NAMES.indexOf(name);

/** A vowel-like buzz: a 125 Hz pulse train through two resonances, with a little noise. */
function buzz(seconds: number, rate = R, seed = 1): Float32Array {
  const random = rng(seed);
  const x = new Float32Array(Math.round(seconds * rate));
  const period = rate / 125;
  let y1 = 0;
  let y2 = 0;
  for (let i = 0; i < x.length; i++) {
    const pulse = i % Math.round(period) === 0 ? 1 : 0;
    const r = 0.97;
    const th = (2 * Math.PI * 700) / rate;
    const y = pulse + 2 * r * Math.cos(th) * y1 - r * r * y2;
    y2 = y1;
    y1 = y;
    x[i] = 0.05 * y + 0.001 * (random() - 0.5);
  }
  return x;
}

describe("windowSpans", () => {
  it("cuts 2 s windows, adds one ending at the end for a tail of at least 1 s, and keeps short audio whole", () => {
    expect(windowSpans(5 * R)).toEqual([
      { from: 0, to: 2 * R },
      { from: 2 * R, to: 4 * R },
      { from: 3 * R, to: 5 * R },
    ]);
    expect(windowSpans(4.5 * R)).toEqual([
      { from: 0, to: 2 * R },
      { from: 2 * R, to: 4 * R },
    ]);
    expect(windowSpans(1.2 * R)).toEqual([{ from: 0, to: 1.2 * R }]);
    expect(windowSpans(0.4 * R)).toEqual([]);
    expect(windowSpans(4 * R, 1).map((s) => s.from / R)).toEqual([0, 1, 2]);
  });
});

describe("window features", () => {
  it("has one named, finite entry per feature", () => {
    const v = windowFeatures(buzz(2));
    expect(v.length).toBe(FEATURE_COUNT);
    expect(new Set(FEATURE_NAMES).size).toBe(FEATURE_COUNT);
    for (const x of v) expect(Number.isFinite(x)).toBe(true);
  });

  it("tells a buzz from noise: noise is flat and has no cepstral pitch peak", () => {
    const random = rng(3);
    const noise = Float32Array.from({ length: 2 * R }, () => 0.05 * (random() - 0.5));
    const b = windowFeatures(buzz(2));
    const n = windowFeatures(noise);
    expect(n[at("flat1000-2000.mean")]).toBeGreaterThan(0.5);
    expect(b[at("flat1000-2000.mean")]).toBeLessThan(0.2);
    expect(b[at("cpp.mean")]).toBeGreaterThan(3 * (n[at("cpp.mean")] as number));
    // A steady 125 Hz pitch: the cepstral peak stays put.
    expect(b[at("pitch.std")]).toBeLessThan(0.01);
  });

  it("gives the same windows however the audio arrives in pieces", () => {
    const x = buzz(7.3);
    const whole = featuresOf(x);
    const stream = new WindowFeatureStream();
    for (let i = 0; i < x.length; ) {
      const n = 1000 + ((i * 31) % 20000);
      stream.push(x.subarray(i, i + n));
      i += n;
    }
    const pieces = stream.finish();
    expect(pieces.windows.map((w) => [w.startS, w.endS])).toEqual([
      [0, 2],
      [2, 4],
      [4, 6],
      [5.3, 7.3],
    ]);
    expect(pieces.windows.map((w) => Array.from(w.features))).toEqual(
      whole.windows.map((w) => Array.from(w.features)),
    );
  });

  it("mixes decoded chunks to mono and resamples them to 16 kHz before the features", async () => {
    const x44 = buzz(4, 44100, 2);
    async function* chunks() {
      for (let i = 0; i < x44.length; i += 4410) {
        const c = x44.slice(i, i + 4410);
        yield { sampleRate: 44100, channels: [c, c] };
      }
    }
    const got = await featuresOfChunks(chunks());
    const want = featuresOf(resampleMono(x44, 44100, R));
    expect(got.windows.length).toBe(2);
    for (let w = 0; w < 2; w++)
      for (let i = 0; i < FEATURE_COUNT; i++)
        expect(got.windows[w]?.features[i]).toBeCloseTo(want.windows[w]?.features[i] as number, 3);
  });
});
