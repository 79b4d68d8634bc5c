import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** Where the shipped model lives: detectors/ai-likeness at the repository root. */
export const MODEL_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../detectors/ai-likeness");
