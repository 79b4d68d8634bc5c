/**
 * Training and evaluation of the AI-likeness model on the corpus built by
 * detectors/ai-likeness/corpus/build.ts. Audio is read exactly as uploads are (openAudioFile → decodeAudio →
 * featuresOfChunks), so training sees the features inference computes.
 *
 * @module
 */

import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { decodeAudio } from "../audio/decode/index.js";
import { openAudioFile } from "../audio/open.js";
import {
  ANALYSIS_RATE,
  FEATURE_COUNT,
  FEATURE_NAMES,
  featuresOf,
  featuresOfChunks,
  WINDOW_S,
  type WindowedFeatures,
} from "./features.js";
import { auc, eer, ratesAt, type Scored } from "./metrics.js";
import {
  type LoadedModel,
  type ModelCard,
  speechProbabilities,
  standardise,
  uploadScore,
  windowLogits,
} from "./model.js";
import { tf, tfReady } from "./runtime.js";

export interface CorpusItem {
  id: string;
  file: string;
  class: "human" | "synthetic" | "music";
  engine: string;
  speaker: string;
  split: "train" | "val" | "test";
  durationS: number;
}
interface Manifest {
  testOnlyEngines: string[];
  items: CorpusItem[];
}

export type Progress = (line: string) => void;

const LIMITS = { maxDurationS: 4 * 3600 };
/** Features change → caches and models built with the old ones are stale. */
const FEATURE_VERSION = createHash("sha256").update(FEATURE_NAMES.join(",")).digest("hex").slice(0, 8);

export function readManifest(dataDir: string): Manifest {
  const path = join(dataDir, "manifest.json");
  if (!existsSync(path))
    throw new Error(
      `${path} not found: build the corpus first (nice -n 10 npx tsx detectors/ai-likeness/corpus/build.ts ${dataDir})`,
    );
  return JSON.parse(readFileSync(path, "utf8")) as Manifest;
}

/** A re-encoding applied before scoring (robustness checks): ffmpeg round trip, decoded by Earmark's decoders. */
export type Reencode = "mp3-64k" | null;

/** Reads one audio file the way uploads are read and computes its window features. */
export async function fileFeatures(path: string, hopS = WINDOW_S): Promise<WindowedFeatures> {
  const { source, probe } = await openAudioFile(path, LIMITS);
  return featuresOfChunks(decodeAudio(source, probe, LIMITS), hopS);
}

async function itemFeatures(
  path: string,
  hopS: number,
  reencode: Reencode,
  tmp: string,
): Promise<WindowedFeatures> {
  if (!reencode) return fileFeatures(path, hopS);
  const out = join(tmp, "reencoded.mp3");
  execFileSync("ffmpeg", ["-v", "error", "-y", "-i", path, "-c:a", "libmp3lame", "-b:a", "64k", out]);
  return fileFeatures(out, hopS);
}

