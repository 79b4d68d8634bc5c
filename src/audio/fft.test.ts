import { describe, expect, it } from "vitest";
import { rng } from "../../test/harness/audio.js";
import { irfft, rfft } from "./fft.js";

describe("real FFT", () => {
  it.each([4, 8, 64, 512, 2048])("matches the DFT sum for %i points, and irfft undoes it", (n) => {
    const random = rng(n);
    const x = Float64Array.from({ length: n }, () => random() * 2 - 1);
    const re = new Float64Array(n / 2 + 1);
    const im = new Float64Array(n / 2 + 1);
    rfft(x, re, im);
    for (let k = 0; k <= n / 2; k++) {
      let sr = 0;
      let si = 0;
      for (let t = 0; t < n; t++) {
        sr += (x[t] as number) * Math.cos((2 * Math.PI * k * t) / n);
        si -= (x[t] as number) * Math.sin((2 * Math.PI * k * t) / n);
      }
      expect(re[k]).toBeCloseTo(sr, 9);
      expect(im[k]).toBeCloseTo(si, 9);
    }
    const back = new Float64Array(n);
    irfft(re, im, back);
    for (let t = 0; t < n; t++) expect(back[t]).toBeCloseTo(x[t] as number, 12);
  });

  it("refuses a size that is not a power of two", () => {
    expect(() => rfft(new Float64Array(12), new Float64Array(7), new Float64Array(7))).toThrow(
      /power of two/,
    );
  });
});
