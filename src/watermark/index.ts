/**
 * Earmark's audio watermark: a 64-bit payload embedded inaudibly into every rendition and detected
 * blind, robust to lossy coding, cutting, filtering and speed, tempo and pitch changes.
 * Design and measured results: docs/adr/0010-watermark.md.
 */
export { PAYLOAD_BYTES } from "./code.js";
export { detectWatermark, type WatermarkDetection } from "./detect.js";
export { embedWatermark } from "./embed.js";
export { loadOrCreateWatermarkKey, parsePayloadHex } from "./key.js";

/** Identifies the embedding scheme; bump when marks written by an older version would not detect. */
export const WATERMARK_ALGORITHM = "earmark-wm-2";
