import { createRoute, z } from "@hono/zod-openapi";
import { listEndpoints } from "../../webhooks/endpoints.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { endpointJson, WebhookEndpoint } from "./schemas.js";

export const listWebhooksRoute = createRoute({
  method: "get",
  path: "/v1/webhooks",
  tags: ["Webhooks"],
  summary: "List your webhook endpoints",
  security: [{ apiKey: [] }],
  responses: {
    200: {
      description: "Endpoints (secrets are not shown).",
      content: { "application/json": { schema: z.object({ data: z.array(WebhookEndpoint) }) } },
    },
    ...problemResponses(401, 429),
  },
});

export function registerListWebhooks(app: App) {
  app.openapi(listWebhooksRoute, async (c) => {
    const rows = await listEndpoints(c.get("deps").database.db, c.get("account").id);
    return c.json({ data: rows.map(endpointJson) }, 200);
  });
}
