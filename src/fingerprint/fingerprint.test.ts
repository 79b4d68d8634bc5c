import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { excerpt, makeMusic, makeRain, playFaster, rng, type Signal } from "../../test/harness/audio.js";
import { DRIVERS, openTestDatabase, type TestDatabase } from "../../test/harness/deps.js";
import type { Db } from "../db/client.js";
import { ANALYSIS_RATE, MonoDownsampler } from "./downsample.js";
import {
  anchorFrame,
  type Fingerprint,
  FingerprintExtractor,
  HOP,
  STABILITY_MARGIN_FRAMES,
  STABILITY_WINDOW_S,
} from "./extract.js";
import {
  MAX_PHASE1_KEYS,
  type MatchOf,
  MemoryIndex,
  matchPhases,
  NEAR_MISS_COVERAGE,
  PHASE1_ROW_BUDGET,
  rarestKeys,
  STABLE_PHASE,
} from "./index.js";
import { verdictOf } from "./match.js";
import { lookupFingerprint, rarestKeysInDatabase } from "./store.js";

function fingerprint(signal: Signal, chunk = 4096): Fingerprint {
  const x = new FingerprintExtractor(signal.sampleRate);
  const n = signal.channels[0]!.length;
  for (let i = 0; i < n; i += chunk) x.push(signal.channels.map((c) => c.subarray(i, i + chunk)));
  return x.finish();
}

function concat(x: Signal, y: Signal): Signal {
  return {
    sampleRate: x.sampleRate,
    channels: x.channels.map((c, i) => {
      const out = new Float32Array(c.length + y.channels[i]!.length);
      out.set(c);
      out.set(y.channels[i]!, c.length);
      return out;
    }),
  };
}

/** Scales by `gainDb` and adds white noise `snrDb` below the (scaled) signal's power. */
function degrade(signal: Signal, gainDb: number, snrDb: number, seed: number): Signal {
  const g = 10 ** (gainDb / 20);
  const random = rng(seed);
  return {
    sampleRate: signal.sampleRate,
    channels: signal.channels.map((c) => {
      let power = 0;
      for (const v of c) power += (v * g) ** 2;
      power /= c.length;
      const amp = Math.sqrt(power / 10 ** (snrDb / 10)) * Math.sqrt(3); // uniform noise of that power
      return c.map((v) => v * g + amp * (2 * random() - 1));
    }),
  };
}

function resampleTo(signal: Signal, rate: number): Signal {
  const s = playFaster(signal, signal.sampleRate / rate);
  return { sampleRate: rate, channels: s.channels };
}

describe("MonoDownsampler", () => {
  const tone = (hz: number, seconds: number, rate = 44100) => {
    const x = new Float32Array(Math.round(seconds * rate));
    for (let i = 0; i < x.length; i++) x[i] = 0.5 * Math.sin((2 * Math.PI * hz * i) / rate);
    return x;
  };
  const rms = (x: Float32Array) => Math.sqrt(x.reduce((s, v) => s + v * v, 0) / x.length);

  it("gives the same samples whatever the chunking", () => {
    const x = tone(700, 2);
    const whole = new MonoDownsampler(44100);
    whole.push([x, x]);
    const a = whole.finish();
    const pieces = new MonoDownsampler(44100);
    let out: number[] = [];
    for (let i = 0; i < x.length; i += 997) {
      pieces.push([x.subarray(i, i + 997), x.subarray(i, i + 997)]);
      out = out.concat([...pieces.drain()]);
    }
    out = out.concat([...pieces.finish()]);
    expect(out.length).toBe(a.length);
    expect(Math.max(...out.map((v, i) => Math.abs(v - a[i]!)))).toBeLessThan(1e-6);
    expect(a.length).toBeGreaterThanOrEqual(2 * ANALYSIS_RATE - 2);
    expect(a.length).toBeLessThanOrEqual(2 * ANALYSIS_RATE + 2);
  });

  it("keeps the band below 1.8 kHz and removes what would alias", () => {
    for (const rate of [44100, 48000, 22050, 16000, 96000]) {
      const pass = new MonoDownsampler(rate);
      pass.push([tone(1000, 1, rate)]);
      const kept = rms(pass.finish().subarray(400, 3600));
      expect(kept).toBeGreaterThan(0.5 / Math.SQRT2 / 1.2); // within ~1.6 dB
      const stop = new MonoDownsampler(rate);
      stop.push([tone(3000, 1, rate)]);
      expect(rms(stop.finish().subarray(400, 3600))).toBeLessThan(kept / 30); // > 29 dB down
    }
  });

  it("refuses rates below the analysis rate", () => {
    expect(() => new MonoDownsampler(3000)).toThrow(/below 4000 Hz/);
  });
});

