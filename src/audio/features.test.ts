import { describe, expect, it } from "vitest";
import { extractFeatureFrames, extractFeatures } from "./features.js";

/** Deterministic uniform white noise in −amp..amp (xorshift32), so failures are reproducible. */
function noise(n: number, amp: number, seed = 12345): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 * amp - amp;
  }
  return out;
}

function sine(n: number, cyclesPerFrame: number, amp = 0.5): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin((2 * Math.PI * cyclesPerFrame * i) / n);
  return out;
}

describe("extractFeatures", () => {
  it("gives white noise a much higher spectral flatness than a pure sine", () => {
    const opts = { sampleRate: 48_000, bufferSize: 2048 };
    const white = extractFeatures(noise(2048, 0.5), ["spectralFlatness"], opts).spectralFlatness;
    const tone = extractFeatures(sine(2048, 42.7), ["spectralFlatness"], opts).spectralFlatness;
    // For Rayleigh-distributed magnitudes the expected geometric/arithmetic mean ratio is ≈ 0.85.
    expect(white).toBeGreaterThan(0.6);
    expect(white).toBeLessThan(1);
    expect(tone).toBeLessThan(0.05);
    expect(white / tone).toBeGreaterThan(20);
  });

  it("gives a rect-windowed sine at an exact FFT bin a flatness near 0", () => {
    const { spectralFlatness } = extractFeatures(sine(1024, 64), ["spectralFlatness"], {
      sampleRate: 16_000,
      bufferSize: 1024,
      windowingFunction: "rect",
    });
    expect(spectralFlatness).toBeGreaterThanOrEqual(0);
    expect(spectralFlatness).toBeLessThan(1e-3);
  });

  it("returns every requested feature, typed, computed on the windowed frame", () => {
    const opts = { sampleRate: 8000, bufferSize: 512 } as const;
    const out = extractFeatures(sine(512, 8), ["rms", "spectralFlatness", "zcr"], {
      ...opts,
      windowingFunction: "rect",
    });
    const rms: number = out.rms;
    expect(rms).toBeCloseTo(0.5 / Math.SQRT2, 3);
    // Meyda computes time-domain features after windowing too: a Hann window scales RMS by √(3/8).
    const hann = extractFeatures(sine(512, 8), ["rms"], opts).rms;
    expect(hann).toBeCloseTo((0.5 / Math.SQRT2) * Math.sqrt(3 / 8), 2);
    expect(out.zcr).toBeGreaterThan(10);
    expect(Object.keys(out).sort()).toEqual(["rms", "spectralFlatness", "zcr"]);
  });

  it("applies each call's sample rate and size, even to Meyda's cached filter banks", () => {
    const frame = sine(512, 20);
    const at8k = extractFeatures(frame, ["mfcc", "spectralCentroid"], { sampleRate: 8000, bufferSize: 512 });
    const at16k = extractFeatures(frame, ["mfcc"], { sampleRate: 16_000, bufferSize: 512 });
    extractFeatures(sine(4096, 100), ["mfcc", "chroma"], { sampleRate: 44_100, bufferSize: 4096 });
    const again = extractFeatures(frame, ["mfcc", "spectralCentroid"], { sampleRate: 8000, bufferSize: 512 });
    // The mel filter bank depends on the sample rate: the same frame must give different MFCCs at 16 kHz.
    expect(at16k.mfcc).not.toEqual(at8k.mfcc);
    expect(again.mfcc).toEqual(at8k.mfcc);
    expect(again.spectralCentroid).toBe(at8k.spectralCentroid);
  });

  it("throws a clear error when the signal length differs from bufferSize", () => {
    expect(() =>
      extractFeatures(new Float32Array(1000), ["rms"], { sampleRate: 48_000, bufferSize: 1024 }),
    ).toThrow(/signal\.length \(1000\) must equal bufferSize \(1024\)/);
  });

  it("throws a clear error when bufferSize is not a power of two", () => {
    expect(() =>
      extractFeatures(new Float32Array(1000), ["rms"], { sampleRate: 48_000, bufferSize: 1000 }),
    ).toThrow(/power of two/);
  });
});

describe("extractFeatureFrames", () => {
  const opts = { sampleRate: 4000, bufferSize: 256 };

  it("gives every frame exactly what one extractFeatures call per frame gives", () => {
    const signal = noise(256 + 128 * 9 + 50, 0.3);
    const batch = extractFeatureFrames(signal, 128, ["amplitudeSpectrum"], opts);
    expect(batch).toHaveLength(10); // the 50 samples left over make no frame
    batch.forEach((frame, i) => {
      const one = extractFeatures(signal.subarray(i * 128, i * 128 + 256), ["amplitudeSpectrum"], opts);
      expect(Object.keys(frame)).toEqual(["amplitudeSpectrum"]);
      expect(Array.from(frame.amplitudeSpectrum)).toEqual(Array.from(one.amplitudeSpectrum));
    });
  });

  it("returns several features per frame, and nothing for a signal shorter than a frame", () => {
    const [frame] = extractFeatureFrames(sine(512, 8), 512, ["rms", "zcr"], {
      sampleRate: 8000,
      bufferSize: 512,
      windowingFunction: "rect",
    });
    expect(frame?.rms).toBeCloseTo(0.5 / Math.SQRT2, 3);
    expect(frame?.zcr).toBeGreaterThan(10);
    expect(extractFeatureFrames(new Float32Array(255), 128, ["rms"], opts)).toEqual([]);
  });

  it("applies its own settings, whatever another caller set in between", () => {
    const signal = sine(1024, 37);
    const first = extractFeatureFrames(signal, 128, ["mfcc"], opts);
    // MFCCs depend on the sample rate through Meyda's cached mel filter bank.
    const elsewhere = extractFeatures(sine(2048, 100), ["mfcc"], { sampleRate: 48_000, bufferSize: 2048 });
    const again = extractFeatureFrames(signal, 128, ["mfcc"], opts);
    const at16k = extractFeatureFrames(signal, 128, ["mfcc"], { ...opts, sampleRate: 16_000 });
    expect(elsewhere.mfcc).toHaveLength(13);
    expect(again).toEqual(first);
    expect(at16k[0]?.mfcc).not.toEqual(first[0]?.mfcc);
  });

  it("refuses a hop that is not a positive integer", () => {
    expect(() => extractFeatureFrames(new Float32Array(512), 0, ["rms"], opts)).toThrow(/hop/);
    expect(() => extractFeatureFrames(new Float32Array(512), 1.5, ["rms"], opts)).toThrow(/hop/);
  });
});
