/**
 * Power spectra of successive frames, with the same window and scaling as Meyda's `powerSpectrum`
 * (Hann as `0.5 − 0.5·cos(2πi/(N−1))`, |FFT|², bins 0…N/2). The classifier computes its own rather than
 * calling Meyda per frame: Meyda's array-based FFT took 400 ms for the 11 250 frames of a 3-minute file at
 * 16 kHz (half of the 200× real-time budget). Here a real frame of N samples is transformed as N/2 complex
 * samples (even samples as the real part, odd as the imaginary part) by an in-place radix-2 FFT, and the
 * N/2 + 1 bins are separated from that half-size result — half the work of a complex N-point transform.
 * The test (stft.test.ts) checks it against Meyda through `extractFeatures`.
 *
 * @module
 */

/** Reusable plan for one frame size (a power of two). */
export class PowerSpectrum {
  readonly size: number;
  private readonly window: Float64Array;
  /** The half-size complex transform's work arrays. */
  private readonly re: Float64Array;
  private readonly im: Float64Array;
  /** cos(2πk/N) and −sin(2πk/N) for k < N/2. */
  private readonly cos: Float64Array;
  private readonly sin: Float64Array;
  /** Bit reversal for N/2 points. */
  private readonly rev: Uint32Array;
  /** Real and imaginary parts of the N-point spectrum, bins 0…N/2. */
  private readonly xr: Float64Array;
  private readonly xi: Float64Array;
  /** The real input of the transform (windowed frame or mirrored sequence). */
  private readonly input: Float64Array;

  constructor(size: number) {
    if (!(Number.isInteger(size) && size >= 4 && (size & (size - 1)) === 0))
      throw new Error(`PowerSpectrum: size must be a power of two ≥ 4, got ${size}`);
    this.size = size;
    const half = size / 2;
    this.window = new Float64Array(size);
    for (let i = 0; i < size; i++) this.window[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (size - 1));
    this.re = new Float64Array(half);
    this.im = new Float64Array(half);
    this.cos = new Float64Array(half);
    this.sin = new Float64Array(half);
    for (let i = 0; i < half; i++) {
      this.cos[i] = Math.cos((2 * Math.PI * i) / size);
      this.sin[i] = -Math.sin((2 * Math.PI * i) / size);
    }
    this.rev = new Uint32Array(half);
    const bits = Math.log2(half);
    for (let i = 0; i < half; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.rev[i] = r;
    }
    this.xr = new Float64Array(half + 1);
    this.xi = new Float64Array(half + 1);
    this.input = new Float64Array(size);
  }

  /** Power spectrum (size/2 + 1 bins) of `frame` (exactly `size` samples), written into `out`. */
  compute(frame: Float32Array, out: Float32Array = new Float32Array(this.size / 2 + 1)): Float32Array {
    const { size, window, input, xr, xi } = this;
    for (let i = 0; i < size; i++) input[i] = (frame[i] as number) * (window[i] as number);
    this.realTransform();
    for (let k = 0; k <= size / 2; k++) out[k] = (xr[k] as number) ** 2 + (xi[k] as number) ** 2;
    return out;
  }

  /**
   * Cosine transform of an even sequence given by its first half `h` (size/2 + 1 values):
   * out[q] = h[0] + (−1)^q·h[size/2] + 2·Σ_{n=1}^{size/2−1} h[n]·cos(2πqn/size), for q in 0…size/2 — the real
   * cepstrum when `h` is a log spectrum. No window.
   */
  evenCosine(h: Float32Array, out: Float32Array = new Float32Array(this.size / 2 + 1)): Float32Array {
    const { size, input, xr } = this;
    const half = size / 2;
    for (let i = 0; i < size; i++) input[i] = (h[i <= half ? i : size - i] as number) ?? 0;
    this.realTransform();
    for (let q = 0; q <= half; q++) out[q] = xr[q] as number;
    return out;
  }

  /** The N-point DFT of `input` (real), bins 0…N/2, into `xr`/`xi`. */
  private realTransform(): void {
    const { size, input, re, im, rev, cos, sin, xr, xi } = this;
    const half = size / 2;
    for (let n = 0; n < half; n++) {
      const j = rev[n] as number;
      re[j] = input[2 * n] as number;
      im[j] = input[2 * n + 1] as number;
    }
    // Half-size complex FFT: the twiddle e^{−2πik/len} of a len-point stage is entry k·(N/len) of the table.
    for (let len = 2; len <= half; len <<= 1) {
      const h = len >> 1;
      const step = size / len;
      for (let start = 0; start < half; start += len) {
        for (let k = 0; k < h; k++) {
          const wr = cos[k * step] as number;
          const wi = sin[k * step] as number;
          const a = start + k;
          const b = a + h;
          const tr = (re[b] as number) * wr - (im[b] as number) * wi;
          const ti = (re[b] as number) * wi + (im[b] as number) * wr;
          re[b] = (re[a] as number) - tr;
          im[b] = (im[a] as number) - ti;
          re[a] = (re[a] as number) + tr;
          im[a] = (im[a] as number) + ti;
        }
      }
    }
    // Z = E + i·O, with E and O the spectra of the even and odd samples; X[k] = E[k] + e^{−2πik/N}·O[k].
    const r0 = re[0] as number;
    const i0 = im[0] as number;
    xr[0] = r0 + i0;
    xi[0] = 0;
    xr[half] = r0 - i0;
    xi[half] = 0;
    for (let k = 1; k < half; k++) {
      const m = half - k;
      const ar = re[k] as number;
      const ai = im[k] as number;
      const br = re[m] as number;
      const bi = im[m] as number;
      const er = 0.5 * (ar + br);
      const ei = 0.5 * (ai - bi);
      const or = 0.5 * (ai + bi);
      const oi = -0.5 * (ar - br);
      const wr = cos[k] as number;
      const wi = sin[k] as number;
      xr[k] = er + wr * or - wi * oi;
      xi[k] = ei + wr * oi + wi * or;
    }
  }
}