describe("fingerprint matching", () => {
  const piece = makeMusic({ seconds: 60, seed: 101 });
  const other = makeMusic({ seconds: 60, seed: 202 });
  const unindexed = makeMusic({ seconds: 60, seed: 303 });
  const index = new MemoryIndex<string>();
  index.add("piece", fingerprint(piece));
  index.add("other", fingerprint(other));

  const best = (query: Signal) => {
    const matches = index.match(fingerprint(query));
    return { top: matches[0], matches };
  };

  it("finds a recording in itself and in a 15-second excerpt, at the right offset", () => {
    expect(best(piece).top).toMatchObject({ key: "piece", verdict: "same-recording", speedRatio: 1 });
    const { top } = best(excerpt(piece, 20, 15));
    expect(top).toMatchObject({ key: "piece", verdict: "same-recording", queryCoverage: 1 });
    expect(top!.referenceOffsetS - top!.queryOffsetS).toBeCloseTo(20, 0);
    expect(top!.referenceCoverage).toBeGreaterThan(0.15);
    expect(top!.referenceCoverage).toBeLessThan(0.35);
  });

  it.each([1.05, 1.02, 0.98, 0.95])("finds it played at speed ×%s and measures the speed", (factor) => {
    const { top } = best(playFaster(piece, factor));
    expect(top).toMatchObject({ key: "piece", verdict: "same-recording" });
    expect(top!.speedRatio).toBeCloseTo(factor, 2);
    expect(top!.queryCoverage).toBeGreaterThan(0.8);
  });

  it("finds it after −6 dB, white noise at 15 dB SNR and resampling to 22.05 kHz", () => {
    const { top } = best(resampleTo(degrade(piece, -6, 15, 7), 22050));
    expect(top).toMatchObject({ key: "piece", verdict: "same-recording" });
  });

  it("does not claim an unrelated recording", () => {
    const { matches } = best(unindexed);
    expect(matches.filter((m) => m.verdict === "same-recording")).toEqual([]);
  });

  it("calls a query that only partly consists of the recording shared material, with where it is", () => {
    // 20 s of the piece (from its 10th second), then 40 s of something else.
    const { top } = best(concat(excerpt(piece, 10, 20), excerpt(unindexed, 0, 40)));
    expect(top).toMatchObject({ key: "piece", verdict: "shared-material" });
    expect(top!.queryCoverage).toBeGreaterThan(0.25);
    expect(top!.queryCoverage).toBeLessThan(0.45);
    expect(top!.queryOffsetS).toBeLessThan(1);
    expect(top!.referenceOffsetS).toBeCloseTo(10, 0);
  });
});

