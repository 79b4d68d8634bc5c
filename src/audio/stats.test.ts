import { describe, expect, it } from "vitest";
import { type AudioStats, createStatsAccumulator, kWeightingCoefficients, STATS_VERSION } from "./stats.js";

// Reference signals are generated here; expected values come from the standards (EBU Tech 3341/3342,
// BS.1770-4) or from closed-form analysis, never from this implementation's own output.

/** Sine of `dbfs` peak level (0 dBFS = amplitude 1). */
function tone(fs: number, seconds: number, dbfs: number, freq = 1000, phase = 0): Float32Array {
  const n = Math.round(fs * seconds);
  const amp = 10 ** (dbfs / 20);
  const w = (2 * Math.PI * freq) / fs;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = amp * Math.sin(w * i + phase);
  return out;
}

function silence(fs: number, seconds: number): Float32Array {
  return new Float32Array(Math.round(fs * seconds));
}

/** Deterministic uniform white noise in −amp..amp (xorshift32). */
function noise(n: number, amp: number, seed: number): Float32Array {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = (s / 2 ** 32) * 2 * amp - amp;
  }
  return out;
}

function concat(...parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Sequence of 1 kHz tone segments: [seconds, dBFS] pairs. */
function toneSequence(fs: number, segments: [number, number][]): Float32Array {
  return concat(...segments.map(([s, db]) => tone(fs, s, db)));
}

function analyse(fs: number, channels: Float32Array[], chunk = 4096): AudioStats {
  const acc = createStatsAccumulator(fs, channels.length);
  const n = channels[0]!.length;
  for (let p = 0; p < n; p += chunk) acc.push(channels.map((c) => c.subarray(p, p + chunk)));
  return acc.finish();
}

const stereo = (x: Float32Array): Float32Array[] => [x, x];

describe("K-weighting", () => {
  it("reproduces the BS.1770-4 48 kHz coefficients (Tables 1 and 2)", () => {
    const { shelf, highPass } = kWeightingCoefficients(48_000);
    const published = [
      [shelf.b0, 1.53512485958697],
      [shelf.b1, -2.69169618940638],
      [shelf.b2, 1.19839281085285],
      [shelf.a1, -1.69065929318241],
      [shelf.a2, 0.73248077421585],
      [highPass.b0, 1],
      [highPass.b1, -2],
      [highPass.b2, 1],
      [highPass.a1, -1.99004745483398],
      [highPass.a2, 0.99007225036621],
    ] as const;
    for (const [ours, theirs] of published) expect(ours).toBeCloseTo(theirs, 12);
  });
});

describe("integrated loudness (EBU Tech 3341 minimum requirements)", () => {
  const cases: [string, [number, number][], number][] = [
    ["stereo 1 kHz at −23 dBFS, 20 s", [[20, -23]], -23],
    ["stereo 1 kHz at −33 dBFS, 20 s", [[20, -33]], -33],
    [
      "−36/−23/−36 dBFS, 10/60/10 s (relative gate)",
      [
        [10, -36],
        [60, -23],
        [10, -36],
      ],
      -23,
    ],
    [
      "−72/−36/−23/−36/−72 dBFS, 10/10/60/10/10 s (absolute gate)",
      [
        [10, -72],
        [10, -36],
        [60, -23],
        [10, -36],
        [10, -72],
      ],
      -23,
    ],
    [
      "−26/−20/−26 dBFS, 20/20.1/20 s",
      [
        [20, -26],
        [20.1, -20],
        [20, -26],
      ],
      -23,
    ],
  ];
  for (const fs of [48_000, 44_100]) {
    for (const [name, segments, expected] of cases) {
      it(`${name} at ${fs} Hz → ${expected} ± 0.1 LUFS`, () => {
        const stats = analyse(fs, stereo(toneSequence(fs, segments)));
        expect(stats.integratedLoudnessLufs).not.toBeNull();
        expect(Math.abs(stats.integratedLoudnessLufs! - expected)).toBeLessThanOrEqual(0.1);
      });
    }
  }

  for (const fs of [32_000, 22_050, 16_000, 11_025, 8_000]) {
    it(`stereo 1 kHz at −23 dBFS at ${fs} Hz → −23 ± 0.1 LUFS`, () => {
      const stats = analyse(fs, stereo(tone(fs, 20, -23)));
      expect(Math.abs(stats.integratedLoudnessLufs! - -23)).toBeLessThanOrEqual(0.1);
    });
  }

  it("gating sequence −72/−36/−23/−36/−72 dBFS at 16 kHz → −23 ± 0.1 LUFS", () => {
    const fs = 16_000;
    const x = toneSequence(fs, [
      [10, -72],
      [10, -36],
      [60, -23],
      [10, -36],
      [10, -72],
    ]);
    expect(Math.abs(analyse(fs, stereo(x)).integratedLoudnessLufs! - -23)).toBeLessThanOrEqual(0.1);
  });

  it("is null when every block is below the absolute gate", () => {
    const stats = analyse(48_000, stereo(tone(48_000, 5, -75)));
    expect(stats.integratedLoudnessLufs).toBeNull();
    expect(stats.loudnessRangeLu).toBeNull();
    expect(stats.samplePeakDbfs).toBeCloseTo(-75, 2);
  });

  it("is null for audio shorter than one 400 ms block", () => {
    const stats = analyse(48_000, stereo(tone(48_000, 0.3, -20)));
    expect(stats.integratedLoudnessLufs).toBeNull();
  });
});

describe("loudness range (EBU Tech 3342)", () => {
  const cases: [[number, number][], number][] = [
    [
      [
        [20, -20],
        [20, -30],
      ],
      10,
    ],
    [
      [
        [20, -20],
        [20, -15],
      ],
      5,
    ],
    [
      [
        [20, -40],
        [20, -20],
      ],
      20,
    ],
    [
      [
        [20, -50],
        [20, -35],
        [20, -20],
        [20, -35],
        [20, -50],
      ],
      15,
    ],
  ];
  for (const fs of [48_000, 44_100]) {
    for (const [segments, expected] of cases) {
      const name = segments.map(([, db]) => db).join("/");
      it(`stereo 1 kHz ${name} dBFS (20 s each) at ${fs} Hz → LRA ${expected} ± 1 LU`, () => {
        const stats = analyse(fs, stereo(toneSequence(fs, segments)));
        expect(stats.loudnessRangeLu).not.toBeNull();
        expect(Math.abs(stats.loudnessRangeLu! - expected)).toBeLessThanOrEqual(1);
      });
    }
  }

  it("is 0 for a steady tone and null below 3 s", () => {
    expect(analyse(48_000, stereo(tone(48_000, 10, -20))).loudnessRangeLu).toBeCloseTo(0, 6);
    expect(analyse(48_000, stereo(tone(48_000, 2.5, -20))).loudnessRangeLu).toBeNull();
  });
});

describe("sample and true peak", () => {
  for (const fs of [44_100, 48_000, 96_000]) {
    it(`0 dBFS sine at fs/4 with 45° phase at ${fs} Hz: sample peak −3.01 dBFS, true peak 0 ± 0.2 dBTP`, () => {
      const x = tone(fs, 1, 0, fs / 4, Math.PI / 4);
      const stats = analyse(fs, stereo(x));
      expect(stats.samplePeakDbfs).toBeCloseTo(20 * Math.log10(Math.SQRT1_2), 2);
      expect(Math.abs(stats.truePeakDbtp!)).toBeLessThanOrEqual(0.2);
    });
  }

  it("true peak ≈ sample peak for a low-frequency sine", () => {
    const stats = analyse(48_000, stereo(tone(48_000, 2, -6, 100)));
    expect(stats.samplePeakDbfs).toBeCloseTo(-6, 2);
    expect(Math.abs(stats.truePeakDbtp! - stats.samplePeakDbfs!)).toBeLessThanOrEqual(0.05);
  });

  it("true peak ≥ sample peak, and equal at 192 kHz where no oversampling is needed", () => {
    const x = tone(192_000, 1, -1, 48_000, Math.PI / 4);
    const stats = analyse(192_000, stereo(x));
    expect(stats.truePeakDbtp).toBe(stats.samplePeakDbfs);
    const y = analyse(44_100, stereo(noise(44_100, 0.5, 7)));
    expect(y.truePeakDbtp!).toBeGreaterThanOrEqual(y.samplePeakDbfs!);
  });

  it("reports peaks above full scale for float sources", () => {
    const stats = analyse(48_000, [tone(48_000, 1, 6, 100)]);
    expect(stats.samplePeakDbfs).toBeCloseTo(6, 2);
  });
});

describe("silence", () => {
  it("digital silence → loudness and peaks null, silence ratio 1", () => {
    const stats = analyse(48_000, stereo(silence(48_000, 5)));
    expect(stats).toMatchObject({
      durationS: 5,
      integratedLoudnessLufs: null,
      loudnessRangeLu: null,
      samplePeakDbfs: null,
      truePeakDbtp: null,
      silenceRatio: 1,
      leadingSilenceS: 5,
      trailingSilenceS: 5,
      clippingRatio: 0,
      spectralFlatness: null,
    });
  });

  for (const fs of [48_000, 44_100, 11_025]) {
    it(`2 s silence + 6 s tone + 2 s silence at ${fs} Hz → ratio 0.4, leading 2 s, trailing 2 s`, () => {
      const x = concat(silence(fs, 2), tone(fs, 6, -20), silence(fs, 2));
      const stats = analyse(fs, stereo(x));
      expect(stats.durationS).toBeCloseTo(10, 3);
      expect(Math.abs(stats.silenceRatio - 0.4)).toBeLessThanOrEqual(0.01);
      expect(Math.abs(stats.leadingSilenceS - 2)).toBeLessThanOrEqual(0.1);
      expect(Math.abs(stats.trailingSilenceS - 2)).toBeLessThanOrEqual(0.1);
    });
  }

  it("uses the loudest channel and the −60 dBFS RMS threshold", () => {
    const fs = 48_000;
    // −57.03 dBFS peak sine: RMS −60.04 dBFS, just below the threshold; −56 dBFS peak: RMS −59.01 dBFS.
    expect(analyse(fs, [tone(fs, 1, -57.03), silence(fs, 1)]).silenceRatio).toBe(1);
    expect(analyse(fs, [silence(fs, 1), tone(fs, 1, -56)]).silenceRatio).toBe(0);
  });

  it("counts a trailing partial block only when it is at least 50 ms", () => {
    const fs = 48_000;
    const with60 = analyse(fs, [concat(tone(fs, 1, -20), silence(fs, 0.06))]);
    expect(with60.silenceRatio).toBeCloseTo(1 / 11, 9);
    expect(with60.trailingSilenceS).toBeCloseTo(0.06, 9);
    const with40 = analyse(fs, [concat(tone(fs, 1, -20), silence(fs, 0.04))]);
    expect(with40.silenceRatio).toBe(0);
    expect(with40.trailingSilenceS).toBeCloseTo(0.04, 9);
  });
});

describe("clipping ratio", () => {
  it("matches the analytic fraction for a sine driven to 2× and hard-clipped", () => {
    const fs = 48_000;
    const x = tone(fs, 2, 20 * Math.log10(2), 100).map((v) => Math.max(-1, Math.min(1, v)));
    // |2·sin θ| ≥ 0.999 for a fraction 1 − (2/π)·asin(0.4995) of the period; each such stretch is ~160
    // samples long, far above the 3-sample run requirement.
    const expected = 1 - (2 / Math.PI) * Math.asin(0.999 / 2);
    const stats = analyse(fs, stereo(x));
    expect(Math.abs(stats.clippingRatio - expected)).toBeLessThanOrEqual(0.005);
  });

  it("is 0 for a clean full-scale sine", () => {
    // At 997 Hz / 48 kHz successive samples are 7.5° apart, so at most one sample falls within ±2.6° of the
    // crest, where sin ≥ 0.999.
    expect(analyse(48_000, stereo(tone(48_000, 2, 0, 997))).clippingRatio).toBe(0);
  });

  it("counts only runs of at least 3 samples, across chunk boundaries", () => {
    const x = new Float32Array(1000);
    x.set([1, 1], 10); // run of 2: not clipping
    x.set([-1, -0.9995, -1], 100); // run of 3 (0.9995 ≥ 0.999): clipping
    x.set([1, 1, 1, 1, 1], 500); // run of 5
    for (const chunk of [1000, 1, 2, 101, 502]) {
      expect(analyse(8_000, [x], chunk).clippingRatio).toBe(8 / 1000);
    }
  });
});

describe("spectral flatness", () => {
  it("white noise ≫ sine; null for silence", () => {
    const fs = 44_100;
    const white = analyse(fs, [noise(fs * 5, 0.5, 1), noise(fs * 5, 0.5, 2)]).spectralFlatness!;
    const sine = analyse(fs, stereo(tone(fs, 5, -10, 440))).spectralFlatness!;
    expect(white).toBeGreaterThan(0.6);
    expect(sine).toBeLessThan(0.05);
    expect(white / sine).toBeGreaterThan(20);
    expect(analyse(fs, stereo(silence(fs, 5))).spectralFlatness).toBeNull();
  });

  it("skips silent frames instead of counting them", () => {
    const fs = 16_000;
    const x = concat(silence(fs, 20), noise(fs * 3, 0.5, 3));
    expect(analyse(fs, [x]).spectralFlatness).toBeGreaterThan(0.6);
  });
});

describe("channels", () => {
  it("excludes the LFE of 5.1 (L R C LFE Ls Rs)", () => {
    const fs = 48_000;
    const z = silence(fs, 10);
    const stats = analyse(fs, [z, z, z, tone(fs, 10, 0, 60), z, z]);
    expect(stats.integratedLoudnessLufs).toBeNull();
    expect(stats.samplePeakDbfs).toBeCloseTo(0, 3);
  });

  it("weights 5.1 surrounds by 1.41 (+1.49 dB) relative to the front channels", () => {
    const fs = 48_000;
    const z = silence(fs, 10);
    const x = tone(fs, 10, -20);
    const front = analyse(fs, [x, z, z, z, z, z]).integratedLoudnessLufs!;
    const surround = analyse(fs, [z, z, z, z, x, z]).integratedLoudnessLufs!;
    expect(surround - front).toBeCloseTo(10 * Math.log10(1.41), 3);
    // Mono: −20 dBFS sine → −23.01 LUFS (mean square −3.01 dB, K-weighting at 1 kHz ≈ +0.69 dB).
    expect(Math.abs(front - -23.01)).toBeLessThanOrEqual(0.1);
  });

  it("weights every channel 1.0 for other channel counts", () => {
    const fs = 48_000;
    const z = silence(fs, 10);
    const x = tone(fs, 10, -20);
    const a = analyse(fs, [x, z, z, z]).integratedLoudnessLufs!;
    const b = analyse(fs, [z, z, z, x]).integratedLoudnessLufs!;
    expect(a).toBeCloseTo(b, 9);
  });
});

describe("streaming", () => {
  /** 12 s mixing silence, tones, clipping and noise, so that every figure is exercised. */
  function mixedSignal(fs: number): Float32Array[] {
    const left = concat(
      silence(fs, 1.23),
      tone(fs, 3, -18, 440),
      tone(fs, 2, 6, 150).map((v) => Math.max(-1, Math.min(1, v))),
      noise(fs * 4, 0.3, 11),
      silence(fs, 1.77),
    );
    const right = new Float32Array(left.length);
    right.set(concat(silence(fs, 1), noise(fs * 5, 0.05, 5), tone(fs, 5.5, -30, 3000)));
    return [left, right];
  }

  function randomChunks(total: number, seed: number): number[] {
    let s = seed;
    const sizes: number[] = [0, 1, 0, 1, 1];
    let used = 3;
    while (used < total) {
      s = (s * 16807) % 2147483647;
      const r = s % 100;
      const size = r < 10 ? 0 : r < 25 ? 1 : r < 60 ? (s >> 7) % 100 : (s >> 7) % 20_000;
      sizes.push(size);
      used += size;
    }
    return sizes;
  }

  function expectSame(a: AudioStats, b: AudioStats): void {
    for (const key of Object.keys(a) as (keyof AudioStats)[]) {
      const x = a[key];
      const y = b[key];
      if (x === null || y === null) expect(y, key).toBe(x);
      else expect(Math.abs(x - y), key).toBeLessThanOrEqual(1e-9 * Math.max(1, Math.abs(x)));
    }
  }

  for (const fs of [44_100, 11_025]) {
    it(`gives the same figures for any chunking at ${fs} Hz`, () => {
      const channels = mixedSignal(fs);
      const whole = analyse(fs, channels, channels[0]!.length);
      expect(whole.clippingRatio).toBeGreaterThan(0);
      expect(whole.silenceRatio).toBeGreaterThan(0);
      expect(whole.spectralFlatness).not.toBeNull();
      for (const seed of [1, 2]) {
        const acc = createStatsAccumulator(fs, 2);
        let p = 0;
        for (const size of randomChunks(channels[0]!.length, seed)) {
          acc.push(channels.map((c) => c.subarray(p, p + size)));
          p += size;
        }
        expectSame(acc.finish(), whole);
      }
    });
  }

  it("treats NaN and ±Infinity samples as 0", () => {
    const fs = 48_000;
    const clean = tone(fs, 5, -20);
    const dirty = clean.slice();
    const zeroed = clean.slice();
    for (const [i, v] of [
      [1000, Number.NaN],
      [50_000, Number.POSITIVE_INFINITY],
      [50_001, Number.NEGATIVE_INFINITY],
    ] as const) {
      dirty[i] = v;
      zeroed[i] = 0;
    }
    expectSame(analyse(fs, [dirty]), analyse(fs, [zeroed]));
  });

  it("rejects a wrong channel count, unequal lengths, and pushes after finish", () => {
    const acc = createStatsAccumulator(48_000, 2);
    expect(() => acc.push([new Float32Array(10)])).toThrow(/expected 2 channel\(s\), got 1/);
    expect(() => acc.push([new Float32Array(10), new Float32Array(9)])).toThrow(/channel 1 has 9 samples/);
    acc.push([new Float32Array(10), new Float32Array(10)]);
    const stats = acc.finish();
    expect(acc.finish()).toBe(stats);
    expect(() => acc.push([new Float32Array(1), new Float32Array(1)])).toThrow(/after finish/);
  });

  it("rejects unsupported sample rates and channel counts", () => {
    expect(() => createStatsAccumulator(4_000, 1)).toThrow(/sampleRate/);
    expect(() => createStatsAccumulator(48_000, 0)).toThrow(/channelCount/);
  });

  it("handles empty input", () => {
    const stats = createStatsAccumulator(44_100, 1).finish();
    expect(stats).toMatchObject({ durationS: 0, integratedLoudnessLufs: null, samplePeakDbfs: null });
    expect(STATS_VERSION).toBe("stats-1");
  });
});
