/**
 * The shipped AI-likeness model: loading it from `detectors/ai-likeness/` (once per process, never from the
 * network) and scoring window features with it.
 *
 * Two heads read the same standardised features: the AI-likeness network (TensorFlow.js, `model.json` +
 * `weights.bin`) and a logistic speech-versus-music head (weights in `calibration.json`) that decides whether
 * the model applies at all — it was trained and measured on speech only.
 *
 * @module
 */

import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { FEATURE_COUNT, type WindowedFeatures } from "./features.js";
import { MODEL_DIR } from "./paths.js";
import { tf, tfReady } from "./runtime.js";

export { MODEL_DIR } from "./paths.js";

/** calibration.json: everything about the model besides the network's weights. */
export interface ModelCard {
  modelVersion: string;
  featureCount: number;
  /** Per-feature mean and standard deviation of the training windows (standardisation). */
  featureMean: number[];
  featureStd: number[];
  /** Platt scaling of the mean window logit: score = σ(a·logit + b), fitted on the validation split. */
  platt: { a: number; b: number };
  /** The score the default policy reviews at (≤ 1 % of validation human speech above it). */
  reviewThreshold: number;
  /** Speech-versus-music head: p(speech) = σ(w·x + bias) on the standardised features. */
  speechHead: { weights: number[]; bias: number };
  /** Share of speech windows an upload needs for the classifier to apply. */
  minSpeechShare: number;
}

/** The classifier's verdict on one upload, the shape of the `classifier` signal. */
export interface ClassifierResult {
  score: number;
  segments: { startS: number; endS: number; score: number }[];
  modelVersion: string;
  applicable: boolean;
}

export interface LoadedModel {
  card: ModelCard;
  net: tf.LayersModel;
  backend: string;
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));
const round = (x: number) => Math.round(x * 1e4) / 1e4;

/** Reads model.json + weights.bin from a directory: an IOHandler with no fetch and no file:// scheme. */
export function directoryModelHandler(dir: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await readFile(join(dir, "model.json"), "utf8")) as {
        modelTopology: object;
        weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
        format?: string;
        generatedBy?: string;
        convertedBy?: string | null;
      };
      const specs = json.weightsManifest.flatMap((g) => g.weights);
      const buffers = await Promise.all(
        json.weightsManifest.flatMap((g) => g.paths).map((p) => readFile(join(dir, p))),
      );
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy ?? null,
      };
    },
  };
}

const loaded = new Map<string, Promise<LoadedModel>>();

/** Loads the model in `dir` (default: the shipped one) once per process. */
export function loadModel(dir = MODEL_DIR): Promise<LoadedModel> {
  let p = loaded.get(dir);
  if (!p) {
    p = (async () => {
      const backend = await tfReady();
      const card = JSON.parse(await readFile(join(dir, "calibration.json"), "utf8")) as ModelCard;
      if (card.featureCount !== FEATURE_COUNT)
        throw new Error(
          `${dir}: the model was trained on ${card.featureCount} features, the code computes ${FEATURE_COUNT}; retrain it (earmark detector train)`,
        );
      const net = await tf.loadLayersModel(directoryModelHandler(dir));
      return { card, net, backend };
    })();
    p.catch(() => loaded.delete(dir));
    loaded.set(dir, p);
  }
  return p;
}

/** Standardises feature vectors into one [n, FEATURE_COUNT] matrix. */
export function standardise(
  card: Pick<ModelCard, "featureMean" | "featureStd">,
  rows: Float32Array[],
): Float32Array {
  const out = new Float32Array(rows.length * FEATURE_COUNT);
  rows.forEach((row, r) => {
    for (let i = 0; i < FEATURE_COUNT; i++) {
      const v = ((row[i] as number) - (card.featureMean[i] as number)) / (card.featureStd[i] as number);
      out[r * FEATURE_COUNT + i] = Math.max(-8, Math.min(8, v));
    }
  });
  return out;
}

/** The network's logit (pre-sigmoid output) for each row. */
export async function windowLogits(model: LoadedModel, x: Float32Array, n: number): Promise<Float32Array> {
  if (n === 0) return new Float32Array(0);
  const input = tf.tensor2d(x, [n, FEATURE_COUNT]);
  const out = model.net.predict(input) as tf.Tensor;
  const logits = (await out.data()) as Float32Array;
  input.dispose();
  out.dispose();
  return logits;
}

/** p(speech) per standardised row, from the speech-versus-music head. */
export function speechProbabilities(card: ModelCard, x: Float32Array, n: number): Float32Array {
  const p = new Float32Array(n);
  for (let r = 0; r < n; r++) {
    let s = card.speechHead.bias;
    for (let i = 0; i < FEATURE_COUNT; i++)
      s += (card.speechHead.weights[i] as number) * (x[r * FEATURE_COUNT + i] as number);
    p[r] = sigmoid(s);
  }
  return p;
}

/** Combines window logits into the upload's calibrated score (mean over the speech windows, Platt-scaled). */
export function uploadScore(card: ModelCard, logits: ArrayLike<number>, speech: ArrayLike<number>): number {
  let sum = 0;
  let n = 0;
  for (let i = 0; i < logits.length; i++)
    if ((speech[i] as number) >= 0.5) {
      sum += logits[i] as number;
      n++;
    }
  if (n === 0)
    for (let i = 0; i < logits.length; i++) {
      sum += logits[i] as number;
      n++;
    }
  return n === 0 ? 0 : sigmoid(card.platt.a * (sum / n) + card.platt.b);
}

/**
 * Scores an upload's window features: the calibrated upload score, one calibrated score per window, and
 * whether the model applies (enough of the windows are speech). Audio too short for a window scores 0 and is
 * not applicable.
 *
 * @example
 * ```ts
 * const model = await loadModel();
 * const result = await scoreWindows(model, await featuresOfChunks(audio.read()));
 * result.applicable && result.score >= model.card.reviewThreshold; // hold for review
 * ```
 */
export async function scoreWindows(
  model: LoadedModel,
  features: WindowedFeatures,
): Promise<ClassifierResult> {
  const { card } = model;
  const n = features.windows.length;
  const x = standardise(
    card,
    features.windows.map((w) => w.features),
  );
  const logits = await windowLogits(model, x, n);
  const speech = speechProbabilities(card, x, n);
  let speechWindows = 0;
  for (const p of speech) if (p >= 0.5) speechWindows++;
  return {
    score: round(uploadScore(card, logits, speech)),
    segments: features.windows.map((w, i) => ({
      startS: round(w.startS),
      endS: round(w.endS),
      score: round(sigmoid(card.platt.a * (logits[i] as number) + card.platt.b)),
    })),
    modelVersion: card.modelVersion,
    applicable: n > 0 && speechWindows / n >= card.minSpeechShare,
  };
}
