/**
 * Real FFT for Earmark's own spectra (the watermark's STFT, the classifier's frames and cepstra): a complex
 * FFT of N/2 points on the even/odd-packed signal, split into the N/2 + 1 bins of the real transform — half
 * the work of a complex N-point FFT. Plans are cached per size. (Fingerprints use Meyda's spectra, as the
 * product brief asks.)
 *
 * The complex FFT is radix-4 decimation in time (after one radix-2 stage when log2(N/2) is odd): half the
 * passes over the data of radix-2 and a quarter fewer twiddle multiplications, which made the watermark
 * embedder's transform pair about twice as fast. The input's bit-reversed order is written while packing
 * (rfft) or splitting (irfft) instead of in a separate swap pass, and the inverse is the same forward
 * transform read backwards, so there is one butterfly loop to keep fast.
 */

interface Plan {
  /** Half the real size: the complex FFT's size. */
  m: number;
  /** Bit reversal of log2(m) bits: where packed value i goes before the stages. */
  rev: Uint32Array;
  /** Whether log2(m) is odd, so a radix-2 stage runs before the radix-4 ones. */
  radix2First: boolean;
  /**
   * Radix-4 stage twiddles, stage after stage (quarter size h = 1 or 2, then ×4; 6h values each): for
   * k < h, v = e^(−2πik/4h) as cos, −sin of v, v², v³.
   */
  twiddles: Float64Array;
  /** For the real split: W = e^(−2πik/N) for k ≤ m/2, real and imaginary parts. */
  wr: Float64Array;
  wi: Float64Array;
  zr: Float64Array;
  zi: Float64Array;
  /** n ones: the window when the caller gives none. */
  ones: Float64Array;
}

const plans = new Map<number, Plan>();

function plan(n: number): Plan {
  const cached = plans.get(n);
  if (cached) return cached;
  if (n < 4 || (n & (n - 1)) !== 0) throw new Error(`FFT size must be a power of two ≥ 4, got ${n}`);
  const m = n / 2;
  const bits = Math.log2(m);
  const rev = new Uint32Array(m);
  for (let i = 0; i < m; i++) {
    let r = 0;
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
    rev[i] = r;
  }
  const radix2First = bits % 2 === 1;
  const quarters: number[] = [];
  for (let h = radix2First ? 2 : 1; h < m; h *= 4) quarters.push(h);
  const twiddles = new Float64Array(6 * quarters.reduce((sum, h) => sum + h, 0));
  let at = 0;
  for (const h of quarters) {
    for (let k = 0; k < h; k++) {
      for (let power = 1; power <= 3; power++) {
        const angle = (2 * Math.PI * power * k) / (4 * h);
        twiddles[at++] = Math.cos(angle);
        twiddles[at++] = -Math.sin(angle);
      }
    }
  }
  const wr = new Float64Array(m / 2 + 1);
  const wi = new Float64Array(m / 2 + 1);
  for (let k = 0; k <= m / 2; k++) {
    wr[k] = Math.cos((2 * Math.PI * k) / n);
    wi[k] = -Math.sin((2 * Math.PI * k) / n);
  }
  const p: Plan = {
    m,
    rev,
    radix2First,
    twiddles,
    wr,
    wi,
    zr: new Float64Array(m),
    zi: new Float64Array(m),
    ones: new Float64Array(n).fill(1),
  };
  plans.set(n, p);
  return p;
}

/** In-place forward complex FFT of size p.m on p.zr/p.zi, whose input is already in bit-reversed order. */
function complexFft(p: Plan): void {
  const { m, twiddles, zr, zi } = p;
  let h = 1;
  if (p.radix2First) {
    for (let a = 0; a < m; a += 2) {
      const ar = zr[a] as number;
      const ai = zi[a] as number;
      const br = zr[a + 1] as number;
      const bi = zi[a + 1] as number;
      zr[a] = ar + br;
      zi[a] = ai + bi;
      zr[a + 1] = ar - br;
      zi[a + 1] = ai - bi;
    }
    h = 2;
  }
  // Each radix-4 butterfly does two radix-2 stages at once: with v = e^(−2πik/4h) and x0…x3 at k, k + h,
  // k + 2h, k + 3h of a group of 4h, y0,2 = (x0 + v²x1) ± (v·x2 + v³x3), y1,3 = (x0 − v²x1) ∓ i(v·x2 − v³x3).
  for (let at = 0; h < m; at += 6 * h, h *= 4) {
    const size = 4 * h;
    for (let k = 0; k < h; k++) {
      const t = at + 6 * k;
      const c1 = twiddles[t] as number;
      const s1 = twiddles[t + 1] as number;
      const c2 = twiddles[t + 2] as number;
      const s2 = twiddles[t + 3] as number;
      const c3 = twiddles[t + 4] as number;
      const s3 = twiddles[t + 5] as number;
      for (let i0 = k; i0 < m; i0 += size) {
        const i1 = i0 + h;
        const i2 = i1 + h;
        const i3 = i2 + h;
        const x0r = zr[i0] as number;
        const x0i = zi[i0] as number;
        const x1r = zr[i1] as number;
        const x1i = zi[i1] as number;
        const x2r = zr[i2] as number;
        const x2i = zi[i2] as number;
        const x3r = zr[i3] as number;
        const x3i = zi[i3] as number;
        const t1r = x1r * c2 - x1i * s2;
        const t1i = x1r * s2 + x1i * c2;
        const t2r = x2r * c1 - x2i * s1;
        const t2i = x2r * s1 + x2i * c1;
        const t3r = x3r * c3 - x3i * s3;
        const t3i = x3r * s3 + x3i * c3;
        const ar = x0r + t1r;
        const ai = x0i + t1i;
        const br = x0r - t1r;
        const bi = x0i - t1i;
        const cr = t2r + t3r;
        const ci = t2i + t3i;
        const dr = t2r - t3r;
        const di = t2i - t3i;
        zr[i0] = ar + cr;
        zi[i0] = ai + ci;
        zr[i2] = ar - cr;
        zi[i2] = ai - ci;
        zr[i1] = br + di;
        zi[i1] = bi - dr;
        zr[i3] = br - di;
        zi[i3] = bi + dr;
      }
    }
  }
}

