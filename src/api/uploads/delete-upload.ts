import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../errors.js";
import { MAX_REASON_LENGTH, removeUpload } from "../../uploads/remove.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { isUploadId, uploadIdParam } from "./schemas.js";

const reason = z.string().trim().min(1).max(MAX_REASON_LENGTH).openapi({
  description: "Why the upload is taken down; kept with the upload's decisions.",
  example: "Released by mistake.",
});

const DEFAULT_REASON = "Removed by the account.";

export const deleteUploadRoute = createRoute({
  method: "delete",
  path: "/v1/uploads/{id}",
  tags: ["Uploads"],
  summary: "Take an upload down: its audio is deleted, its record stays",
  description: [
    "The original audio and the rendition are deleted and the recording leaves the fingerprint index; the",
    "upload, its signals and its decisions stay, with `status: removed` and a takedown decision (`reject`,",
    "reason `takedown`) appended. Its rendition then answers `410 upload-removed`.",
    "Possible once the upload is `decided`, `held` or `failed`; while it is `received` or `processing` the",
    "answer is `409 upload-in-progress` (try again once it is decided). Removing a removed upload answers",
    "`204` again. `reason` may come in a JSON body or the query (the body wins).",
  ].join("\n"),
  security: [{ apiKey: [] }],
  request: {
    params: uploadIdParam,
    query: z.object({ reason: reason.optional() }),
    body: {
      required: false,
      content: {
        "application/json": {
          schema: z.strictObject({ reason: reason.optional() }).openapi("UploadRemoval"),
        },
      },
    },
  },
  responses: {
    204: { description: "Removed (or removed already)." },
    ...problemResponses(400, 401, 404, 409, 415, 422, 429),
  },
});

export function registerDeleteUpload(app: App) {
  app.openapi(deleteUploadRoute, async (c) => {
    const { id } = c.req.valid("param");
    const body = c.req.valid("json");
    const query = c.req.valid("query");
    const account = c.get("account");
    const result = isUploadId(id)
      ? await removeUpload(c.get("deps"), id, {
          accountId: account.id,
          reason: body.reason ?? query.reason ?? DEFAULT_REASON,
          by: `account:${account.id}`,
        })
      : ({ outcome: "not-found" } as const);
    switch (result.outcome) {
      // Another account's upload is indistinguishable from a missing one.
      case "not-found":
        throw new ApiError("not-found", `No upload ${id} exists for this account.`);
      case "in-progress":
        throw new ApiError(
          "upload-in-progress",
          `The upload is still ${result.status}; it can be removed once it is decided.`,
          { uploadStatus: result.status, headers: { "retry-after": "5" } },
        );
      // Idempotent: a repeated DELETE (a retry after a lost answer) succeeds like the first.
      case "removed":
      case "already-removed":
        return c.body(null, 204);
    }
  });
}
