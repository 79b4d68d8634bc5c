import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav, makeSignal, rng } from "../../../test/harness/audio.js";
import { openAudioFile } from "../../audio/open.js";
import { loadModel, MODEL_DIR, scoreWindows } from "../../classifier/model.js";
import { corpusFeatures } from "../../classifier/train.js";
import { classifierSignalSchema } from "../signals.js";
import { audioSourceFor, type StageContext, type StageInput } from "../stage.js";
import { classifierStage } from "./classifier.js";
import { DEFAULT_STAGES } from "./index.js";

const limits = { maxDurationS: 600 };

async function runStage(file: string) {
  const { source, probe } = await openAudioFile(file, limits);
  const input = { audio: audioSourceFor(source, probe, limits) } as StageInput;
  return classifierStage.run(input, {} as StageContext);
}

describe("classifier stage", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-clf-stage-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("is registered and gives the classifier signal for speech", async () => {
    expect(DEFAULT_STAGES.map((s) => s.name)).toContain("classifier");
    const signal = await runStage(path.join(MODEL_DIR, "fixtures", "synthetic-speech.wav"));
    expect(classifierSignalSchema.strict().parse(signal)).toEqual(signal);
    expect(signal.applicable).toBe(true);
    expect(signal.segments.length).toBeGreaterThan(0);
    expect(signal.segments[0]).toMatchObject({ startS: 0, endS: 2 });
    expect(signal.modelVersion).toBe((await loadModel()).card.modelVersion);
  });

  it("computes exactly the features training computes (one code path), also for 44.1 kHz stereo", async () => {
    // A corpus of one item, read by the training code.
    const file = path.join(dir, "clips", "human", "x.wav");
    await import("node:fs/promises").then((fs) => fs.mkdir(path.dirname(file), { recursive: true }));
    await writeFile(file, encodeWav(makeSignal({ seconds: 5.5, sampleRate: 44100, channels: 2, seed: 4 })));
    const item = {
      id: "x",
      file: "human/x.wav",
      class: "human",
      engine: "human",
      speaker: "s",
      split: "test",
      durationS: 5.5,
    } as const;
    const training = (await corpusFeatures(dir, [item], { hopS: 2 })).get("x");
    expect(training?.windows.length).toBe(3);
    const model = await loadModel();
    const expected = await scoreWindows(model, training as NonNullable<typeof training>);
    expect(await runStage(file)).toEqual(expected);
  });

  it("says a tone-and-noise melody is not speech, so the policy ignores its score", async () => {
    const file = path.join(dir, "melody.wav");
    await writeFile(file, encodeWav(makeSignal({ seconds: 6, seed: 9 })));
    const signal = await runStage(file);
    expect(signal.applicable).toBe(false);
  });

  it("says digital silence and steady hiss are not speech either", async () => {
    const random = rng(5);
    const rate = 44100;
    for (const [name, x] of [
      ["silence.wav", new Float32Array(rate * 3)],
      ["hiss.wav", Float32Array.from({ length: rate * 3 }, () => 0.5 * (random() * 2 - 1))],
    ] as const) {
      const file = path.join(dir, name);
      await writeFile(file, encodeWav({ sampleRate: rate, channels: [x] }));
      expect((await runStage(file)).applicable).toBe(false);
    }
  });

  it("scores audio too short for a window as not applicable, with no segments", async () => {
    const file = path.join(dir, "blip.wav");
    await writeFile(file, encodeWav(makeSignal({ seconds: 0.3, seed: 2 })));
    expect(await runStage(file)).toMatchObject({ score: 0, segments: [], applicable: false });
  });
});
