import { createRoute, z } from "@hono/zod-openapi";
import { createEndpoint } from "../../webhooks/endpoints.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";
import { endpointFields, endpointJson, WebhookEndpoint, withDestinationCheck } from "./schemas.js";

export const createWebhookRoute = createRoute({
  method: "post",
  path: "/v1/webhooks",
  tags: ["Webhooks"],
  summary: "Register a webhook endpoint",
  description: [
    "Events (`upload.decided`, `upload.held`, `upload.failed`) are POSTed as JSON `{type, timestamp, data}` where `data` is the",
    "upload record, signed per the Standard Webhooks specification: headers `webhook-id`, `webhook-timestamp`,",
    "`webhook-signature` = `v1,` + base64 HMAC-SHA256 of `id.timestamp.body` keyed with the base64-decoded part of",
    "the secret after `whsec_`. Answer 2xx to acknowledge; anything else is retried with backoff",
    "(5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default). The secret is shown only in this response.",
    "The URL must be public: loopback, private and link-local destinations are refused (unless the operator set",
    "`EARMARK_WEBHOOK_ALLOW_PRIVATE=true`), here and again on the resolved address at every delivery.",
  ].join("\n"),
  security: [{ apiKey: [] }],
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: z
            .strictObject({
              url: endpointFields.url,
              events: endpointFields.events.optional(),
              description: endpointFields.description.optional(),
            })
            .openapi("WebhookEndpointInput"),
        },
      },
    },
  },
  responses: {
    201: {
      description: "Created. Keep the secret: it is not shown again.",
      content: {
        "application/json": {
          schema: WebhookEndpoint.extend({ secret: z.string() }).openapi("WebhookEndpointCreated"),
        },
      },
    },
    // 400: the body is not JSON; 415: it is not sent as application/json.
    ...problemResponses(400, 401, 415, 422, 429),
  },
});

export function registerCreateWebhook(app: App) {
  app.openapi(createWebhookRoute, async (c) => {
    const input = c.req.valid("json");
    const deps = c.get("deps");
    const row = await withDestinationCheck(() =>
      createEndpoint(deps.database.db, c.get("account").id, input, {
        allowPrivate: deps.config.webhooks.allowPrivate,
      }),
    );
    return c.json({ ...endpointJson(row), secret: row.secret }, 201);
  });
}
