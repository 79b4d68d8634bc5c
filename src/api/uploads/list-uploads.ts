import { createRoute, z } from "@hono/zod-openapi";
import { and, desc, eq, lt } from "drizzle-orm";
import { UPLOAD_STATUSES, uploads } from "../../db/schema/index.js";
import { ApiError } from "../../errors.js";
import { summarise } from "../../uploads/record.js";
import { type App, baseUrlOf } from "../context.js";
import { problemResponses } from "../problem.js";
import { isUploadId, UploadSummary } from "./schemas.js";

export const listUploadsRoute = createRoute({
  method: "get",
  path: "/v1/uploads",
  tags: ["Uploads"],
  summary: "List your uploads, newest first",
  description: "Cursor pagination: pass `nextCursor` back as `cursor` until it is null.",
  security: [{ apiKey: [] }],
  request: {
    query: z.object({
      status: z.enum(UPLOAD_STATUSES).optional(),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().optional().openapi({ description: "`nextCursor` of the previous page." }),
    }),
  },
  responses: {
    200: {
      description: "A page of uploads.",
      content: {
        "application/json": {
          schema: z
            .object({ data: z.array(UploadSummary), nextCursor: z.string().nullable() })
            .openapi("UploadPage"),
        },
      },
    },
    ...problemResponses(401, 422, 429),
  },
});

export function registerListUploads(app: App) {
  app.openapi(listUploadsRoute, async (c) => {
    const { status, limit, cursor } = c.req.valid("query");
    if (cursor !== undefined && !isUploadId(cursor))
      throw new ApiError("validation-failed", "The cursor is not one this API returned.", {
        errors: [{ pointer: "/query/cursor", detail: "use nextCursor from the previous page" }],
      });
    const db = c.get("deps").database.db;
    // Ids sort by creation time, so the id of the last row is the cursor.
    const rows = await db
      .select()
      .from(uploads)
      .where(
        and(
          eq(uploads.accountId, c.get("account").id),
          status ? eq(uploads.status, status) : undefined,
          cursor ? lt(uploads.id, cursor) : undefined,
        ),
      )
      .orderBy(desc(uploads.id))
      .limit(limit + 1);
    const page = rows.slice(0, limit);
    const nextCursor = rows.length > limit ? page[page.length - 1]!.id : null;
    return c.json({ data: await summarise(db, page, baseUrlOf(c)), nextCursor }, 200);
  });
}