/** Window features of many items, cached in the data directory (keyed by feature version, hop and re-encoding). */
export async function corpusFeatures(
  dataDir: string,
  items: readonly CorpusItem[],
  opts: { hopS: number; reencode?: Reencode; progress?: Progress },
): Promise<Map<string, WindowedFeatures>> {
  const key = `features-${FEATURE_VERSION}-hop${opts.hopS}-${opts.reencode ?? "orig"}`;
  const cacheDir = join(dataDir, "cache");
  mkdirSync(cacheDir, { recursive: true });
  const cachePath = join(cacheDir, `${key}.json`);
  const cache = new Map<
    string,
    { durationS: number; windows: { startS: number; endS: number; features: number[] }[] }
  >(existsSync(cachePath) ? Object.entries(JSON.parse(readFileSync(cachePath, "utf8"))) : []);
  const tmp = mkdtempSync(join(tmpdir(), "earmark-clf-"));
  const out = new Map<string, WindowedFeatures>();
  let done = 0;
  let computed = 0;
  const started = performance.now();
  try {
    for (const item of items) {
      let f = cache.get(item.id);
      if (!f) {
        const wf = await itemFeatures(
          join(dataDir, "clips", item.file),
          opts.hopS,
          opts.reencode ?? null,
          tmp,
        );
        f = {
          durationS: wf.durationS,
          windows: wf.windows.map((w) => ({ ...w, features: Array.from(w.features) })),
        };
        cache.set(item.id, f);
        computed++;
      }
      out.set(item.id, {
        durationS: f.durationS,
        windows: f.windows.map((w) => ({ ...w, features: Float32Array.from(w.features) })),
      });
      done++;
      if (opts.progress && (done % 200 === 0 || done === items.length))
        opts.progress(
          `features ${key}: ${done}/${items.length} items (${computed} computed, ${((performance.now() - started) / 1000).toFixed(0)} s)`,
        );
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
    if (computed > 0) writeFileSync(cachePath, JSON.stringify(Object.fromEntries(cache)));
  }
  return out;
}

// ---------- training ----------

function mulberry(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function buildNet(seed: number): tf.LayersModel {
  const net = tf.sequential();
  net.add(
    tf.layers.dense({
      inputShape: [FEATURE_COUNT],
      units: 64,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed }),
    }),
  );
  net.add(tf.layers.dropout({ rate: 0.3, seed: seed + 1 }));
  net.add(
    tf.layers.dense({
      units: 32,
      activation: "relu",
      kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 2 }),
    }),
  );
  net.add(tf.layers.dropout({ rate: 0.3, seed: seed + 3 }));
  // Linear output: the network's logit; the loss applies the sigmoid.
  net.add(
    tf.layers.dense({ units: 1, kernelInitializer: tf.initializers.glorotUniform({ seed: seed + 4 }) }),
  );
  return net;
}

function rows(items: readonly CorpusItem[], feats: Map<string, WindowedFeatures>) {
  const xs: Float32Array[] = [];
  const owner: CorpusItem[] = [];
  for (const it of items)
    for (const w of feats.get(it.id)?.windows ?? []) {
      xs.push(w.features);
      owner.push(it);
    }
  return { xs, owner };
}

function meanStdOf(xs: Float32Array[]) {
  const mean = new Array<number>(FEATURE_COUNT).fill(0);
  const std = new Array<number>(FEATURE_COUNT).fill(0);
  for (const x of xs)
    for (let i = 0; i < FEATURE_COUNT; i++) mean[i] = (mean[i] as number) + (x[i] as number) / xs.length;
  for (const x of xs)
    for (let i = 0; i < FEATURE_COUNT; i++)
      std[i] = (std[i] as number) + ((x[i] as number) - (mean[i] as number)) ** 2 / xs.length;
  return { mean, std: std.map((v) => Math.sqrt(v) || 1) };
}

/** Logistic regression by full-batch gradient descent (small problems: Platt scaling, the speech head). */
function logistic(
  x: number[][],
  y: number[],
  opts: { iters: number; lr: number; l2: number; weights?: number[] },
) {
  const d = x[0]?.length ?? 0;
  const w = new Array<number>(d).fill(0);
  let b = 0;
  const wt = opts.weights ?? y.map(() => 1);
  const wsum = wt.reduce((a, v) => a + v, 0);
  for (let it = 0; it < opts.iters; it++) {
    const gw = new Array<number>(d).fill(0);
    let gb = 0;
    for (let r = 0; r < x.length; r++) {
      const row = x[r] as number[];
      let s = b;
      for (let i = 0; i < d; i++) s += (w[i] as number) * (row[i] as number);
      const err = (1 / (1 + Math.exp(-s)) - (y[r] as number)) * (wt[r] as number);
      for (let i = 0; i < d; i++) gw[i] = (gw[i] as number) + err * (row[i] as number);
      gb += err;
    }
    for (let i = 0; i < d; i++)
      w[i] = (w[i] as number) - opts.lr * ((gw[i] as number) / wsum + opts.l2 * (w[i] as number));
    b -= (opts.lr * gb) / wsum;
  }
  return { w, b };
}

/**
 * Non-speech windows the corpus lacks, made here deterministically: digital silence, dither, white, pink and
 * brown noise at many levels, mains hum, steady tones and chords, clicks. The speech head learns them as
 * not-speech (without them, digital silence counted as speech and scored as synthetic); the AI-likeness
 * network never sees them.
 */
