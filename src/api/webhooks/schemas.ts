import { z } from "@hono/zod-openapi";
import { WEBHOOK_EVENTS, type WebhookEndpointRow } from "../../db/schema/index.js";
import { ApiError } from "../../errors.js";
import { WebhookDestinationError } from "../../webhooks/destination.js";
import type { listDeliveries } from "../../webhooks/endpoints.js";

/** The fields an account sets on an endpoint, shared by registration and change. */
export const endpointFields = {
  url: z.url({ protocol: /^https?$/ }).max(2000),
  events: z.array(z.enum(WEBHOOK_EVENTS)).min(1),
  description: z.string().max(500),
};

/** Runs an endpoint write; a destination webhooks may not go to becomes a 422 pointing at the URL. */
export async function withDestinationCheck<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (err) {
    if (!(err instanceof WebhookDestinationError)) throw err;
    throw new ApiError("validation-failed", `This webhook URL is not allowed: ${err.message}`, {
      errors: [{ pointer: "/body/url", detail: err.message }],
    });
  }
}

export const WebhookEndpoint = z
  .object({
    id: z.string(),
    url: z.string(),
    events: z.array(z.enum(WEBHOOK_EVENTS)),
    description: z.string().nullable(),
    enabled: z.boolean(),
    disabledReason: z
      .string()
      .nullable()
      .describe("Why the endpoint is disabled: by its account, or after repeated failed deliveries."),
    disabledAt: z.string().nullable(),
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
    disabledReason: row.disabledReason,
    disabledAt: row.disabledAt?.toISOString() ?? null,
    createdAt: row.createdAt.toISOString(),
  };
}

export const WebhookDelivery = z
  .object({
    id: z.string(),
    eventId: z.string().describe("Sent as the `webhook-id` header; stable across retries."),
    eventType: z.enum(WEBHOOK_EVENTS),
    status: z.enum(["pending", "delivered", "failed"]),
    attempts: z.array(
      z.object({
        attempt: z.number().int(),
        at: z.string(),
        statusCode: z.number().int().nullable(),
        error: z.string().nullable(),
        durationMs: z.number(),
      }),
    ),
    createdAt: z.string(),
    deliveredAt: z.string().nullable(),
  })
  .openapi("WebhookDelivery");

export const deliveryIdParam = webhookIdParam.extend({
  deliveryId: z
    .string()
    .openapi({ param: { name: "deliveryId", in: "path" }, example: "dlv_01JD3Q4Z8N6W0K2M5R7T9V1X3Y" }),
});

export function deliveryJson(
  d: Awaited<ReturnType<typeof listDeliveries>>[number],
): z.infer<typeof WebhookDelivery> {
  return {
    id: d.id,
    eventId: d.eventId,
    eventType: d.eventType,
    status: d.status,
    attempts: d.attempts.map((a) => ({
      attempt: a.attempt,
      at: a.at.toISOString(),
      statusCode: a.statusCode,
      error: a.error,
      durationMs: a.durationMs,
    })),
    createdAt: d.createdAt.toISOString(),
    deliveredAt: d.deliveredAt?.toISOString() ?? null,
  };
}
