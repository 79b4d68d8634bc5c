import { eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema/index.js";
import { newId } from "../ids.js";
import { disableIfFailing } from "./endpoints.js";
import { signWebhook } from "./signing.js";

export class WebhookDeliveryError extends Error {
  override name = "WebhookDeliveryError";
}

/**
 * Sends one delivery attempt and logs it (attempts are numbered per delivery, across retries asked for by the
 * account). A 2xx answer marks the delivery delivered; anything else throws so the job queue retries it on
 * the endpoint's schedule. Re-running a delivered one does nothing; one to a disabled endpoint fails unsent.
 */
export async function deliverWebhook(
  db: Db,
  deliveryId: string,
  opts: { timeoutMs: number; fetch?: typeof fetch; signal?: AbortSignal },
): Promise<void> {
  const [row] = await db
    .select({ delivery: webhookDeliveries, endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, deliveryId));
  if (!row || row.delivery.status === "delivered") return;
  if (!row.endpoint.enabled) {
    await markDeliveryFailed(db, deliveryId);
    return;
  }
  const attempt = row.delivery.attempts + 1;
  const body = JSON.stringify(row.delivery.payload);
  const timestamp = Math.floor(Date.now() / 1000);
  const started = performance.now();
  let statusCode: number | null = null;
  let error: string | null = null;
  // Not `AbortSignal.any([AbortSignal.timeout(ms), …])`: nothing holds that timeout signal strongly, so a garbage
  // collection before it fires drops it (Node 20) and a receiver that never answers holds the worker forever.
  // The timer below owns its controller until it is cleared.
  const controller = new AbortController();
  const timer = setTimeout(
    () => controller.abort(new DOMException("The operation was aborted due to timeout", "TimeoutError")),
    opts.timeoutMs,
  );
  const onAbort = () => controller.abort(opts.signal?.reason);
  if (opts.signal?.aborted) onAbort();
  else opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const signal = controller.signal;
    const res = await (opts.fetch ?? fetch)(row.endpoint.url, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "user-agent": "Earmark-Webhooks/1",
        "webhook-id": row.delivery.eventId,
        "webhook-timestamp": String(timestamp),
        "webhook-signature": signWebhook(row.endpoint.secret, row.delivery.eventId, timestamp, body),
      },
      body,
      signal,
      redirect: "manual",
    });
    statusCode = res.status;
    await res.body?.cancel().catch(() => {});
    if (res.status < 200 || res.status >= 300) error = `endpoint answered HTTP ${res.status}`;
  } catch (err) {
    // fetch reports "fetch failed" and keeps the reason (refused, DNS, a private destination) in `cause`.
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
    error = err instanceof Error ? `${err.name}: ${err.message}${cause}` : String(err);
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
  const durationMs = performance.now() - started;
  await db.transaction(async (tx) => {
    await tx
      .insert(webhookAttempts)
      .values({ id: newId("wat"), deliveryId, attempt, statusCode, error, durationMs });
    await tx
      .update(webhookDeliveries)
      .set({
        attempts: attempt,
        ...(error ? {} : { status: "delivered" as const, deliveredAt: sql`now()` }),
      })
      .where(eq(webhookDeliveries.id, deliveryId));
  });
  if (error) throw new WebhookDeliveryError(error);
}

async function markDeliveryFailed(db: Db, deliveryId: string): Promise<void> {
  await db.update(webhookDeliveries).set({ status: "failed" }).where(eq(webhookDeliveries.id, deliveryId));
}

/**
 * The retry schedule is exhausted: the delivery is failed, and its endpoint disabled when its last
 * `disableAfter` deliveries all failed (see disableIfFailing).
 */
export async function giveUpDelivery(
  db: Db,
  deliveryId: string,
  opts: { disableAfter: number },
): Promise<{ disabledEndpoint: string | null }> {
  const [row] = await db
    .update(webhookDeliveries)
    .set({ status: "failed" })
    .where(eq(webhookDeliveries.id, deliveryId))
    .returning({ endpointId: webhookDeliveries.endpointId });
  if (!row) return { disabledEndpoint: null };
  return {
    disabledEndpoint: (await disableIfFailing(db, row.endpointId, opts.disableAfter)) ? row.endpointId : null,
  };
}
