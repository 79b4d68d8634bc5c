import { createRoute } from "@hono/zod-openapi";
import { AUDIO_FORMATS } from "../../audio/format.js";
import { ApiError } from "../../errors.js";
import { provenanceReadSchema } from "../../provenance/c2pa/read.js";
import { z } from "../../zod.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { findRendition } from "./get-rendition.js";
import { uploadIdParam } from "./schemas.js";

export const ManifestResponse = z
  .object({
    uploadId: z.string(),
    validation: provenanceReadSchema.describe(
      "The rendition's manifest validated now, against this server's trust anchors.",
    ),
    manifestStore: z
      .record(z.string(), z.unknown())
      .describe(
        "The manifest store as c2pa-rs reports it: `active_manifest`, `manifests` (Earmark's and, as `parentOf` ingredient, the upload's own), `validation_results`, `validation_state`.",
      ),
  })
  .openapi("ManifestStore");

export type ManifestResponse = z.infer<typeof ManifestResponse>;

export const getManifestRoute = createRoute({
  method: "get",
  path: "/v1/uploads/{id}/manifest",
  tags: ["Uploads"],
  summary: "Get the rendition's C2PA manifest store as JSON",
  description:
    "The Content Credentials embedded in the rendition (WAV, MP3, FLAC, M4A), read back from the file and validated. Renditions of Ogg and ADTS AAC uploads are FLAC and carry one too; only an Ogg rendition made by an older version has none (`404 no-manifest`). The same manifest store as a binary sidecar: `GET /v1/uploads/{id}/manifest.c2pa`.",
  security: [{ apiKey: [] }],
  request: { params: uploadIdParam },
  responses: {
    200: {
      description: "The manifest store.",
      content: { "application/json": { schema: ManifestResponse } },
    },
    ...problemResponses(401, 404, 409, 410, 429),
  },
});

export function registerGetManifest(app: App) {
  app.openapi(getManifestRoute, async (c) => {
    const { id } = c.req.valid("param");
    const deps = c.get("deps");
    const { rendition } = await findRendition(deps, c.get("account").id, id);
    const source = await deps.blobs.open(rendition.blobKey);
    if (!source) throw new Error(`rendition blob ${rendition.blobKey} is missing`);
    const format = AUDIO_FORMATS.find((f) => f === rendition.format);
    if (!format) throw new Error(`rendition ${rendition.blobKey} has an unknown format ${rendition.format}`);
    const { signal, store } = await deps.provenance.read(source, format);
    if (!store) {
      throw new ApiError(
        "no-manifest",
        signal.problem
          ? `The rendition carries no readable C2PA manifest: ${signal.problem.detail}.`
          : "The rendition carries no C2PA manifest.",
        { format: rendition.format },
      );
    }
    return c.json({ uploadId: id, validation: signal, manifestStore: store as Record<string, unknown> }, 200);
  });
}