describe("frame phase", () => {
  // Rain: white noise at a level changing every 0.1 s. 10 s is 312.5 analysis hops (128 samples at 4 kHz),
  // so a copy trimmed by 10 s has every frame half a hop from the original's.
  const rain = makeRain({ seconds: 48, seed: 61 });
  const index = new MemoryIndex<string>();
  index.add("rain", fingerprint(rain));
  index.add("music", fingerprint(makeMusic({ seconds: 48, seed: 62 })));

  it("finds noise-like audio trimmed by half a hop (10 s), at the right offset", () => {
    const [top] = index.match(fingerprint(excerpt(rain, 10, 38)));
    expect(top).toMatchObject({ key: "rain", verdict: "same-recording" });
    expect(top!.queryCoverage).toBeGreaterThan(0.9);
    expect(top!.referenceOffsetS - top!.queryOffsetS).toBeCloseTo(10, 1);
  });

  it("still finds it trimmed by a whole number of hops (10.016 s)", () => {
    const [top] = index.match(fingerprint(excerpt(rain, 10.016, 37)));
    expect(top).toMatchObject({ key: "rain", verdict: "same-recording" });
  });

  it("does not call other rain, or music, the same recording at either phase", () => {
    for (const query of [makeRain({ seconds: 48, seed: 63 }), makeMusic({ seconds: 30, seed: 64 })]) {
      const matches = index.match(fingerprint(query));
      expect(matches.filter((m) => m.verdict === "same-recording")).toEqual([]);
    }
  });
});

describe("matchPhases", () => {
  const alignment = (
    key: string,
    queryCoverage: number,
    density: number,
    runnerUp: number,
  ): MatchOf<string> => ({
    key,
    speedRatio: 1,
    offsetFrames: 0,
    inliers: 100,
    matchedSegments: 20,
    activeSegments: 20,
    queryCoverage,
    referenceCoverage: 1,
    density,
    queryOffsetS: 0,
    referenceOffsetS: 0,
    runnerUp,
    verdict: verdictOf({ queryCoverage, density, runnerUp }),
    score: queryCoverage * Math.min(1, density / 0.3),
  });
  const query = fingerprint(makeMusic({ seconds: 5, seed: 33 }));

  it("takes a dense second-phase match, but not one that only meets the broad rule", async () => {
    // The first phase finds only shared material; the second phase's alignments are what the lookup returns.
    const answers = (second: MatchOf<string>[]) => {
      const phases = [[alignment("a", 0.6, 0.06, 0.8), alignment("b", 0.5, 0.05, 0.3)], second];
      return matchPhases(
        query,
        async () => phases.shift() ?? [],
        (key) => key,
      );
    };
    const dense = await answers([alignment("a", 1, 0.7, 0.1)]);
    expect(dense[0]).toMatchObject({ key: "a", verdict: "same-recording", density: 0.7 });
    expect(dense.map((m) => m.key)).toEqual(["a", "b"]);
    // Coverage 0.76 at density 0.046: the broad rule's same recording at the first phase, shared material here.
    const broad = await answers([alignment("b", 0.76, 0.046, 0.4)]);
    expect(broad.every((m) => m.verdict === "shared-material")).toBe(true);
  });

  it("does not compute the second phase when the first finds the recording", async () => {
    let lookups = 0;
    const matches = await matchPhases(
      query,
      async () => {
        lookups++;
        return [alignment("a", 0.8, 0.05, 0.2)];
      },
      (key) => key,
    );
    expect(matches[0]).toMatchObject({ key: "a", verdict: "same-recording" });
    expect(lookups).toBe(1);
  });

  it("tries the second phase after a near miss or for phase-dependent audio, and not otherwise", async () => {
    // What the first phase answers, and the query's phase stability → whether the half-hop phase was computed.
    const secondTried = async (first: MatchOf<string>[], stability: number) => {
      const fp = fingerprint(makeMusic({ seconds: 5, seed: 33 }));
      const halfHop = fp.halfHopPhase!;
      let computed = false;
      fp.halfHopPhase = () => {
        computed = true;
        return halfHop();
      };
      fp.phaseStability = () => stability;
      let lookups = 0;
      await matchPhases(
        fp,
        async () => (lookups++ === 0 ? first : []),
        (key) => key,
      );
      expect(lookups).toBe(computed ? 2 : 1);
      return computed;
    };
    const stable = STABLE_PHASE + 0.1;
    expect(await secondTried([], stable)).toBe(false);
    expect(await secondTried([alignment("a", NEAR_MISS_COVERAGE - 0.01, 0.2, 0.1)], stable)).toBe(false);
    expect(await secondTried([alignment("a", NEAR_MISS_COVERAGE, 0.05, 0.9)], stable)).toBe(true);
    expect(await secondTried([], STABLE_PHASE - 0.01)).toBe(true);
  });
});

