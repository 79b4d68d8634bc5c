import { FINGERPRINT_ALGORITHM, fingerprintChunks } from "../../fingerprint/index.js";
import { signalMatch } from "../../fingerprint/store.js";
import type { Stage } from "../stage.js";

/** Matches shown in the signal, best first. */
const MAX_MATCHES = 5;

/**
 * Fingerprints the upload, matches it against every earlier upload in the index (any account), then adds
 * it to the index. Matching first means an upload never matches itself, also when a retry runs this again.
 */
export const fingerprintStage: Stage<"fingerprint"> = {
  name: "fingerprint",
  version: FINGERPRINT_ALGORITHM,
  async run({ upload, audio }, ctx) {
    const fp = await fingerprintChunks(audio.read());
    const matches = await ctx.catalogue.matchFingerprint(fp, { excludeUploadId: upload.id });
    await ctx.catalogue.storeFingerprint({ uploadId: upload.id, accountId: upload.accountId }, fp);
    return {
      algorithmVersion: FINGERPRINT_ALGORITHM,
      matches: matches.slice(0, MAX_MATCHES).map(signalMatch),
    };
  },
};
