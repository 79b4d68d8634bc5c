import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENTS, type WebhookEndpointRow } from "../../db/schema/index.js";

export const WebhookEndpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    description: z.string().nullable(),
    enabled: z.boolean(),
    createdAt: z.string(),
  })
  .openapi("WebhookEndpoint");

export const webhookIdParam = z.object({
  id: z.string().openapi({ param: { name: "id", in: "path" }, example: "whk_01JD3Q4Z8N6W0K2M5R7T9V1X3Y" }),
});

export function endpointJson(row: WebhookEndpointRow): z.infer<typeof WebhookEndpoint> {
  return {
    id: row.id,
    url: row.url,
    events: row.events,
    description: row.description,
    enabled: row.enabled,
    createdAt: row.createdAt.toISOString(),
  };
}
