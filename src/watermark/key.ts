import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { PAYLOAD_BYTES } from "./code.js";

const KEY_BYTES = 32;

/**
 * Reads the deployment's watermark key (32 bytes as 64 hex digits) from `file`, creating it with
 * fresh random bytes (mode 0600) when it does not exist. A file that exists but does not hold exactly
 * 64 hex digits is an error naming the file and what to fix — never silently replaced, since marks
 * made with the old key would stop detecting.
 * @example const key = await loadOrCreateWatermarkKey("./data/watermark.key");
 */
export async function loadOrCreateWatermarkKey(file: string): Promise<Uint8Array> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
    const key = randomBytes(KEY_BYTES);
    try {
      await writeFile(file, `${key.toString("hex")}\n`, { mode: 0o600, flag: "wx" });
      return new Uint8Array(key);
    } catch (e) {
      // Another process created it first: use theirs.
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      text = await readFile(file, "utf8");
    }
  }
  const hex = text.trim();
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error(
      `watermark key file ${file} must hold exactly ${KEY_BYTES * 2} hex digits (${KEY_BYTES} bytes); ` +
        `found ${hex.length} characters${/[^0-9a-fA-F]/.test(hex) ? " including non-hex ones" : ""}. ` +
        "Restore the deployment's key, or delete the file to generate a new one (marks made with the old key will no longer detect).",
    );
  }
  return new Uint8Array(Buffer.from(hex, "hex"));
}

/**
 * Parses a watermark payload written as 16 hex digits (8 bytes).
 * @example parsePayloadHex("00000000000004d2") // Uint8Array [0,0,0,0,0,0,4,210]
 */
export function parsePayloadHex(hex: string): Uint8Array {
  const s = hex.trim();
  if (!new RegExp(`^[0-9a-fA-F]{${PAYLOAD_BYTES * 2}}$`).test(s)) {
    throw new Error(
      `watermark payload must be ${PAYLOAD_BYTES * 2} hex digits (${PAYLOAD_BYTES} bytes), got ${JSON.stringify(hex)}`,
    );
  }
  return new Uint8Array(Buffer.from(s, "hex"));
}
