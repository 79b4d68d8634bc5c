import { WATERMARK_ALGORITHM } from "../../watermark/index.js";
import type { Stage } from "../stage.js";

/**
 * Looks for Earmark's own watermark in the upload — audio Earmark distributed before, however re-encoded, cut
 * or sped up — and links its payload to the upload and account it was embedded for, so the policy can tell a
 * re-release by the same account from a re-upload of someone else's.
 */
export const watermarkStage: Stage<"watermark"> = {
  name: "watermark",
  version: WATERMARK_ALGORITHM,
  async run({ audio }, ctx) {
    const found = await ctx.watermarks.detect(audio.read(), ctx.signal);
    if (!found.found || !found.payload) {
      return {
        found: false,
        payload: null,
        linkedUploadId: null,
        linkedAccountId: null,
        confidence: found.confidence,
      };
    }
    const link = await ctx.watermarks.link(found.payload);
    return {
      found: true,
      payload: Buffer.from(found.payload).toString("hex"),
      linkedUploadId: link?.uploadId ?? null,
      linkedAccountId: link?.accountId ?? null,
      confidence: found.confidence,
    };
  },
};
