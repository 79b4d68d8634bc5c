import { featuresOfChunks } from "../../classifier/features.js";
import { loadModel, scoreWindows } from "../../classifier/model.js";
import type { Stage } from "../stage.js";

/**
 * AI-likeness: the shipped model (detectors/ai-likeness, loaded once per process from disk) scores every 2 s
 * window of the upload; the signal holds the calibrated upload score, the per-window scores for the heatmap,
 * the model version, and whether the model applies (it covers speech; music and other audio are
 * `applicable: false`, and the policy ignores their score).
 */
export const classifierStage: Stage<"classifier"> = {
  name: "classifier",
  version: "ai-likeness-1",
  async run({ audio }) {
    const model = await loadModel();
    return scoreWindows(model, await featuresOfChunks(audio.read()));
  },
};
