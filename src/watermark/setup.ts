import { mkdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Logger } from "pino";
import type { Config } from "../config.js";
import type { Db } from "../db/client.js";
import type { WatermarkReader } from "../pipeline/stage.js";
import { detectWatermark, loadOrCreateWatermarkKey } from "./index.js";
import { linkWatermark } from "./store.js";

/** The deployment's watermark key and where it came from. */
export interface Watermarking {
  key: Uint8Array;
  /** True while Earmark marks with the development key it generated itself. */
  development: boolean;
  /** Draws a new upload's watermark id; random unless a test needs a reproducible sequence. */
  newPayload?: () => Uint8Array;
}

/** Where the development key lives, beside the development C2PA credentials. */
export const devKeyFile = (dataDir: string) => path.join(dataDir, "watermark-dev", "key");

const HEX_KEY = /^[0-9a-fA-F]{64}$/;

/**
 * The key from `EARMARK_WATERMARK_KEY` (64 hex digits, or a file holding them), or a development key created
 * in the data directory on first start. A configured file must exist: a missing production key is an error,
 * never silently replaced by a new one (marks made with a lost key cannot be read again).
 */
export async function setupWatermarking(
  config: Pick<Config, "dataDir" | "watermark">,
  logger?: Logger,
): Promise<Watermarking> {
  const configured = config.watermark.key?.trim();
  if (!configured) {
    const file = devKeyFile(config.dataDir);
    await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
    const key = await loadOrCreateWatermarkKey(file);
    logger?.warn(
      { file },
      "watermark: using the development key generated in the data directory. For production set EARMARK_WATERMARK_KEY.",
    );
    return { key, development: true };
  }
  if (HEX_KEY.test(configured))
    return { key: Uint8Array.from(Buffer.from(configured, "hex")), development: false };
  let text: string;
  try {
    text = (await readFile(configured, "utf8")).trim();
  } catch (err) {
    throw new Error(
      `EARMARK_WATERMARK_KEY: cannot read ${configured} (${(err as NodeJS.ErrnoException).code ?? err}); ` +
        "give 64 hex digits or a file holding them",
    );
  }
  if (!HEX_KEY.test(text))
    throw new Error(`EARMARK_WATERMARK_KEY: ${configured} must hold 64 hex digits (32 bytes), nothing else`);
  return { key: Uint8Array.from(Buffer.from(text, "hex")), development: false };
}

/** The stage's port: detection with the deployment key, and the database link of a found payload. */
export function watermarkReader(watermarking: Pick<Watermarking, "key">, db: Db): WatermarkReader {
  return {
    detect: (audio, signal) => detectWatermark(audio, { key: watermarking.key, signal }),
    link: (payload) => linkWatermark(db, payload),
  };
}