describe("phaseStability", () => {
  it("is low for noise, whose peaks move with the frames, and higher for tonal music", () => {
    const rain = fingerprint(makeRain({ seconds: 48, seed: 61 })).phaseStability!();
    const music = fingerprint(makeMusic({ seconds: 48, seed: 62 })).phaseStability!();
    expect(rain).toBeLessThan(STABLE_PHASE);
    expect(music).toBeGreaterThan(STABLE_PHASE);
  });

  it("equals the two phases' overlap in the middle of the query, where it is measured", () => {
    const fp = fingerprint(makeMusic({ seconds: 60, seed: 65 }));
    const half = fp.halfHopPhase!();
    // The middle STABILITY_WINDOW_S less STABILITY_MARGIN_FRAMES at each end, as phaseStability measures it.
    const windowFrames = (STABILITY_WINDOW_S * ANALYSIS_RATE) / HOP;
    const f0 = Math.floor((fp.frames - windowFrames) / 2);
    const inner = (p: { hashes: Uint32Array; times: Uint32Array }) => {
      const set = new Set<number>();
      p.hashes.forEach((h, i) => {
        const t = anchorFrame(p.times[i] as number);
        if (t >= f0 + STABILITY_MARGIN_FRAMES && t < f0 + windowFrames - STABILITY_MARGIN_FRAMES) set.add(h);
      });
      return set;
    };
    const own = inner(fp);
    const shifted = inner(half);
    const shared = [...own].filter((h) => shifted.has(h)).length;
    expect(own.size).toBeGreaterThan(100);
    expect(fp.phaseStability!()).toBeCloseTo(shared / own.size, 2);
  });

  it("asked whether it reaches a share, stops once it does and answers as the whole measurement would", () => {
    const music = () => fingerprint(makeMusic({ seconds: 48, seed: 62 }));
    const exact = music().phaseStability!();
    expect(exact).toBeGreaterThan(STABLE_PHASE);
    expect(music().phaseStability!(STABLE_PHASE)).toBeGreaterThanOrEqual(STABLE_PHASE);
    const fp = music();
    const early = fp.phaseStability!(exact / 2);
    // Stopped before the end of the window: what it had counted is a lower bound that already reaches `enough`.
    expect(early).toBeGreaterThanOrEqual(exact / 2);
    expect(early).toBeLessThan(exact);
    expect(fp.phaseStability!(exact / 2)).toBe(early);
    expect(fp.phaseStability!()).toBe(exact);
    // A share it does not reach is measured in full, as is noise, which stays below the rule's threshold.
    expect(music().phaseStability!(exact + 0.01)).toBe(exact);
    const rain = () => fingerprint(makeRain({ seconds: 48, seed: 61 }));
    expect(rain().phaseStability!(STABLE_PHASE)).toBe(rain().phaseStability!());
  });

  it("measured a piece at a time (stabilityStep), gives what it gives in one call", () => {
    const cases = [
      { make: () => fingerprint(makeMusic({ seconds: 48, seed: 62 })), enough: STABLE_PHASE },
      { make: () => fingerprint(makeMusic({ seconds: 48, seed: 62 })), enough: Number.POSITIVE_INFINITY },
      { make: () => fingerprint(makeRain({ seconds: 48, seed: 61 })), enough: STABLE_PHASE },
    ];
    for (const { make, enough } of cases) {
      const whole = make().phaseStability!(enough);
      // Stepped to the end.
      const stepped = make();
      let steps = 0;
      while (stepped.stabilityStep!(enough)) steps++;
      expect(steps).toBeGreaterThan(0);
      expect(stepped.phaseStability!(enough)).toBe(whole);
      // Two steps, then the rest in one call.
      const resumed = make();
      resumed.stabilityStep!(enough);
      resumed.stabilityStep!(enough);
      expect(resumed.phaseStability!(enough)).toBe(whole);
    }
    // Steps for another threshold do not leak into this one's answer.
    const fp = fingerprint(makeMusic({ seconds: 48, seed: 62 }));
    fp.stabilityStep!(STABLE_PHASE);
    expect(fp.phaseStability!()).toBe(fingerprint(makeMusic({ seconds: 48, seed: 62 })).phaseStability!());
  });

  it("is advanced by matchPhases while the first lookup waits", async () => {
    const fp = fingerprint(makeMusic({ seconds: 48, seed: 62 }));
    let steps = 0;
    await matchPhases(
      fp,
      async (_query, whileWaiting) => {
        while (whileWaiting?.()) steps++;
        return [];
      },
      (key: string) => key,
    );
    expect(steps).toBeGreaterThan(0);
  });
});

