import { decodeAudio } from "../audio/decode/index.js";
import { encodeAudio, renditionTarget } from "../audio/encode.js";
import { openAudio } from "../audio/open.js";
import type { Db } from "../db/client.js";
import type { RenderStep } from "../pipeline/render.js";
import { WATERMARK_SOFT_BINDING } from "../provenance/c2pa/settings.js";
import { embedWatermark, WATERMARK_ALGORITHM } from "./index.js";
import type { Watermarking } from "./setup.js";
import { assignWatermark } from "./store.js";

/**
 * Embeds the upload's watermark id (assigned once per upload, see store.ts) into the rendition: decode,
 * embed, encode — streaming, in the upload's format where Earmark can write it, else FLAC (see
 * audio/encode.ts renditionTarget). Runs before C2PA signing, which names the mark as a soft binding.
 */
export function watermarkStep(
  watermarking: Pick<Watermarking, "key" | "newPayload">,
  db: Db,
  limits: { maxDurationS: number },
): RenderStep {
  return {
    name: "watermark",
    version: WATERMARK_ALGORITHM,
    async apply(input, ctx) {
      const probe = await openAudio(input.source, limits);
      const payload = await assignWatermark(db, input.upload, WATERMARK_ALGORITHM, watermarking.newPayload);
      const target = renditionTarget(probe);
      const marked = embedWatermark(decodeAudio(input.source, probe, limits), {
        key: watermarking.key,
        payload,
        signal: ctx.signal,
      });
      return {
        bytes: encodeAudio(marked, target),
        format: target.format,
        softBindings: [{ alg: WATERMARK_SOFT_BINDING, value: Buffer.from(payload).toString("base64") }],
      };
    },
  };
}