/**
 * The split between the packed half-size transform and the real one, the same formula in both directions,
 * for the pair k, m − k of `a` (written to positions `to` and `toMirror` of `out`): E = (a[k] + conj a[m−k]) / 2,
 * O = (a[k] − conj a[m−k]) / 2i and U = t·O give out[k] = E + U and out[m − k] = conj(E − U). Forward (a = Z,
 * t = e^(−2πik/N)) that yields the bins X[k], X[m − k]; inverse (a = X, t = −e^(2πik/N)) the packed Z.
 */
function splitPair(
  ar: Float64Array,
  ai: Float64Array,
  k: number,
  m: number,
  tr: number,
  ti: number,
  outR: Float64Array,
  outI: Float64Array,
  to: number,
  toMirror: number,
): void {
  const pr = ar[k] as number;
  const pi = ai[k] as number;
  const qr = ar[m - k] as number;
  const qi = ai[m - k] as number;
  const er = 0.5 * (pr + qr);
  const ei = 0.5 * (pi - qi);
  const or = 0.5 * (pi + qi);
  const oi = 0.5 * (qr - pr);
  const ur = or * tr - oi * ti;
  const ui = or * ti + oi * tr;
  outR[to] = er + ur;
  outI[to] = ei + ui;
  outR[toMirror] = er - ur;
  outI[toMirror] = ui - ei;
}

/**
 * Forward real FFT of `x` (length n, a power of two) times `window` (length n, if given) into `re`/`im`
 * (length n/2 + 1). The window is applied while packing, which saves the STFTs a pass over the frame.
 * @example rfft(frame, re, im, hann) // re[k] + i·im[k] = Σ frame[t]·hann[t]·e^(−2πikt/n)
 */
export function rfft(x: ArrayLike<number>, re: Float64Array, im: Float64Array, window?: Float64Array): void {
  const p = plan(x.length);
  const { m, rev, zr, zi, wr, wi } = p;
  const w = window ?? p.ones;
  for (let i = 0; i < m; i++) {
    const j = rev[i] as number;
    zr[j] = (x[2 * i] as number) * (w[2 * i] as number);
    zi[j] = (x[2 * i + 1] as number) * (w[2 * i + 1] as number);
  }
  complexFft(p);
  re[0] = (zr[0] as number) + (zi[0] as number);
  im[0] = 0;
  re[m] = (zr[0] as number) - (zi[0] as number);
  im[m] = 0;
  for (let k = 1; k <= m / 2; k++)
    splitPair(zr, zi, k, m, wr[k] as number, wi[k] as number, re, im, k, m - k);
}

/**
 * Inverse of `rfft`: `re`/`im` (length n/2 + 1) to `out` (length n), scaled by 1/n and multiplied by
 * `window` (length n) if given — the synthesis window of an STFT, applied on the way out.
 */
export function irfft(
  re: Float64Array,
  im: Float64Array,
  out: Float64Array | Float32Array,
  window?: Float64Array,
): void {
  const p = plan(out.length);
  const { m, rev, zr, zi, wr, wi } = p;
  const w = window ?? p.ones;
  // Bin 0 pairs with bin m, which the packed transform does not have: Z[0] = E + U with t = −1.
  const er = 0.5 * ((re[0] as number) + (re[m] as number));
  const ei = 0.5 * ((im[0] as number) - (im[m] as number));
  zr[0] = er - 0.5 * ((im[0] as number) + (im[m] as number));
  zi[0] = ei - 0.5 * ((re[m] as number) - (re[0] as number));
  for (let k = 1; k <= m / 2; k++)
    splitPair(
      re,
      im,
      k,
      m,
      -(wr[k] as number),
      wi[k] as number,
      zr,
      zi,
      rev[k] as number,
      rev[m - k] as number,
    );
  // The inverse transform is the forward one read backwards: x[t] = DFT(Z)[(m − t) mod m] / m.
  complexFft(p);
  const scale = 1 / m;
  out[0] = (zr[0] as number) * scale * (w[0] as number);
  out[1] = (zi[0] as number) * scale * (w[1] as number);
  for (let i = 1; i < m; i++) {
    out[2 * i] = (zr[m - i] as number) * scale * (w[2 * i] as number);
    out[2 * i + 1] = (zi[m - i] as number) * scale * (w[2 * i + 1] as number);
  }
}
