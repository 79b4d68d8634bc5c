/**
 * Power spectra of successive frames, with the same window and scaling as Meyda's `powerSpectrum`
 * (Hann as `0.5 − 0.5·cos(2πi/(N−1))`, |FFT|², bins 0…N/2). The classifier computes its own rather than
 * calling Meyda per frame: Meyda's array-based FFT took 400 ms for the 11 250 frames of a 3-minute file at
 * 16 kHz (half of the 200× real-time budget); Earmark's real FFT (src/audio/fft.ts) does a frame in half a
 * complex transform. The test (stft.test.ts) checks it against Meyda through `extractFeatures`.
 *
 * @module
 */
import { rfft } from "../audio/fft.js";

/** Reusable plan for one frame size (a power of two). */
export class PowerSpectrum {
  readonly size: number;
  private readonly window: Float64Array;
  /** The real input of the transform (windowed frame or mirrored sequence). */
  private readonly input: Float64Array;
  /** Real and imaginary parts of the spectrum, bins 0…N/2. */
  private readonly re: Float64Array;
  private readonly im: Float64Array;

  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 4 && (size & (size - 1)) === 0))
      throw new Error(`PowerSpectrum: size must be a power of two ≥ 4, got ${size}`);
    this.size = size;
    this.window = new Float64Array(size);
    for (let i = 0; i < size; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (size - 1));
    this.input = new Float64Array(size);
    this.re = new Float64Array(size / 2 + 1);
    this.im = new Float64Array(size / 2 + 1);
  }

  /** Power spectrum (size/2 + 1 bins) of `frame` (exactly `size` samples), written into `out`. */
  compute(frame: Float32Array, out: Float32Array = new Float32Array(this.size / 2 + 1)): Float32Array {
    const { size, window, input, re, im } = this;
    for (let i = 0; i < size; i++) input[i] = (frame[i] as number) * (window[i] as number);
    rfft(input, re, im);
    for (let k = 0; k <= size / 2; k++) out[k] = (re[k] as number) ** 2 + (im[k] as number) ** 2;
    return out;
  }

  /**
   * Cosine transform of an even sequence given by its first half `h` (size/2 + 1 values):
   * out[q] = h[0] + (−1)^q·h[size/2] + 2·Σ_{n=1}^{size/2−1} h[n]·cos(2πqn/size), for q in 0…size/2 — the real
   * cepstrum when `h` is a log spectrum. No window.
   */
  evenCosine(h: Float32Array, out: Float32Array = new Float32Array(this.size / 2 + 1)): Float32Array {
    const { size, input, re, im } = this;
    const half = size / 2;
    for (let i = 0; i < size; i++) input[i] = (h[i <= half ? i : size - i] as number) ?? 0;
    rfft(input, re, im);
    for (let q = 0; q <= half; q++) out[q] = re[q] as number;
    return out;
  }
}
