import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../errors.js";
import { deleteEndpoint } from "../../webhooks/endpoints.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { webhookIdParam } from "./schemas.js";

export const deleteWebhookRoute = createRoute({
  method: "delete",
  path: "/v1/webhooks/{id}",
  tags: ["Webhooks"],
  summary: "Remove a webhook endpoint (and its delivery log)",
  security: [{ apiKey: [] }],
  request: { params: webhookIdParam },
  responses: { 204: { description: "Removed." }, ...problemResponses(401, 404, 429) },
});

export function registerDeleteWebhook(app: App) {
  app.openapi(deleteWebhookRoute, async (c) => {
    const { id } = c.req.valid("param");
    if (!(await deleteEndpoint(c.get("deps").database.db, c.get("account").id, id)))
      throw new ApiError("not-found", `No webhook endpoint ${id} exists for this account.`);
    return c.body(null, 204);
  });
}
