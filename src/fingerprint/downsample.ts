/**
 * Streaming mono downsampler to the fingerprint's analysis rate ({@link ANALYSIS_RATE}).
 *
 * Two steps, both cheap per input sample, so that most of the extraction time goes to the spectrum:
 * 1. Mix to mono and decimate by the integer factor M = ⌊inputRate / 8000⌋ with two cascaded boxcars
 *    (a second-order CIC filter): about three additions per input sample, and nulls at every multiple of
 *    inputRate/M, where the aliases of the 0–2 kHz band would come from.
 * 2. A windowed-sinc interpolator from the intermediate rate (8–16 kHz) to 4 kHz with a cut-off at
 *    1.8 kHz, from a table of 64 filter phases.
 *
 * Memory is bounded: only the last filter length of intermediate samples is kept between chunks.
 *
 * @module
 */

/** Sample rate of the signal the fingerprint analyses, in Hz. */
export const ANALYSIS_RATE = 4000;

const PHASES = 64;
/** Half-width of the interpolation kernel in output sample periods. */
const HALF_WIDTH_OUT = 4;
const CUTOFF_HZ = 1800;

export class MonoDownsampler {
  readonly inputRate: number;
  private readonly m: number;
  private readonly step: number; // intermediate samples per output sample
  private readonly taps: number;
  /**
   * PHASES × taps, each coefficient rounded to single precision (the filter as designed) and held in a
   * Float64Array, as the intermediate samples are: the same values, read without a conversion per tap.
   */
  private readonly kernel: Float64Array;
  // Stage 1 state: running boxcar of the last M mono samples (as single-precision values), then a block sum
  // of M of those. The ring position is also how many samples the current block holds: both count input
  // samples modulo M from 0.
  private readonly ring: Float32Array;
  private ringPos = 0;
  private boxSum = 0;
  private blockSum = 0;
  // Stage 2 state: intermediate samples not yet consumed; `mid[0]` has intermediate index `midBase`. Each is a
  // single-precision value (Math.fround) kept in a Float64Array, see `kernel`.
  private mid = new Float64Array(4096);
  private midLen = 0;
  private midBase = 0;
  private nextOut = 0; // index of the next output sample
  private out: Float32Array = new Float32Array(1024);
  private outLen = 0;

  constructor(inputRate: number) {
    if (!(Number.isFinite(inputRate) && inputRate >= ANALYSIS_RATE)) {
      throw new Error(`fingerprint: sample rate ${inputRate} Hz is below ${ANALYSIS_RATE} Hz`);
    }
    this.inputRate = inputRate;
    this.m = Math.max(1, Math.floor(inputRate / 8000));
    const midRate = inputRate / this.m;
    this.step = midRate / ANALYSIS_RATE;
    const half = Math.ceil(HALF_WIDTH_OUT * this.step);
    this.taps = 2 * half;
    const kernel = new Float32Array(PHASES * this.taps);
    const fc = CUTOFF_HZ / midRate; // cycles per intermediate sample
    for (let p = 0; p < PHASES; p++) {
      const frac = p / PHASES;
      let sum = 0;
      for (let j = 0; j < this.taps; j++) {
        // Tap j multiplies intermediate sample i0 − half + 1 + j; its distance from the output position.
        const x = j - half + 1 - frac;
        const sinc = x === 0 ? 2 * fc : Math.sin(2 * Math.PI * fc * x) / (Math.PI * x);
        const w = 0.5 + 0.5 * Math.cos((Math.PI * x) / (half + 1)); // Hann window
        const v = sinc * w;
        kernel[p * this.taps + j] = v;
        sum += v;
      }
      for (let j = 0; j < this.taps; j++) kernel[p * this.taps + j]! /= sum;
    }
    this.kernel = Float64Array.from(kernel);
    this.ring = new Float32Array(this.m);
  }

