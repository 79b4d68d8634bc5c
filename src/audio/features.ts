/**
 * The single place where Earmark talks to Meyda.
 *
 * Meyda keeps its analysis settings (`bufferSize`, `sampleRate`, `windowingFunction`, plus filter banks it
 * derives from them) in one module-global object. Two callers that set those fields and then extract in
 * separate steps could interleave and analyse with each other's settings. {@link extractFeatures} therefore
 * sets every option and extracts in one synchronous call: JavaScript cannot interleave another caller inside
 * it, so every extraction sees exactly the options it was given. Nothing else in the project should import
 * `meyda` directly.
 *
 * @module
 */

import type { MeydaAudioFeature, MeydaFeaturesObject } from "meyda";
import meydaModule from "meyda";

/** Options applied to Meyda's global state immediately before each extraction. */
export interface FeatureOptions {
  /** Sample rate of `signal` in Hz (used by frequency-dependent features). */
  sampleRate: number;
  /** Frame length in samples; must be a power of two and equal `signal.length`. */
  bufferSize: number;
  /** Window applied before the FFT. Meyda's default is `"hanning"`; `"rect"` applies none. */
  windowingFunction?: "hanning" | "hamming" | "blackman" | "sine" | "rect";
}

/**
 * Names of the features Meyda can extract from one frame. `spectralFlux` is left out: it compares against a
 * previous frame, which this stateless wrapper deliberately does not keep.
 */
export type FeatureName = Exclude<MeydaAudioFeature, "spectralFlux">;

/** The value Meyda returns for feature `F` (`unknown` for features Meyda leaves untyped). */
export type FeatureValue<F extends string> = F extends keyof MeydaFeaturesObject
  ? MeydaFeaturesObject[F]
  : unknown;

/** The object returned by {@link extractFeatures}: one entry per requested feature. */
export type FeatureRecord<F extends string> = { [K in F]: FeatureValue<K> };

// Meyda ships CommonJS (`module.exports = Meyda`) with ESM-style typings (`export default Meyda`). Under
// NodeNext the default import is typed as the module record, but at run time it is the Meyda object itself
// (and some bundlers add one more `.default` level). Resolve both shapes once.
type MeydaApi = (typeof meydaModule)["default"];
const meyda: MeydaApi =
  "extract" in meydaModule
    ? (meydaModule as unknown as MeydaApi)
    : (meydaModule as { default: MeydaApi }).default;

/** The fields Meyda derives from `bufferSize`/`sampleRate` and caches on its global object. */
interface MeydaCaches {
  barkScale?: unknown;
  melFilterBank?: unknown;
  chromaFilterBank?: unknown;
}

let cachedFor = "";
/** Meyda's derived caches for each `${sampleRate}/${bufferSize}` used so far (a handful of settings). */
const cachesByKey = new Map<string, MeydaCaches>();

function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0 && n <= 2 ** 30;
}

/**
 * Sets Meyda's global options and extracts synchronously. `signal.length` must equal `bufferSize` (a power of
 * two).
 *
 * Because the options are applied and the features computed in one synchronous call, concurrent callers
 * (other requests, other jobs on the event loop) cannot see or disturb each other's settings.
 *
 * @param signal - One frame of mono samples, nominally in −1..1.
 * @param features - Meyda feature names, e.g. `["spectralFlatness", "rms"]`.
 * @param options - Sample rate, frame size and window for this extraction.
 * @returns An object with one entry per requested feature.
 * @throws Error if `signal.length !== options.bufferSize`, if the size is not a power of two, or if the sample
 *   rate is not a positive finite number.
 *
 * @example
 * ```ts
 * const frame = new Float32Array(2048).map(() => Math.random() * 2 - 1);
 * const { spectralFlatness } = extractFeatures(frame, ["spectralFlatness"], {
 *   sampleRate: 48_000,
 *   bufferSize: 2048,
 * });
 * // spectralFlatness ≈ 0.85 for white noise, ≈ 0 for a pure tone
 * ```
 */
export function extractFeatures<F extends FeatureName>(
  signal: Float32Array,
  features: readonly F[],
  options: FeatureOptions,
): FeatureRecord<F> {
  const { bufferSize } = options;
  checkOptions(features, options);
  if (signal.length !== bufferSize) {
    throw new Error(
      `extractFeatures: signal.length (${signal.length}) must equal bufferSize (${bufferSize})`,
    );
  }
  // Everything from here to the return is synchronous: no other caller can run in between.
  applyOptions(options);
  return extractOne(signal, features);
}