export function nonSpeechWindows(seed = 11): Float32Array[] {
  const rnd = mulberry(seed);
  const n = 2 * ANALYSIS_RATE;
  const out: Float32Array[] = [];
  const gauss = () => Math.sqrt(-2 * Math.log(rnd() + 1e-12)) * Math.cos(2 * Math.PI * rnd());
  for (let i = 0; i < 240; i++) {
    const kind = i % 8;
    const level = 10 ** ((-70 + 60 * rnd()) / 20);
    const x = new Float32Array(n);
    let b0 = 0;
    let b1 = 0;
    let b2 = 0;
    let brown = 0;
    const f0 = 50 + 900 * rnd();
    for (let t = 0; t < n; t++) {
      const w = gauss();
      switch (kind) {
        case 0: // digital silence
          break;
        case 1: // dither only
          x[t] = (rnd() - rnd()) / 32768;
          break;
        case 2: // white noise
          x[t] = level * w;
          break;
        case 3: // pink-ish noise (three one-pole sections)
          b0 = 0.99765 * b0 + w * 0.099046;
          b1 = 0.963 * b1 + w * 0.2965164;
          b2 = 0.57 * b2 + w * 1.0526913;
          x[t] = (level * (b0 + b1 + b2 + w * 0.1848)) / 3;
          break;
        case 4: // brown noise
          brown = 0.995 * brown + 0.05 * w;
          x[t] = level * brown * 3;
          break;
        case 5: // mains hum with harmonics, a little noise
          x[t] =
            level *
              (Math.sin((2 * Math.PI * (i % 2 ? 50 : 60) * t) / ANALYSIS_RATE) +
                0.3 * Math.sin((6 * Math.PI * 50 * t) / ANALYSIS_RATE)) +
            1e-4 * w;
          break;
        case 6: // a steady chord
          x[t] =
            level *
              (Math.sin((2 * Math.PI * f0 * t) / ANALYSIS_RATE) +
                0.5 * Math.sin((2 * Math.PI * f0 * 1.25 * t) / ANALYSIS_RATE) +
                0.4 * Math.sin((2 * Math.PI * f0 * 1.5 * t) / ANALYSIS_RATE)) +
            1e-4 * w;
          break;
        default: // clicks over a noise floor
          x[t] = (t % Math.round(ANALYSIS_RATE / (2 + 20 * ((i * 7) % 5))) === 0 ? level * 10 : 0) + 3e-5 * w;
      }
    }
    out.push(x);
  }
  return out.map((x) => featuresOf(x).windows[0]?.features as Float32Array);
}

export interface TrainOptions {
  dataDir: string;
  outDir: string;
  epochs: number;
  seed: number;
  progress: Progress;
  /** Engines left out of training (e.g. to measure LPCNet as an unseen engine). */
  excludeEngines?: string[];
}

