import { createRoute } from "@hono/zod-openapi";
import { and, eq } from "drizzle-orm";
import type { ByteSource } from "../../audio/bytes.js";
import { renditions, uploads } from "../../db/schema/index.js";
import type { Deps } from "../../deps.js";
import { ApiError } from "../../errors.js";
import { rangedBody } from "../byte-range.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { isUploadId, uploadIdParam } from "./schemas.js";

const EXTENSIONS: Record<string, string> = {
  wav: "wav",
  mp3: "mp3",
  flac: "flac",
  "ogg-vorbis": "ogg",
  "ogg-opus": "opus",
  m4a: "m4a",
  aac: "aac",
};

export const getRenditionRoute = createRoute({
  method: "get",
  path: "/v1/uploads/{id}/rendition",
  tags: ["Uploads"],
  summary: "Download the distributed audio",
  description:
    "The rendition exists once the upload is decided `allow` or `label`, until the upload is removed (then `410 upload-removed`). Supports `Range` requests and `If-None-Match` (the ETag is the SHA-256 of the file).",
  security: [{ apiKey: [] }],
  request: { params: uploadIdParam },
  responses: {
    200: {
      description: "The whole file.",
      content: { "audio/*": { schema: { type: "string", format: "binary" } } },
    },
    206: {
      description: "The requested byte range.",
      content: { "audio/*": { schema: { type: "string", format: "binary" } } },
    },
    304: { description: "Not modified (ETag matched)." },
    ...problemResponses(401, 404, 409, 410, 416, 429),
  },
});

/**
 * The account's upload with its rendition, or the problem that says why there is none (404 for another
 * account's upload, 410 once removed, 409 while waiting or when it will never have one).
 */
export async function findRendition(deps: Deps, accountId: string, id: string) {
  const [row] = isUploadId(id)
    ? await deps.database.db
        .select({ upload: uploads, rendition: renditions })
        .from(uploads)
        .leftJoin(renditions, eq(renditions.uploadId, uploads.id))
        .where(and(eq(uploads.id, id), eq(uploads.accountId, accountId)))
    : [];
  if (!row) throw new ApiError("not-found", `No upload ${id} exists for this account.`);
  // Checked before the rendition row: the audio of a removed upload is gone whatever is left.
  if (row.upload.status === "removed")
    throw new ApiError("upload-removed", "The upload was removed; its audio is no longer available.", {
      uploadStatus: "removed",
    });
  const r = row.rendition;
  if (!r) {
    const status = row.upload.status;
    if (status === "received" || status === "processing" || status === "held")
      throw new ApiError(
        "rendition-not-ready",
        status === "held"
          ? "The upload is waiting for a reviewer; the rendition is made if it is approved."
          : `The upload is still ${status}; the rendition is made once it is decided.`,
        { uploadStatus: status, headers: status === "held" ? {} : { "retry-after": "5" } },
      );
    throw new ApiError(
      "no-rendition",
      `The upload was ${status === "failed" ? "failed" : "not allowed"}, so it has no rendition.`,
      { uploadStatus: status },
    );
  }
  return { upload: row.upload, rendition: r };
}

export function registerGetRendition(app: App) {
  app.openapi(getRenditionRoute, async (c) => {
    const { id } = c.req.valid("param");
    const deps = c.get("deps");
    const { upload, rendition: r } = await findRendition(deps, c.get("account").id, id);
    const etag = `"${r.sha256}"`;
    if (c.req.header("if-none-match") === etag) return c.body(null, 304, { etag });
    const source: ByteSource | null = await deps.blobs.open(r.blobKey);
    if (!source) throw new Error(`rendition blob ${r.blobKey} is missing`);
    const title = upload.metadata.title?.replace(/[^\w .()-]+/g, "_").slice(0, 100) || upload.id;
    const headers: Record<string, string> = {
      "content-type": r.contentType,
      etag,
      "accept-ranges": "bytes",
      "content-disposition": `attachment; filename="${title}.${EXTENSIONS[r.format] ?? "bin"}"`,
    };
    const out = rangedBody(source, c.req.header("range"), headers);
    if (out === "invalid")
      throw new ApiError("range-not-satisfiable", `The file has ${source.size} bytes.`, {
        headers: { "content-range": `bytes */${source.size}` },
      });
    return c.body(out.body, out.status, out.headers);
  });
}
