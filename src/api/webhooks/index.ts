import type { App } from "../context.js";
import { registerCreateWebhook } from "./create-webhook.js";
import { registerDeleteWebhook } from "./delete-webhook.js";
import { registerListDeliveries } from "./list-deliveries.js";
import { registerListWebhooks } from "./list-webhooks.js";
import { registerRetryDelivery } from "./retry-delivery.js";
import { registerUpdateWebhook } from "./update-webhook.js";

export function registerWebhookRoutes(app: App) {
  registerCreateWebhook(app);
  registerListWebhooks(app);
  registerDeleteWebhook(app);
  registerListDeliveries(app);
  registerUpdateWebhook(app);
  registerRetryDelivery(app);
}
