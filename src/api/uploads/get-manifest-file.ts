import { createHash } from "node:crypto";
import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../errors.js";
import { renditionManifestKey } from "../../pipeline/render.js";
import { readAll } from "../../provenance/service.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { findRendition } from "./get-rendition.js";
import { uploadIdParam } from "./schemas.js";

export const getManifestFileRoute = createRoute({
  method: "get",
  path: "/v1/uploads/{id}/manifest.c2pa",
  tags: ["Uploads"],
  summary: "Download the rendition's C2PA manifest store as a sidecar file",
  description:
    "The C2PA manifest store (JUMBF, `application/c2pa`) embedded in the rendition, byte for byte, as a sidecar: for " +
    "keeping the credentials next to a copy whose container drops them. It validates against the rendition's audio " +
    "(the data hash covers the rendition as served). Every rendition Earmark signs has one; renditions made before " +
    "sidecars were kept answer `404 no-manifest`.",
  security: [{ apiKey: [] }],
  request: { params: uploadIdParam },
  responses: {
    200: {
      description: "The manifest store.",
      content: { "application/c2pa": { schema: { type: "string", format: "binary" } } },
    },
    304: { description: "Not modified (ETag matched)." },
    ...problemResponses(401, 404, 409, 410, 429),
  },
});

export function registerGetManifestFile(app: App) {
  app.openapi(getManifestFileRoute, async (c) => {
    const { id } = c.req.valid("param");
    const deps = c.get("deps");
    const { upload } = await findRendition(deps, c.get("account").id, id);
    const source = await deps.blobs.open(renditionManifestKey(upload.id));
    if (!source) throw new ApiError("no-manifest", "The rendition has no C2PA sidecar manifest.", {});
    const bytes = await readAll(source);
    const etag = `"${createHash("sha256").update(bytes).digest("hex")}"`;
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
    return c.body(new Uint8Array(bytes), 200, {
      "content-type": "application/c2pa",
      etag,
      "content-disposition": `attachment; filename="${upload.id}.c2pa"`,
    });
  });
}
