import { describe, expect, it } from "vitest";
import { rng } from "../../test/harness/audio.js";
import { extractFeatures } from "../audio/features.js";
import { PowerSpectrum } from "./stft.js";

describe("PowerSpectrum", () => {
  it("gives Meyda's powerSpectrum (Hann window, |FFT|²) for noise and a tone", () => {
    const random = rng(5);
    const plan = new PowerSpectrum(512);
    for (const frame of [
      Float32Array.from({ length: 512 }, () => random() * 2 - 1),
      Float32Array.from({ length: 512 }, (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 16000)),
    ]) {
      const ours = plan.compute(frame);
      const { powerSpectrum } = extractFeatures(frame, ["powerSpectrum"], {
        sampleRate: 16000,
        bufferSize: 512,
      });
      const meyda = powerSpectrum as Float32Array;
      expect(ours.length).toBe(257);
      // Meyda returns bins 0…N/2−1; ours adds the Nyquist bin.
      expect(meyda.length).toBe(256);
      const peak = Math.max(...meyda);
      for (let k = 0; k < 256; k++)
        expect(Math.abs((ours[k] as number) - (meyda[k] as number))).toBeLessThan(1e-4 * peak);
    }
  });

  it("puts a 1 kHz tone in bin 32 of a 512-point frame at 16 kHz", () => {
    const frame = Float32Array.from({ length: 512 }, (_, i) => Math.sin((2 * Math.PI * 1000 * i) / 16000));
    const p = new PowerSpectrum(512).compute(frame);
    expect(p.indexOf(Math.max(...p))).toBe(32);
  });

  it("evenCosine is the cosine sum of an even sequence", () => {
    const random = rng(9);
    const h = Float32Array.from({ length: 33 }, () => random());
    const out = new PowerSpectrum(64).evenCosine(h);
    for (const q of [0, 1, 7, 32]) {
      let s = (h[0] as number) + (-1) ** q * (h[32] as number);
      for (let n = 1; n < 32; n++) s += 2 * (h[n] as number) * Math.cos((2 * Math.PI * q * n) / 64);
      expect(out[q]).toBeCloseTo(s, 4);
    }
  });

  it("refuses a size that is not a power of two", () => {
    expect(() => new PowerSpectrum(500)).toThrow(/power of two/);
  });
});