describe.each(DRIVERS)("rarestKeysInDatabase (%s)", (driver) => {
  let tdb: TestDatabase;
  beforeAll(async () => {
    tdb = await openTestDatabase(driver);
  });
  afterAll(async () => {
    await tdb?.close();
  });

  it("chooses the keys rarestKeys does, when the key limit and the row budget bind", async () => {
    const { db } = tdb.database;
    const random = rng(71);
    // 3,000 hash values with counts 0–400 (ties included), and queries of some of them and of absent ones.
    const counts = new Map<number, number>();
    for (let h = 1; h <= 3000; h++) counts.set(h * 7, Math.floor(random() * random() * 400));
    counts.set(99_999, PHASE1_ROW_BUDGET + 1); // a key whose list alone is over the budget
    const values = [...counts].map(([h, n]) => `(${h},${n})`).join(",");
    await db.execute(sql.raw(`insert into fingerprint_hash_counts (hash, uploads) values ${values}`));
    const asked = (from: number, n: number) => Array.from({ length: n }, (_, i) => (from + i) * 7);
    const cases = [
      [...asked(1, 3000).filter((h) => (counts.get(h) ?? 0) >= 100), ...asked(5001, 200)], // the row budget binds
      asked(1, 400).filter((h) => (counts.get(h) ?? 0) <= 5), // neither limit binds
      asked(1, 3000).filter((h) => (counts.get(h) ?? 0) <= 60), // the 600-key limit binds
      asked(5001, 50), // nothing known
      [99_999], // the rarest key is taken whatever its list's length…
      [99_999, 7, 14], // …but only as the first
    ];
    for (const keys of cases) {
      const expected = rarestKeys(keys, (k) => counts.get(k) ?? 0);
      expect(await rarestKeysInDatabase(db, keys)).toEqual(expected);
    }
    const budget = rarestKeys(cases[0]!, (k) => counts.get(k) ?? 0);
    const limited = rarestKeys(cases[2]!, (k) => counts.get(k) ?? 0);
    expect(budget.length).toBeLessThan(MAX_PHASE1_KEYS);
    expect(budget.reduce((sum, k) => sum + (counts.get(k) ?? 0), 0)).toBeGreaterThan(PHASE1_ROW_BUDGET * 0.9);
    expect(limited.length).toBe(MAX_PHASE1_KEYS);
    expect(rarestKeys([99_999], (k) => counts.get(k) ?? 0)).toEqual([99_999]);
  });
});

describe("lookupFingerprint", () => {
  it("fails the lookup, not the process, when the database fails while the probes are computed", async () => {
    // The counts statement fails a moment later, as a dropped connection would, while the lookup is busy
    // computing the query's probes: the error must come back from the lookup.
    const db = {
      execute: () =>
        new Promise((_, reject) => setImmediate(() => reject(new Error("connection terminated")))),
    } as unknown as Db;
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      await expect(lookupFingerprint(db, fingerprint(makeMusic({ seconds: 5, seed: 31 })))).rejects.toThrow(
        "connection terminated",
      );
      await new Promise((resolve) => setImmediate(resolve));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });
});