  /** Adds one chunk of planar channels (all the same length). */
  push(channels: readonly Float32Array[]): void {
    const n = channels[0]?.length ?? 0;
    if (n === 0) return;
    const nc = channels.length;
    const m = this.m;
    const scale = 1 / (nc * m * m);
    this.reserveMid(Math.ceil(n / m) + 1);
    const ring = this.ring;
    const mid = this.mid;
    let { ringPos, boxSum, blockSum, midLen } = this;
    const c0 = channels[0] as Float32Array;
    const c1 = (channels[1] ?? c0) as Float32Array;
    // One block of M samples at a time; mono and stereo get loops of their own, with no test per sample.
    let i = 0;
    while (i < n) {
      const end = Math.min(n, i + m - ringPos);
      if (nc === 2) {
        for (; i < end; i++, ringPos++) {
          const s = (c0[i] as number) + (c1[i] as number);
          boxSum += s - (ring[ringPos] as number);
          ring[ringPos] = s;
          blockSum += boxSum;
        }
      } else if (nc === 1) {
        for (; i < end; i++, ringPos++) {
          const s = c0[i] as number;
          boxSum += s - (ring[ringPos] as number);
          ring[ringPos] = s;
          blockSum += boxSum;
        }
      } else {
        for (; i < end; i++, ringPos++) {
          let s = c0[i] as number;
          for (let c = 1; c < nc; c++) s += (channels[c] as Float32Array)[i] as number;
          boxSum += s - (ring[ringPos] as number);
          ring[ringPos] = s;
          blockSum += boxSum;
        }
      }
      if (ringPos === m) {
        mid[midLen++] = Math.fround(blockSum * scale);
        blockSum = 0;
        ringPos = 0;
      }
    }
    this.ringPos = ringPos;
    this.boxSum = boxSum;
    this.blockSum = blockSum;
    this.midLen = midLen;
    this.interpolate(false);
  }

  /** Flushes the tail (zero-padded) and returns the output produced since the last {@link drain}. */
  finish(): Float32Array {
    this.reserveMid(this.taps);
    this.mid.fill(0, this.midLen, this.midLen + this.taps);
    this.midLen += this.taps;
    this.interpolate(true);
    return this.out.subarray(0, this.outLen);
  }

  /**
   * Takes the output produced so far, leaving the downsampler empty of output (its filter state is kept).
   * Lets a streaming caller consume the 4 kHz signal without holding all of it. The result is a view of an
   * internal buffer, valid until the next `push` or `finish`: copy what you keep.
   */
  drain(): Float32Array {
    const result = this.out.subarray(0, this.outLen);
    this.outLen = 0;
    return result;
  }

  private interpolate(final: boolean): void {
    const { step, taps, kernel, mid, midBase } = this;
    const half = taps / 2;
    const available = midBase + this.midLen; // intermediate samples seen
    const totalOut = final ? Math.floor((available - taps) / step) + 1 : Number.POSITIVE_INFINITY;
    // Outputs whose whole kernel window is available.
    const ready = Math.min(totalOut, Math.floor((available - taps + half - 1) / step) + 1);
    if (ready > this.nextOut) this.reserveOut(ready - this.nextOut);
    const out = this.out;
    let outLen = this.outLen;
    let next = this.nextOut;
    for (; next < ready; next++) {
      const pos = next * step;
      const i0 = Math.floor(pos);
      let phase = Math.round((pos - i0) * PHASES);
      let start = i0 - half + 1 - midBase;
      if (phase === PHASES) {
        phase = 0;
        start += 1;
      }
      if (start < 0) start = 0; // the very beginning: treat samples before 0 as the first ones
      if (start + taps > this.midLen) break;
      const k = phase * taps - start;
      // taps is even; two taps a step, still summed in order.
      let acc = 0;
      for (let j = start, last = start + taps; j < last; j += 2) {
        acc += (mid[j] as number) * (kernel[k + j] as number);
        acc += (mid[j + 1] as number) * (kernel[k + j + 1] as number);
      }
      out[outLen++] = acc;
    }
    this.outLen = outLen;
    this.nextOut = next;
    // Keep only what the next output still needs.
    const needFrom = Math.floor(next * step) - half + 1 - midBase;
    if (needFrom > 0 && needFrom <= this.midLen) {
      this.mid.copyWithin(0, needFrom, this.midLen);
      this.midLen -= needFrom;
      this.midBase += needFrom;
    }
  }

  private reserveOut(extra: number): void {
    if (this.outLen + extra <= this.out.length) return;
    const bigger = new Float32Array(Math.max(this.out.length * 2, this.outLen + extra));
    bigger.set(this.out.subarray(0, this.outLen));
    this.out = bigger;
  }

  private reserveMid(extra: number): void {
    if (this.midLen + extra <= this.mid.length) return;
    const bigger = new Float64Array(Math.max(this.mid.length * 2, this.midLen + extra));
    bigger.set(this.mid.subarray(0, this.midLen));
    this.mid = bigger;
  }
}