/** Trains the network and the speech head, calibrates on the validation split, writes the model to `outDir`. */
export async function trainModel(opts: TrainOptions): Promise<ModelCard> {
  const { progress } = opts;
  const backend = await tfReady();
  progress(`backend ${backend}`);
  const manifest = readManifest(opts.dataDir);
  const excluded = new Set([...manifest.testOnlyEngines, ...(opts.excludeEngines ?? [])]);
  const train = manifest.items.filter((i) => i.split === "train" && !excluded.has(i.engine));
  const val = manifest.items.filter((i) => i.split === "val" && !excluded.has(i.engine));
  progress(
    `corpus: ${train.length} training items, ${val.length} validation items (left out: ${[...excluded].join(", ")})`,
  );
  const trainFeats = await corpusFeatures(opts.dataDir, train, { hopS: 1, progress });
  const valFeats = await corpusFeatures(opts.dataDir, val, { hopS: WINDOW_S, progress });

  const all = rows(train, trainFeats);
  const { mean, std } = meanStdOf(all.xs);
  const norm = { featureMean: mean, featureStd: std };

  // Speech-versus-music head on every training window.
  const xAll = standardise(norm, all.xs);
  const asRows = (x: Float32Array, n: number) =>
    Array.from({ length: n }, (_, r) => Array.from(x.subarray(r * FEATURE_COUNT, (r + 1) * FEATURE_COUNT)));
  const other = nonSpeechWindows();
  const headX = [...asRows(xAll, all.xs.length), ...asRows(standardise(norm, other), other.length)];
  const ySpeech = [...all.owner.map((o) => (o.class === "music" ? 0 : 1)), ...other.map(() => 0)];
  const nOther = ySpeech.filter((y) => y === 0).length;
  const speechFit = logistic(headX, ySpeech, {
    iters: 300,
    lr: 0.5,
    l2: 1e-3,
    weights: ySpeech.map((y) => (y === 0 ? (ySpeech.length - nOther) / Math.max(1, nOther) : 1)),
  });
  progress(
    `speech head: ${ySpeech.length - nOther} speech windows against ${nOther - other.length} music and ${other.length} generated non-speech windows (silence, noise, hum, tones, clicks)`,
  );

  // The network, on speech windows only (human vs synthetic), classes weighted to balance.
  const speechIdx = all.owner.flatMap((o, i) => (o.class === "music" ? [] : [i]));
  const rnd = mulberry(opts.seed);
  const order = speechIdx
    .map((i) => ({ i, k: rnd() }))
    .sort((a, b) => a.k - b.k)
    .map((e) => e.i);
  const n = order.length;
  const x = new Float32Array(n * FEATURE_COUNT);
  const y = new Float32Array(n);
  const w = new Float32Array(n);
  const nSyn = order.filter((i) => all.owner[i]?.class === "synthetic").length;
  order.forEach((src, r) => {
    x.set(xAll.subarray(src * FEATURE_COUNT, (src + 1) * FEATURE_COUNT), r * FEATURE_COUNT);
    const syn = all.owner[src]?.class === "synthetic";
    y[r] = syn ? 1 : 0;
    w[r] = syn ? n / (2 * nSyn) : n / (2 * (n - nSyn));
  });
  progress(`network: ${n} windows (${nSyn} synthetic, ${n - nSyn} human)`);
  const net = buildNet(opts.seed);
  const xt = tf.tensor2d(x, [n, FEATURE_COUNT]);
  const yt = tf.tensor2d(y, [n, 1]);
  const wt = tf.tensor1d(w);
  const optimizer = tf.train.adam(1e-3);
  const batch = 128;
  const valRows = rows(
    val.filter((i) => i.class !== "music"),
    valFeats,
  );
  const xVal = standardise(norm, valRows.xs);
  for (let epoch = 1; epoch <= opts.epochs; epoch++) {
    const t0 = performance.now();
    let lossSum = 0;
    for (let start = 0; start < n; start += batch) {
      const size = Math.min(batch, n - start);
      const loss = optimizer.minimize(
        () =>
          tf.tidy(() => {
            const xb = xt.slice([start, 0], [size, FEATURE_COUNT]);
            const yb = yt.slice([start, 0], [size, 1]);
            const wb = wt.slice([start], [size]);
            const logits = net.apply(xb, { training: true }) as tf.Tensor;
            const per = tf.losses
              .sigmoidCrossEntropy(yb, logits, undefined, 0, tf.Reduction.NONE)
              .reshape([size]);
            return per.mul(wb).mean() as tf.Scalar;
          }),
        true,
      );
      if (loss) {
        lossSum += (await loss.data())[0] ?? 0;
        loss.dispose();
      }
    }
    if (epoch % 5 === 0 || epoch === 1 || epoch === opts.epochs) {
      const logits = await windowLogits({ net } as LoadedModel, xVal, valRows.xs.length);
      const scored: Scored[] = valRows.owner.map((o, i) => ({
        score: logits[i] as number,
        label: o.class === "synthetic" ? 1 : 0,
      }));
      progress(
        `epoch ${epoch}/${opts.epochs}: loss ${(lossSum / Math.ceil(n / batch)).toFixed(4)}, validation window AUC ${auc(scored).toFixed(4)} (${(performance.now() - t0).toFixed(0)} ms)`,
      );
    }
  }
  xt.dispose();
  yt.dispose();
  wt.dispose();

  // Calibration on validation items: Platt scaling of the mean window logit, then the review threshold.
  const provisional: ModelCard = {
    modelVersion: "",
    featureCount: FEATURE_COUNT,
    ...norm,
    platt: { a: 1, b: 0 },
    reviewThreshold: 0.5,
    speechHead: { weights: speechFit.w, bias: speechFit.b },
    minSpeechShare: 0.5,
  };
  const model = { net, card: provisional, backend } as LoadedModel;
  const valSpeech = val.filter((i) => i.class !== "music");
  const valLogit: { item: CorpusItem; logit: number }[] = [];
  for (const item of valSpeech) {
    const wf = valFeats.get(item.id);
    if (!wf || wf.windows.length === 0) continue;
    const xi = standardise(
      norm,
      wf.windows.map((w) => w.features),
    );
    const logits = await windowLogits(model, xi, wf.windows.length);
    const sp = speechProbabilities(provisional, xi, wf.windows.length);
    // uploadScore with a = 1, b = 0 is σ(mean logit); invert to the mean logit.
    const p = uploadScore(provisional, logits, sp);
    valLogit.push({ item, logit: Math.log(Math.max(p, 1e-12) / Math.max(1 - p, 1e-12)) });
  }
  const platt = logistic(
    valLogit.map((v) => [v.logit]),
    valLogit.map((v) => (v.item.class === "synthetic" ? 1 : 0)),
    { iters: 3000, lr: 0.05, l2: 0 },
  );
  const card: ModelCard = { ...provisional, platt: { a: platt.w[0] as number, b: platt.b } };
  const humanVal = valLogit
    .filter((v) => v.item.class === "human")
    .map((v) => 1 / (1 + Math.exp(-(card.platt.a * v.logit + card.platt.b))))
    .sort((a, b) => b - a);
  // At most 1 % of validation human items at or above the threshold; a step of 0.01 above the highest allowed.
  const allowed = Math.floor(humanVal.length * 0.01);
  const over = humanVal[allowed] ?? 0;
  card.reviewThreshold = Math.min(0.99, Math.max(0.5, Math.ceil((over + 1e-9) * 100) / 100));
  progress(
    `calibration on ${valLogit.length} validation items: a=${card.platt.a.toFixed(3)} b=${card.platt.b.toFixed(3)}; review threshold ${card.reviewThreshold} (${allowed} of ${humanVal.length} human items may score above it)`,
  );

  // Version: a digest of the weights and the card.
  const weights = net.getWeights().map((t) => Buffer.from((t.dataSync() as Float32Array).buffer));
  const digest = createHash("sha256");
  for (const b of weights) digest.update(b);
  digest.update(JSON.stringify({ ...card, modelVersion: "" }));
  card.modelVersion = `ai-likeness-${new Date().toISOString().slice(0, 10)}-${digest.digest("hex").slice(0, 8)}`;

  mkdirSync(opts.outDir, { recursive: true });
  await net.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const data = artifacts.weightData as ArrayBuffer;
      writeFileSync(join(opts.outDir, "weights.bin"), Buffer.from(data));
      writeFileSync(
        join(opts.outDir, "model.json"),
        `${JSON.stringify({
          format: artifacts.format,
          generatedBy: artifacts.generatedBy,
          convertedBy: null,
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ["weights.bin"], weights: artifacts.weightSpecs }],
        })}\n`,
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: "JSON" } };
    }),
  );
  writeFileSync(join(opts.outDir, "calibration.json"), `${JSON.stringify(card, null, 1)}\n`);
  progress(`wrote ${opts.outDir}/model.json, weights.bin, calibration.json (${card.modelVersion})`);
  return card;
}

