/**
 * A simple psychoacoustic measure of how audible a watermark is: the noise-to-mask ratio (NMR) of
 * the difference signal (marked − original) against a masking threshold computed from the original.
 *
 * Model (after Johnston's 1988 perceptual-entropy coder, our own implementation): 2048-point Hann
 * frames, hop 1024, per channel; power in critical bands one Bark wide; the original's band energies
 * spread with Schroeder's spreading function; the threshold offset below the spread energy
 * interpolates between tone-masking-noise (14.5 + z dB) and noise-masking-tone (5.5 dB) by the
 * frame's spectral flatness; floored by the threshold in quiet (Terhardt), with a full-scale sine
 * taken as 96 dB SPL. Only frames whose original is above −70 dBFS count.
 *
 * Reported: mean NMR (dB, energy mean over frames and bands; < 0 dB means the mark sits below the
 * estimated threshold on average), the worst band's NMR averaged over frames, and the share of frames
 * where any band exceeds its threshold (NMR > 0 dB).
 */
import { rfft } from "../../src/audio/fft.js";
import type { Pcm } from "./audio-io.js";

const N = 2048;
const HOP = 1024;

const bark = (hz: number) => 13 * Math.atan(0.00076 * hz) + 3.5 * Math.atan((hz / 7500) ** 2);

function athDbSpl(hz: number): number {
  const f = Math.max(hz, 20) / 1000;
  return 3.64 * f ** -0.8 - 6.5 * Math.exp(-0.6 * (f - 3.3) ** 2) + 1e-3 * f ** 4;
}

export interface NmrResult {
  meanNmrDb: number;
  worstBandNmrDb: number;
  framesAboveThresholdPct: number;
}

export function noiseToMask(original: Pcm, marked: Pcm): NmrResult {
  const rate = original.sampleRate;
  const bins = N / 2 + 1;
  const bandOf = new Int32Array(bins);
  let bands = 0;
  for (let k = 0; k < bins; k++) {
    bandOf[k] = Math.floor(bark((k * rate) / N));
    bands = Math.max(bands, (bandOf[k] as number) + 1);
  }
  const spread = new Float64Array(bands * bands);
  for (let i = 0; i < bands; i++) {
    for (let j = 0; j < bands; j++) {
      const dz = i - j + 0.474;
      spread[i * bands + j] = 10 ** ((15.81 + 7.5 * dz - 17.5 * Math.sqrt(1 + dz * dz)) / 10);
    }
  }
  // Full-scale sine: amplitude 1 → peak bin power ≈ (N/4)² with a Hann window; call that 96 dB SPL.
  const fullScale = (N / 4) ** 2;
  const athBand = new Float64Array(bands).fill(Number.POSITIVE_INFINITY);
  for (let k = 1; k < bins; k++) {
    const p = fullScale * 10 ** ((athDbSpl((k * rate) / N) - 96) / 10);
    const b = bandOf[k] as number;
    athBand[b] = Math.min(athBand[b] as number, p);
  }
  const win = Float64Array.from({ length: N }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / N));
  const fx = new Float64Array(N);
  const fd = new Float64Array(N);
  const re = new Float64Array(bins);
  const im = new Float64Array(bins);
  const px = new Float64Array(bins);
  const ex = new Float64Array(bands);
  const ed = new Float64Array(bands);
  const binsIn = new Float64Array(bands);
  for (let k = 0; k < bins; k++) binsIn[bandOf[k] as number] = (binsIn[bandOf[k] as number] as number) + 1;
  let sumNmr = 0;
  let sumWorst = 0;
  let above = 0;
  let frames = 0;
  const silence = fullScale * 10 ** (-70 / 10);
  original.channels.forEach((x, c) => {
    const y = marked.channels[c] as Float32Array;
    for (let start = 0; start + N <= x.length; start += HOP) {
      for (let i = 0; i < N; i++) {
        const w = win[i] as number;
        fx[i] = (x[start + i] as number) * w;
        fd[i] = ((y[start + i] as number) - (x[start + i] as number)) * w;
      }
      rfft(fx, re, im);
      ex.fill(0);
      let logSum = 0;
      let linSum = 0;
      let total = 0;
      for (let k = 1; k < bins; k++) {
        const p = (re[k] as number) ** 2 + (im[k] as number) ** 2;
        px[k] = p;
        ex[bandOf[k] as number] = (ex[bandOf[k] as number] as number) + p;
        logSum += Math.log(p + 1e-20);
        linSum += p;
        total += p;
      }
      if (total / (bins - 1) < silence / N) continue;
      rfft(fd, re, im);
      ed.fill(0);
      for (let k = 1; k < bins; k++) {
        ed[bandOf[k] as number] =
          (ed[bandOf[k] as number] as number) + (re[k] as number) ** 2 + (im[k] as number) ** 2;
      }
      const sfmDb = 10 * Math.log10(Math.exp(logSum / (bins - 1)) / (linSum / (bins - 1)) + 1e-30);
      const tonality = Math.min(1, sfmDb / -60);
      let nmr = 0;
      let worst = 0;
      for (let z = 0; z < bands; z++) {
        let s = 0;
        for (let j = 0; j < bands; j++) s += (ex[j] as number) * (spread[z * bands + j] as number);
        const offsetDb = tonality * (14.5 + z) + (1 - tonality) * 5.5;
        const threshold = Math.max(
          s * 10 ** (-offsetDb / 10),
          (athBand[z] as number) * (binsIn[z] as number),
        );
        const r = (ed[z] as number) / threshold;
        nmr += r;
        worst = Math.max(worst, r);
      }
      sumNmr += nmr / bands;
      sumWorst += worst;
      if (worst > 1) above++;
      frames++;
    }
  });
  if (frames === 0) return { meanNmrDb: Number.NaN, worstBandNmrDb: Number.NaN, framesAboveThresholdPct: 0 };
  return {
    meanNmrDb: 10 * Math.log10(sumNmr / frames),
    worstBandNmrDb: 10 * Math.log10(sumWorst / frames),
    framesAboveThresholdPct: (100 * above) / frames,
  };
}
