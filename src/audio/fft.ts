/**
 * Real FFT for Earmark's own spectra (the watermark's STFT, the classifier's frames and cepstra): a radix-2
 * complex FFT of N/2 points on the even/odd-packed signal, split into the N/2 + 1 bins of the real
 * transform — half the work of a complex N-point FFT. Plans are cached per size. (Fingerprints use Meyda's
 * spectra, as the product brief asks.)
 */

interface Plan {
  n: number;
  m: number;
  rev: Uint32Array;
  /** Twiddles for the M-point complex FFT: cos and −sin of 2πk/M, k < M/2. */
  cosM: Float64Array;
  sinM: Float64Array;
  /** The same twiddles laid out stage by stage (stage of half-size h at offset h − 1), sin also negated for the inverse. */
  stageCos: Float64Array;
  stageSinF: Float64Array;
  stageSinI: Float64Array;
  /** Twiddles for the real split: cos and sin of 2πk/N, k ≤ M. */
  cosN: Float64Array;
  sinN: Float64Array;
  zr: Float64Array;
  zi: Float64Array;
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
  const cosM = new Float64Array(m / 2);
  const sinM = new Float64Array(m / 2);
  for (let k = 0; k < m / 2; k++) {
    cosM[k] = Math.cos((2 * Math.PI * k) / m);
    sinM[k] = -Math.sin((2 * Math.PI * k) / m);
  }
  const cosN = new Float64Array(m + 1);
  const sinN = new Float64Array(m + 1);
  for (let k = 0; k <= m; k++) {
    cosN[k] = Math.cos((2 * Math.PI * k) / n);
    sinN[k] = Math.sin((2 * Math.PI * k) / n);
  }
  const stageCos = new Float64Array(Math.max(1, m - 1));
  const stageSinF = new Float64Array(Math.max(1, m - 1));
  const stageSinI = new Float64Array(Math.max(1, m - 1));
  for (let half = 1; half < m; half <<= 1) {
    const step = m / (2 * half);
    for (let k = 0; k < half; k++) {
      stageCos[half - 1 + k] = cosM[k * step] as number;
      stageSinF[half - 1 + k] = sinM[k * step] as number;
      stageSinI[half - 1 + k] = -(sinM[k * step] as number);
    }
  }
  const p: Plan = {
    n,
    m,
    rev,
    cosM,
    sinM,
    stageCos,
    stageSinF,
    stageSinI,
    cosN,
    sinN,
    zr: new Float64Array(m),
    zi: new Float64Array(m),
  };
  plans.set(n, p);
  return p;
}

/**
 * In-place complex FFT of size p.m on p.zr/p.zi (forward when sign = 1, unscaled inverse when −1). Within a
 * stage the butterflies are independent, so they run twiddle by twiddle (each loaded once); the arithmetic
 * of every butterfly is the same as in the textbook loop order, so results are bit-identical to it.
 */
function complexFft(p: Plan, sign: 1 | -1): void {
  const { m, rev, stageCos, zr, zi } = p;
  const stageSin = sign === 1 ? p.stageSinF : p.stageSinI;
  for (let i = 0; i < m; i++) {
    const j = rev[i] as number;
    if (j > i) {
      const tr = zr[i] as number;
      zr[i] = zr[j] as number;
      zr[j] = tr;
      const ti = zi[i] as number;
      zi[i] = zi[j] as number;
      zi[j] = ti;
    }
  }
  for (let size = 2; size <= m; size <<= 1) {
    const half = size >> 1;
    for (let k = 0; k < half; k++) {
      const wr = stageCos[half - 1 + k] as number;
      const wi = stageSin[half - 1 + k] as number;
      for (let a = k; a < m; a += size) {
        const b = a + half;
        const br = zr[b] as number;
        const bi = zi[b] as number;
        const xr = br * wr - bi * wi;
        const xi = br * wi + bi * wr;
        const ar = zr[a] as number;
        const ai = zi[a] as number;
        zr[a] = ar + xr;
        zi[a] = ai + xi;
        zr[b] = ar - xr;
        zi[b] = ai - xi;
      }
    }
  }
}

/**
 * Forward real FFT of `x` (length n, a power of two) into `re`/`im` (length n/2 + 1).
 * @example rfft(frame, re, im) // re[k] + i·im[k] = Σ x[t]·e^(−2πikt/n)
 */
export function rfft(x: ArrayLike<number>, re: Float64Array, im: Float64Array): void {
  const p = plan(x.length);
  const { m, zr, zi, cosN, sinN } = p;
  for (let i = 0; i < m; i++) {
    zr[i] = x[2 * i] as number;
    zi[i] = x[2 * i + 1] as number;
  }
  complexFft(p, 1);
  for (let k = 0; k <= m; k++) {
    const k1 = k === m ? 0 : k;
    const k2 = k === 0 ? 0 : m - k;
    const ar = zr[k1] as number;
    const ai = zi[k1] as number;
    const br = zr[k2] as number;
    const bi = -(zi[k2] as number);
    // Fe = (Z[k] + conj Z[M−k]) / 2, Fo = (Z[k] − conj Z[M−k]) / 2i, X = Fe + e^(−2πik/N)·Fo
    const er = (ar + br) / 2;
    const ei = (ai + bi) / 2;
    const or = (ai - bi) / 2;
    const oi = -(ar - br) / 2;
    const c = cosN[k] as number;
    const s = -(sinN[k] as number);
    re[k] = er + or * c - oi * s;
    im[k] = ei + or * s + oi * c;
  }
}

/** Inverse of `rfft`: `re`/`im` (length n/2 + 1) to `out` (length n), scaled by 1/n. */
export function irfft(re: Float64Array, im: Float64Array, out: Float64Array | Float32Array): void {
  const p = plan(out.length);
  const { m, zr, zi, cosN, sinN } = p;
  for (let k = 0; k < m; k++) {
    const ar = re[k] as number;
    const ai = im[k] as number;
    const br = re[m - k] as number;
    const bi = -(im[m - k] as number);
    const er = (ar + br) / 2;
    const ei = (ai + bi) / 2;
    const dr = (ar - br) / 2;
    const di = (ai - bi) / 2;
    const c = cosN[k] as number;
    const s = sinN[k] as number;
    // Fo = (X[k] − conj X[M−k]) · e^(+2πik/N) / 2; Z = Fe + i·Fo
    const or = dr * c - di * s;
    const oi = dr * s + di * c;
    zr[k] = er - oi;
    zi[k] = ei + or;
  }
  complexFft(p, -1);
  const scale = 1 / m;
  for (let i = 0; i < m; i++) {
    out[2 * i] = (zr[i] as number) * scale;
    out[2 * i + 1] = (zi[i] as number) * scale;
  }
}