// ---------- evaluation ----------

export interface EvalRow {
  group: string;
  items: number;
  human: number;
  synthetic: number;
  auc: number | null;
  eer: number | null;
  fprAtThreshold: number | null;
  tprAtThreshold: number | null;
}

export interface EvalReport {
  modelVersion: string;
  split: string;
  reencode: string | null;
  reviewThreshold: number;
  conditions: EvalRow[];
  engines: EvalRow[];
  speakers: EvalRow[];
  applicability: {
    speechItems: number;
    musicItems: number;
    accuracy: number;
    speechAsMusic: number;
    musicAsSpeech: number;
  };
}

const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

function row(group: string, scored: { item: CorpusItem; score: number }[], threshold: number): EvalRow {
  const s: Scored[] = scored.map((x) => ({ score: x.score, label: x.item.class === "synthetic" ? 1 : 0 }));
  const rates = ratesAt(s, threshold);
  return {
    group,
    items: s.length,
    human: s.filter((x) => x.label === 0).length,
    synthetic: s.filter((x) => x.label === 1).length,
    auc: r4(auc(s)),
    eer: r4(eer(s)),
    fprAtThreshold: r4(rates.fpr),
    tprAtThreshold: r4(rates.tpr),
  };
}

/** Scores a split item by item with a loaded model and reports per condition, engine and speaker. */
export async function evaluateModel(
  model: LoadedModel,
  opts: { dataDir: string; split: "train" | "val" | "test"; reencode: Reencode; progress?: Progress },
): Promise<EvalReport> {
  const manifest = readManifest(opts.dataDir);
  const items = manifest.items.filter((i) => i.split === opts.split);
  const feats = await corpusFeatures(opts.dataDir, items, {
    hopS: WINDOW_S,
    reencode: opts.reencode,
    progress: opts.progress,
  });
  const { card } = model;
  const trainEngines = new Set(
    manifest.items
      .filter((i) => i.split === "train" && !manifest.testOnlyEngines.includes(i.engine))
      .map((i) => i.engine),
  );
  const scored: { item: CorpusItem; score: number; speechShare: number }[] = [];
  for (const item of items) {
    const wf = feats.get(item.id);
    if (!wf || wf.windows.length === 0) continue;
    const x = standardise(
      card,
      wf.windows.map((w) => w.features),
    );
    const logits = await windowLogits(model, x, wf.windows.length);
    const sp = speechProbabilities(card, x, wf.windows.length);
    scored.push({
      item,
      score: uploadScore(card, logits, sp),
      speechShare: Array.from(sp).filter((p) => p >= 0.5).length / sp.length,
    });
  }
  const speech = scored.filter((s) => s.item.class !== "music");
  const human = speech.filter((s) => s.item.class === "human");
  const t = card.reviewThreshold;
  const seen = speech.filter((s) => s.item.class === "human" || trainEngines.has(s.item.engine));
  const unseen = speech.filter((s) => s.item.class === "human" || !trainEngines.has(s.item.engine));
  const engines = [
    ...new Set(speech.filter((s) => s.item.class === "synthetic").map((s) => s.item.engine)),
  ].sort();
  const speakers = [...new Set(speech.map((s) => s.item.speaker))].sort();
  const music = scored.filter((s) => s.item.class === "music");
  const speechAsMusic = speech.filter((s) => s.speechShare < card.minSpeechShare).length;
  const musicAsSpeech = music.filter((s) => s.speechShare >= card.minSpeechShare).length;
  return {
    modelVersion: card.modelVersion,
    split: opts.split,
    reencode: opts.reencode,
    reviewThreshold: t,
    conditions: [
      row("all speech", speech, t),
      row("seen engines, unseen speakers", seen, t),
      row("unseen engines, unseen speakers", unseen, t),
    ],
    // Each engine against all human items of the split.
    engines: engines.map((e) => row(e, [...human, ...speech.filter((s) => s.item.engine === e)], t)),
    speakers: speakers.map((sp) =>
      row(
        sp,
        speech.filter((s) => s.item.speaker === sp),
        t,
      ),
    ),
    applicability: {
      speechItems: speech.length,
      musicItems: music.length,
      accuracy: r4(1 - (speechAsMusic + musicAsSpeech) / Math.max(1, speech.length + music.length)) ?? 0,
      speechAsMusic,
      musicAsSpeech,
    },
  };
}