/**
 * {@link extractFeatures} for successive frames of one signal: frame `i` is
 * `signal.subarray(i · hop, i · hop + bufferSize)`, for every frame that fits. Meyda's options are set once
 * for the whole batch rather than once per frame, in the same synchronous call as all the extractions, so
 * concurrent callers still cannot disturb each other; the results are exactly those of one
 * {@link extractFeatures} call per frame.
 *
 * @param signal - Mono samples, nominally in −1..1; any length (no frame fits in one shorter than a frame).
 * @param hop - Samples from the start of one frame to the next, a positive integer.
 * @param features - Meyda feature names.
 * @param options - Sample rate, frame size and window, the same for every frame.
 * @returns One record per frame, in order.
 * @throws Error for the options {@link extractFeatures} refuses, or if `hop` is not a positive integer.
 *
 * @example
 * ```ts
 * // 1 s at 4 kHz in 256-sample frames every 128 samples: 30 amplitude spectra of 128 bins.
 * const spectra = extractFeatureFrames(new Float32Array(4000), 128, ["amplitudeSpectrum"], {
 *   sampleRate: 4000,
 *   bufferSize: 256,
 * });
 * ```
 */
export function extractFeatureFrames<F extends FeatureName>(
  signal: Float32Array,
  hop: number,
  features: readonly F[],
  options: FeatureOptions,
): FeatureRecord<F>[] {
  checkOptions(features, options);
  if (!(Number.isInteger(hop) && hop > 0)) {
    throw new Error(`extractFeatureFrames: hop must be a positive integer, got ${hop}`);
  }
  const { bufferSize } = options;
  const out: FeatureRecord<F>[] = [];
  if (signal.length < bufferSize) return out;
  // Everything from here to the return is synchronous: no other caller can run in between.
  applyOptions(options);
  for (let start = 0; start + bufferSize <= signal.length; start += hop) {
    out.push(extractOne(signal.subarray(start, start + bufferSize), features));
  }
  return out;
}

function checkOptions(features: readonly string[], options: FeatureOptions): void {
  const { sampleRate, bufferSize } = options;
  if (!isPowerOfTwo(bufferSize)) {
    throw new Error(`extractFeatures: bufferSize must be a power of two, got ${bufferSize}`);
  }
  if (!(Number.isFinite(sampleRate) && sampleRate > 0)) {
    throw new Error(`extractFeatures: sampleRate must be a positive number, got ${sampleRate}`);
  }
  if (features.length === 0) {
    throw new Error("extractFeatures: at least one feature must be requested");
  }
}

/** Sets Meyda's global options; the caller extracts in the same synchronous call. */
function applyOptions(options: FeatureOptions): void {
  const { sampleRate, bufferSize, windowingFunction = "hanning" } = options;
  meyda.bufferSize = bufferSize;
  meyda.sampleRate = sampleRate;
  meyda.windowingFunction = windowingFunction;
  // Meyda rebuilds its Bark scale when bufferSize changes, but keeps its mel and chroma filter banks from the
  // first call (and never notices a sampleRate change); and it builds all three on any call that finds them
  // missing, whatever features are asked for (the chroma bank of a 2048-point frame costs milliseconds). So the
  // caches are kept per setting: put away when the settings change, brought back when they return — stages
  // with different settings (stats, fingerprint) alternate chunk by chunk over one decode.
  const key = `${sampleRate}/${bufferSize}`;
  if (key !== cachedFor) {
    const caches = meyda as unknown as MeydaCaches;
    if (cachedFor) {
      cachesByKey.set(cachedFor, {
        barkScale: caches.barkScale,
        melFilterBank: caches.melFilterBank,
        chromaFilterBank: caches.chromaFilterBank,
      });
    }
    const kept = cachesByKey.get(key);
    caches.barkScale = kept?.barkScale;
    caches.melFilterBank = kept?.melFilterBank;
    caches.chromaFilterBank = kept?.chromaFilterBank;
    cachedFor = key;
  }
}

/** One frame, options already applied. A single feature is asked for by name: Meyda then skips merging. */
function extractOne<F extends FeatureName>(signal: Float32Array, features: readonly F[]): FeatureRecord<F> {
  if (features.length === 1) {
    const name = features[0] as F;
    return { [name]: meyda.extract(name, signal) } as FeatureRecord<F>;
  }
  const result = meyda.extract([...features], signal);
  if (result === null) {
    throw new Error("extractFeatures: Meyda returned no features");
  }
  return result as FeatureRecord<F>;
}
