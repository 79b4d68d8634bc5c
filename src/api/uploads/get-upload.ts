import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../errors.js";
import { loadUploadRecord } from "../../uploads/record.js";
import { type App, baseUrlOf } from "../context.js";
import { problemResponses } from "../problem.js";
import { isUploadId, UploadRecord, uploadIdParam } from "./schemas.js";

export const getUploadRoute = createRoute({
  method: "get",
  path: "/v1/uploads/{id}",
  tags: ["Uploads"],
  summary: "Get an upload: status, decision, signals, rendition",
  description:
    "`status` is `received`, `processing`, `held` (waiting for a reviewer), `decided` or `failed`. Each signal carries the version of the stage that produced it; `failure.code` says what to fix when the audio was unusable.",
  security: [{ apiKey: [] }],
  request: { params: uploadIdParam },
  responses: {
    200: { description: "The upload.", content: { "application/json": { schema: UploadRecord } } },
    ...problemResponses(401, 404, 429),
  },
});

export function registerGetUpload(app: App) {
  app.openapi(getUploadRoute, async (c) => {
    const { id } = c.req.valid("param");
    const record = isUploadId(id)
      ? await loadUploadRecord(c.get("deps").database.db, id, baseUrlOf(c), c.get("account").id)
      : null;
    // Another account's upload is indistinguishable from a missing one.
    if (!record) throw new ApiError("not-found", `No upload ${id} exists for this account.`);
    return c.json(record, 200);
  });
}
