import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../errors.js";
import { findEndpoint, listDeliveries } from "../../webhooks/endpoints.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { deliveryJson, WebhookDelivery, webhookIdParam } from "./schemas.js";

export const listDeliveriesRoute = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  tags: ["Webhooks"],
  summary: "The delivery log of an endpoint, newest first",
  security: [{ apiKey: [] }],
  request: {
    params: webhookIdParam,
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      cursor: z.string().optional(),
    }),
  },
  responses: {
    200: {
      description: "Deliveries with every attempt.",
      content: {
        "application/json": {
          schema: z.object({ data: z.array(WebhookDelivery), nextCursor: z.string().nullable() }),
        },
      },
    },
    ...problemResponses(401, 404, 422, 429),
  },
});

export function registerListDeliveries(app: App) {
  app.openapi(listDeliveriesRoute, async (c) => {
    const { id } = c.req.valid("param");
    const { limit, cursor } = c.req.valid("query");
    const db = c.get("deps").database.db;
    if (!(await findEndpoint(db, c.get("account").id, id)))
      throw new ApiError("not-found", `No webhook endpoint ${id} exists for this account.`);
    const rows = await listDeliveries(db, id, { limit: limit + 1, before: cursor });
    const page = rows.slice(0, limit);
    return c.json(
      {
        data: page.map(deliveryJson),
        nextCursor: rows.length > limit ? page[page.length - 1]!.id : null,
      },
      200,
    );
  });
}
