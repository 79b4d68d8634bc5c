/**
 * The shipped model (detectors/ai-likeness) on three committed fixtures cut from the corpus's test split
 * (detectors/ai-likeness/fixtures/README.md): a human speaker and a synthetic engine the model never trained
 * on, and human music. Expected scores are in fixtures/expected.json; after retraining, regenerate them with
 * `UPDATE_CLASSIFIER_GOLDEN=1 npx vitest run src/classifier/model.test.ts` and say why in the commit.
 */
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { FEATURE_COUNT } from "./features.js";
import { loadModel, MODEL_DIR, scoreWindows } from "./model.js";
import { fileFeatures } from "./train.js";

const FIXTURES = path.join(MODEL_DIR, "fixtures");
const GOLDEN = path.join(FIXTURES, "expected.json");
const TOLERANCE = 0.02;
const fixtures = ["human-speech.wav", "synthetic-speech.wav", "music.wav"] as const;

describe("shipped AI-likeness model", () => {
  it("loads from disk with its calibration and matches the feature code", async () => {
    const model = await loadModel();
    expect(model.card.featureCount).toBe(FEATURE_COUNT);
    expect(model.card.modelVersion).toMatch(/^ai-likeness-\d{4}-\d{2}-\d{2}-[0-9a-f]{8}$/);
    expect(model.card.reviewThreshold).toBeGreaterThanOrEqual(0.5);
    expect(model.card.reviewThreshold).toBeLessThan(1);
    expect(model.net.inputs[0]?.shape).toEqual([null, FEATURE_COUNT]);
    // Loading again is the same promise: one load per process.
    expect(await loadModel()).toBe(model);
  });

  it("scores the fixtures: human speech below the review threshold, synthetic above, music not applicable", async () => {
    const model = await loadModel();
    const results = Object.fromEntries(
      await Promise.all(
        fixtures.map(
          async (f) => [f, await scoreWindows(model, await fileFeatures(path.join(FIXTURES, f)))] as const,
        ),
      ),
    );
    const human = results["human-speech.wav"];
    const synthetic = results["synthetic-speech.wav"];
    const music = results["music.wav"];
    expect(human?.applicable).toBe(true);
    expect(human?.score).toBeLessThan(model.card.reviewThreshold);
    expect(synthetic?.applicable).toBe(true);
    expect(synthetic?.score).toBeGreaterThanOrEqual(model.card.reviewThreshold);
    expect(music?.applicable).toBe(false);
    for (const r of Object.values(results)) {
      expect(r.modelVersion).toBe(model.card.modelVersion);
      for (const s of r.segments) {
        expect(s.endS - s.startS).toBeLessThanOrEqual(2);
        expect(s.score).toBeGreaterThanOrEqual(0);
        expect(s.score).toBeLessThanOrEqual(1);
      }
    }

    const actual = Object.fromEntries(
      Object.entries(results).map(([f, r]) => [
        f,
        { score: r.score, segments: r.segments.map((s) => s.score) },
      ]),
    );
    if (process.env.UPDATE_CLASSIFIER_GOLDEN) {
      writeFileSync(
        GOLDEN,
        `${JSON.stringify({ modelVersion: model.card.modelVersion, ...actual }, null, 1)}\n`,
      );
    }
    const golden = JSON.parse(readFileSync(GOLDEN, "utf8")) as Record<
      string,
      { score: number; segments: number[] }
    > & {
      modelVersion: string;
    };
    expect(golden.modelVersion).toBe(model.card.modelVersion);
    for (const f of fixtures) {
      expect(Math.abs((actual[f]?.score ?? -1) - (golden[f]?.score ?? 99))).toBeLessThan(TOLERANCE);
      expect(actual[f]?.segments.length).toBe(golden[f]?.segments.length);
      actual[f]?.segments.forEach((s, i) => {
        expect(Math.abs(s - (golden[f]?.segments[i] ?? 99))).toBeLessThan(TOLERANCE);
      });
    }
  });
});
