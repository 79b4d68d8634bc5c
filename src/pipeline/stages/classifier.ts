import { featuresOfChunks } from "../../classifier/features.js";
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
    // Imported on first use: TensorFlow.js takes a while to load, and processes that never classify (the
    // command line, an API-only server) should not pay for it.
    const { loadModel, scoreWindows } = await import("../../classifier/model.js");
    const model = await loadModel();
    return scoreWindows(model, await featuresOfChunks(audio.read()));
  },
};
