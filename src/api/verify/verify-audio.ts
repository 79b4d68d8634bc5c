import { createRoute } from "@hono/zod-openapi";
import { bufferSource } from "../../audio/bytes.js";
import { ApiError, AudioInputError } from "../../errors.js";
import { fingerprintSignalSchema } from "../../pipeline/signals.js";
import { provenanceReadSchema } from "../../provenance/c2pa/read.js";
import { type VerifyResult, verifyAudio } from "../../provenance/verify.js";
import { z } from "../../zod.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { ManifestResponse } from "../uploads/get-manifest.js";

/** A fingerprint match as the signal has it, without the account: verify never says whose an upload is. */
const Match = fingerprintSignalSchema.shape.matches.element.omit({ accountId: true });

export const VerifyResponse = z
  .object({
    c2pa: provenanceReadSchema.describe(
      "The file's own C2PA manifest, validated against this server's trust anchors.",
    ),
    watermark: z
      .object({
        found: z
          .boolean()
          .describe("Earmark's watermark (this deployment's key) was decoded and passed its check."),
        payload: z.string().nullable().describe("The 64-bit watermark id, 16 hex digits."),
        confidence: z.number(),
        ranges: z
          .array(z.object({ startS: z.number(), endS: z.number() }))
          .describe("Where in the file the mark was decoded, in seconds."),
        speedRatio: z
          .number()
          .nullable()
          .describe("Estimated speed change: 1.02 means the file runs 2 % fast."),
      })
      .describe("Earmark's watermark in the file."),
    fingerprint: z.object({ algorithmVersion: z.string(), matches: z.array(Match).max(5) }),
    upload: z
      .object({
        uploadId: z.string(),
        foundBy: z
          .enum(["watermark", "fingerprint"])
          .describe(
            "watermark: the file carries this upload's watermark id; fingerprint: its fingerprint matched.",
          ),
        match: Match.nullable().describe("The fingerprint match with this upload, when there is one."),
        decision: z.object({
          action: z.enum(["allow", "label"]),
          labels: z.array(z.string()),
          decidedAt: z.string(),
        }),
        manifest: ManifestResponse.omit({ uploadId: true })
          .nullable()
          .describe(
            "The distributed rendition's signed manifest store, validated now (null if it carries none).",
          ),
      })
      .nullable()
      .describe(
        "The distributed Earmark upload this file is the same recording as — however re-encoded, cut or sped up — " +
          "with the credentials signed for it; null when it matches none.",
      ),
  })
  .openapi("VerifyResult");

export type VerifyResponse = z.infer<typeof VerifyResponse>;

export const verifyAudioRoute = createRoute({
  method: "post",
  path: "/v1/verify",
  tags: ["Verify"],
  summary: "Verify a file: its own Content Credentials, and the distributed upload it is",
  description:
    "The body is the audio file itself (any format uploads accept), at most `EARMARK_C2PA_MAX_BYTES`. Nothing is " +
    "stored. Returns the file's C2PA validation, Earmark's watermark if the file carries it, and, when the mark " +
    "or the fingerprint leads to an upload Earmark distributed (decided `allow` or `label`, not removed), that " +
    "upload's id, decision and signed manifest — so a copy whose manifest was stripped by a re-encode still " +
    "leads back to its credentials. " +
    "`fingerprint.matches` may name uploads of other accounts: by id only, never the account.",
  security: [{ apiKey: [] }],
  request: {
    body: {
      required: true,
      content: { "application/octet-stream": { schema: z.string().openapi({ format: "binary" }) } },
    },
  },
  responses: {
    200: { description: "The verification.", content: { "application/json": { schema: VerifyResponse } } },
    ...problemResponses(401, 413, 415, 422, 429),
  },
});

export function registerVerifyAudio(app: App) {
  app.openapi(verifyAudioRoute, async (c) => {
    const deps = c.get("deps");
    const max = deps.provenance.maxBytes;
    const tooLarge = (n: number) =>
      new ApiError("upload-too-large", `The file is ${n} bytes; files up to ${max} bytes are verified.`, {
        limitBytes: max,
      });
    const declared = Number(c.req.header("content-length") ?? Number.NaN);
    if (Number.isFinite(declared) && declared > max) throw tooLarge(declared);
    // Read with the cap applied as it arrives (a chunked body declares no length).
    const parts: Uint8Array[] = [];
    let size = 0;
    const body = c.req.raw.body;
    if (body) {
      for await (const part of body as unknown as AsyncIterable<Uint8Array>) {
        size += part.length;
        if (size > max) throw tooLarge(size);
        parts.push(part);
      }
    }
    const bytes = Buffer.concat(parts, size);
    if (bytes.length === 0)
      throw new ApiError("empty-upload", "The request body is empty; send the audio file.");
    let result: VerifyResult;
    try {
      result = await verifyAudio(deps, bufferSource(bytes));
    } catch (err) {
      // Not audio, truncated, corrupt: the same problems an upload of this file would get.
      if (err instanceof AudioInputError) throw err.toApiError();
      throw err;
    }
    return c.json(result as z.infer<typeof VerifyResponse>, 200);
  });
}
