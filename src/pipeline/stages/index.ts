import type { Stage } from "../stage.js";
import { decodeStage } from "./decode.js";
import { statsStage } from "./stats.js";

/**
 * The analysis stages, in order. This list is the one place a stage is registered; `decode` comes first
 * because it validates the whole stream and the others rely on what it found.
 */
export const DEFAULT_STAGES: readonly Stage[] = [decodeStage, statsStage];
