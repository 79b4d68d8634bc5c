import { createRoute } from "@hono/zod-openapi";
import { ApiError } from "../../errors.js";
import { deliveryAttempts, findEndpoint, listDeliveries, retryDelivery } from "../../webhooks/endpoints.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { deliveryIdParam, deliveryJson, WebhookDelivery } from "./schemas.js";

export const retryDeliveryRoute = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/deliveries/{deliveryId}/retry",
  tags: ["Webhooks"],
  summary: "Send a delivery again",
  description: [
    "For a delivery that failed (or one your receiver lost): it becomes `pending` and is sent again on the",
    "usual retry schedule, with the same `webhook-id` so your receiver can still deduplicate. The endpoint",
    "must be enabled; a delivery still pending answers 409.",
  ].join("\n"),
  security: [{ apiKey: [] }],
  request: { params: deliveryIdParam },
  responses: {
    202: {
      description: "Queued to be sent again.",
      content: { "application/json": { schema: WebhookDelivery } },
    },
    ...problemResponses(401, 404, 409, 429),
  },
});

export function registerRetryDelivery(app: App) {
  app.openapi(retryDeliveryRoute, async (c) => {
    const { id, deliveryId } = c.req.valid("param");
    const deps = c.get("deps");
    const db = deps.database.db;
    const endpoint = await findEndpoint(db, c.get("account").id, id);
    if (!endpoint) throw new ApiError("not-found", `No webhook endpoint ${id} exists for this account.`);
    if (!endpoint.enabled)
      throw new ApiError(
        "conflict",
        `The endpoint ${id} is disabled (${endpoint.disabledReason ?? "no reason recorded"}); enable it first with PATCH {"enabled": true}.`,
      );
    const outcome = await retryDelivery(db, id, deliveryId, {
      maxAttempts: deliveryAttempts(deps.config),
    });
    if (outcome === "not-found")
      throw new ApiError("not-found", `The endpoint ${id} has no delivery ${deliveryId}.`);
    if (outcome === "pending")
      throw new ApiError(
        "conflict",
        `The delivery ${deliveryId} is still pending: it is being sent already.`,
      );
    const [delivery] = await listDeliveries(db, id, { only: deliveryId, limit: 1 });
    return c.json(deliveryJson(delivery!), 202);
  });
}
