import { createRoute, z } from "@hono/zod-openapi";
import { ApiError } from "../../errors.js";
import { updateEndpoint } from "../../webhooks/endpoints.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import {
  endpointFields,
  endpointJson,
  WebhookEndpoint,
  webhookIdParam,
  withDestinationCheck,
} from "./schemas.js";

export const updateWebhookRoute = createRoute({
  method: "patch",
  path: "/v1/webhooks/{id}",
  tags: ["Webhooks"],
  summary: "Change a webhook endpoint, or enable or disable it",
  description: [
    "Only the fields given change. `enabled: false` stops deliveries (pending ones fail unsent);",
    "`enabled: true` turns an endpoint back on, also one Earmark disabled after repeated failed deliveries.",
    "Failed deliveries can then be sent again with the retry operation.",
  ].join("\n"),
  security: [{ apiKey: [] }],
  request: {
    params: webhookIdParam,
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({
              url: endpointFields.url.optional(),
              events: endpointFields.events.optional(),
              description: endpointFields.description.nullable().optional(),
              enabled: z.boolean().optional(),
            })
            .openapi("WebhookEndpointPatch"),
        },
      },
    },
  },
  responses: {
    200: {
      description: "The endpoint as it is now.",
      content: { "application/json": { schema: WebhookEndpoint } },
    },
    ...problemResponses(400, 401, 404, 415, 422, 429),
  },
});

export function registerUpdateWebhook(app: App) {
  app.openapi(updateWebhookRoute, async (c) => {
    const { id } = c.req.valid("param");
    const patch = c.req.valid("json");
    const deps = c.get("deps");
    const row = await withDestinationCheck(() =>
      updateEndpoint(deps.database.db, c.get("account").id, id, patch, {
        allowPrivate: deps.config.webhooks.allowPrivate,
      }),
    );
    if (!row) throw new ApiError("not-found", `No webhook endpoint ${id} exists for this account.`);
    return c.json(endpointJson(row), 200);
  });
}
