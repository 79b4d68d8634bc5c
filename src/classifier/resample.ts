/**
 * Streaming mono resampler to the classifier's analysis rate: a windowed-sinc (Blackman) interpolator whose
 * kernel is tabulated at {@link PHASES} fractional positions, so any input rate works (44.1 kHz, 48 kHz,
 * 22.05 kHz, 8 kHz) and the cost per output sample is the kernel length, not a function of the ratio's
 * denominator. The corpus builder resamples with sox instead; the small difference between the two
 * resamplers is inside the band-limit chains the model is trained on.
 *
 * @module
 */

/** Zero crossings of the sinc on each side. 8 keeps the stop band ≈ −70 dB with the Blackman window. */
const ZEROS = 8;
/** Fractional positions the kernel is tabulated at (nearest one is used: ≤ 1/2048 sample of timing error). */
const PHASES = 1024;

export class MonoResampler {
  readonly inputRate: number;
  readonly outputRate: number;
  private readonly step: number;
  private readonly half: number;
  private readonly taps: number;
  private readonly table: Float32Array;
  /** Input not yet fully used, starting at absolute input index `bufStart`. */
  private buf = new Float32Array(0);
  private bufStart = 0;
  private received = 0;
  /** Absolute input position (in input samples) of the next output sample. */
  private nextOut = 0;

  constructor(inputRate: number, outputRate: number) {
    if (!(inputRate > 0 && outputRate > 0))
      throw new Error(`MonoResampler: bad rates ${inputRate} → ${outputRate}`);
    this.inputRate = inputRate;
    this.outputRate = outputRate;
    this.step = inputRate / outputRate;
    // Downsampling widens the kernel so that its cut-off sits below the output's Nyquist frequency.
    const scale = Math.min(1, outputRate / inputRate) * 0.94;
    this.half = Math.ceil(ZEROS / scale);
    // Padded with zero taps to a multiple of four (the inner loop sums four at a time).
    this.taps = 4 * Math.ceil((2 * this.half) / 4);
    this.table = new Float32Array(PHASES * this.taps);
    for (let p = 0; p < PHASES; p++) {
      const frac = p / PHASES;
      let sum = 0;
      for (let k = 0; k < this.taps; k++) {
        // Tap k weighs input sample floor(t) - half + 1 + k; its distance from t is d.
        const d = k - this.half + 1 - frac;
        const x = d * scale;
        const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
        const w =
          Math.abs(d) >= this.half
            ? 0
            : 0.42 +
              0.5 * Math.cos((Math.PI * d) / this.half) +
              0.08 * Math.cos((2 * Math.PI * d) / this.half);
        const v = scale * sinc * w;
        this.table[p * this.taps + k] = v;
        sum += v;
      }
      // Unit gain at DC for every phase.
      for (let k = 0; k < this.taps; k++)
        this.table[p * this.taps + k] = (this.table[p * this.taps + k] ?? 0) / sum;
    }
  }

  /** Resamples the next piece of input; returns the output it completes (possibly empty). */
  push(input: Float32Array): Float32Array {
    if (this.step === 1) return input.slice();
    const joined = new Float32Array(this.buf.length + input.length);
    joined.set(this.buf);
    joined.set(input, this.buf.length);
    this.buf = joined;
    this.received += input.length;
    return this.drain(false);
  }

  /** Output for the input's tail (the kernel sees zeros past the end). */
  finish(): Float32Array {
    if (this.step === 1) return new Float32Array(0);
    return this.drain(true);
  }

  private drain(final: boolean): Float32Array {
    const { step, half, taps, table, buf, bufStart } = this;
    // The kernel of the output at t reaches input samples floor(t) − half + 1 … floor(t) − half + taps.
    const end = final ? this.received : this.received - (taps - half);
    const count = Math.max(0, Math.ceil((end - this.nextOut) / step));
    const out = new Float32Array(count);
    let t = this.nextOut;
    for (let i = 0; i < count; i++, t += step) {
      const base = Math.floor(t);
      let phase = Math.round((t - base) * PHASES);
      let first = base - half + 1;
      if (phase === PHASES) {
        phase = 0;
        first += 1;
      }
      const row = phase * taps;
      let acc = 0;
      const rel = first - bufStart;
      if (rel >= 0 && rel + taps <= buf.length) {
        // Four independent sums: one running sum would make every tap wait for the previous addition.
        let a0 = 0;
        let a1 = 0;
        let a2 = 0;
        let a3 = 0;
        for (let k = 0; k < taps; k += 4) {
          const r = row + k;
          const j = rel + k;
          a0 += (table[r] as number) * (buf[j] as number);
          a1 += (table[r + 1] as number) * (buf[j + 1] as number);
          a2 += (table[r + 2] as number) * (buf[j + 2] as number);
          a3 += (table[r + 3] as number) * (buf[j + 3] as number);
        }
        acc = a0 + a1 + (a2 + a3);
      } else {
        for (let k = 0; k < taps; k++) {
          const j = rel + k;
          if (j >= 0 && j < buf.length) acc += (table[row + k] as number) * (buf[j] as number);
        }
      }
      out[i] = acc;
    }
    this.nextOut = t;
    // Keep the input the next output's kernel reaches back to.
    const keepFrom = Math.max(bufStart, Math.floor(this.nextOut) - half);
    if (keepFrom > bufStart) {
      this.buf = buf.slice(keepFrom - bufStart);
      this.bufStart = keepFrom;
    }
    return out;
  }
}

/** Resamples a whole mono signal (see {@link MonoResampler}). */
export function resampleMono(x: Float32Array, inputRate: number, outputRate: number): Float32Array {
  if (inputRate === outputRate) return x;
  const r = new MonoResampler(inputRate, outputRate);
  const a = r.push(x);
  const b = r.finish();
  const out = new Float32Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
