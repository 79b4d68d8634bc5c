import type { Stage } from "../stage.js";
import { classifierStage } from "./classifier.js";
import { decodeStage } from "./decode.js";
import { fingerprintStage } from "./fingerprint.js";
import { provenanceStage } from "./provenance.js";
import { statsStage } from "./stats.js";
import { watermarkStage } from "./watermark.js";

/**
 * The analysis stages. This list is the one place a stage is registered. They run together over one decode
 * of the audio (pipeline/analyse.ts); `decode` comes first so that bad audio, which every stage meets, is
 * reported as found by the stage whose job is to find it.
 */
export const DEFAULT_STAGES: readonly Stage[] = [
  decodeStage,
  statsStage,
  fingerprintStage,
  classifierStage,
  provenanceStage,
  watermarkStage,
];
