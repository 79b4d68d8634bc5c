import { describe, expect, it } from "vitest";
import { MonoResampler, resampleMono } from "./resample.js";

const tone = (hz: number, rate: number, seconds: number) =>
  Float32Array.from({ length: Math.round(rate * seconds) }, (_, i) =>
    Math.sin((2 * Math.PI * hz * i) / rate),
  );
const rms = (x: Float32Array) => Math.sqrt(x.reduce((a, v) => a + v * v, 0) / x.length);

describe("MonoResampler", () => {
  it("keeps a 1 kHz tone's level and frequency from 44.1 kHz to 16 kHz", () => {
    const y = resampleMono(tone(1000, 44100, 1), 44100, 16000);
    expect(Math.abs(y.length - 16000)).toBeLessThanOrEqual(1);
    const mid = y.subarray(1000, 15000);
    expect(rms(mid)).toBeCloseTo(Math.SQRT1_2, 2);
    // Compare with the ideal 16 kHz tone: small error everywhere.
    const ideal = tone(1000, 16000, 1).subarray(1000, 15000);
    let err = 0;
    for (let i = 0; i < mid.length; i++) err += ((mid[i] as number) - (ideal[i] as number)) ** 2;
    expect(Math.sqrt(err / mid.length)).toBeLessThan(0.01);
  });

  it("removes a 12 kHz tone (above the new Nyquist frequency) instead of folding it to 4 kHz", () => {
    const y = resampleMono(tone(12000, 48000, 1), 48000, 16000);
    expect(20 * Math.log10(rms(y.subarray(1000, 15000)) / Math.SQRT1_2)).toBeLessThan(-50);
  });

  it("gives the same samples streamed in odd pieces as in one piece", () => {
    const x = tone(440, 22050, 0.5).map((v, i) => v * Math.cos(i / 300));
    const whole = resampleMono(x, 22050, 16000);
    const r = new MonoResampler(22050, 16000);
    const parts: number[] = [];
    for (let at = 0; at < x.length; ) {
      const n = 1 + ((at * 7919) % 1500);
      parts.push(...r.push(x.subarray(at, at + n)));
      at += n;
    }
    parts.push(...r.finish());
    expect(parts.length).toBe(whole.length);
    for (let i = 0; i < whole.length; i++) expect(parts[i]).toBeCloseTo(whole[i] as number, 6);
  });

  it("passes audio already at the rate through unchanged", () => {
    const x = tone(300, 16000, 0.1);
    expect(resampleMono(x, 16000, 16000)).toBe(x);
  });
});
