import { and, desc, eq, inArray, lt } from "drizzle-orm";
import type { Db, Tx } from "../db/client.js";
import {
  WEBHOOK_EVENTS,
  type WebhookEventType,
  webhookAttempts,
  webhookDeliveries,
  webhookEndpoints,
} from "../db/schema/index.js";
import { newId } from "../ids.js";
import { enqueueJob } from "../jobs/queue.js";
import { WebhookDestinationError, webhookUrlProblem } from "./destination.js";
import { newWebhookSecret } from "./signing.js";

/** Registers an endpoint. Throws WebhookDestinationError for a URL webhooks may not go to. */
export async function createEndpoint(
  db: Db,
  accountId: string,
  input: { url: string; events?: WebhookEventType[]; description?: string | null },
  opts: { allowPrivate: boolean },
) {
  const problem = webhookUrlProblem(input.url, opts);
  if (problem)
    throw new WebhookDestinationError(
      `${input.url} ${problem}${opts.allowPrivate ? "" : " (EARMARK_WEBHOOK_ALLOW_PRIVATE=true allows private ones)"}.`,
    );
  const secret = newWebhookSecret();
  const [row] = await db
    .insert(webhookEndpoints)
    .values({
      id: newId("whk"),
      accountId,
      url: input.url,
      secret,
      events: input.events ?? [...WEBHOOK_EVENTS],
      description: input.description ?? null,
    })
    .returning();
  return row!;
}

export async function listEndpoints(db: Db, accountId: string) {
  return db
    .select()
    .from(webhookEndpoints)
    .where(eq(webhookEndpoints.accountId, accountId))
    .orderBy(webhookEndpoints.id);
}

export async function findEndpoint(db: Db, accountId: string, id: string) {
  const [row] = await db
    .select()
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId)));
  return row ?? null;
}

export async function deleteEndpoint(db: Db, accountId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/** A page of an endpoint's deliveries, newest first, each with its attempts — the delivery log. */
export async function listDeliveries(db: Db, endpointId: string, opts: { limit: number; before?: string }) {
  const where = opts.before
    ? and(eq(webhookDeliveries.endpointId, endpointId), lt(webhookDeliveries.id, opts.before))
    : eq(webhookDeliveries.endpointId, endpointId);
  const rows = await db
    .select()
    .from(webhookDeliveries)
    .where(where)
    .orderBy(desc(webhookDeliveries.id))
    .limit(opts.limit);
  const attempts = rows.length
    ? await db
        .select()
        .from(webhookAttempts)
        .where(
          inArray(
            webhookAttempts.deliveryId,
            rows.map((r) => r.id),
          ),
        )
        .orderBy(webhookAttempts.attempt)
    : [];
  return rows.map((r) => ({ ...r, attempts: attempts.filter((a) => a.deliveryId === r.id) }));
}

/**
 * Records an event for every enabled endpoint of the account that subscribed to it, and queues a delivery job
 * for each — inside the caller's transaction, so the event exists exactly when the state change does.
 */
export async function emitEvent(
  tx: Tx | Db,
  accountId: string,
  type: WebhookEventType,
  data: Record<string, unknown>,
  opts: { maxAttempts: number },
): Promise<number> {
  const endpoints = await tx
    .select({ id: webhookEndpoints.id, events: webhookEndpoints.events })
    .from(webhookEndpoints)
    .where(and(eq(webhookEndpoints.accountId, accountId), eq(webhookEndpoints.enabled, true)));
  const eventId = newId("evt");
  const payload = { type, timestamp: new Date().toISOString(), data };
  let n = 0;
  for (const ep of endpoints) {
    if (!ep.events.includes(type)) continue;
    const deliveryId = newId("dlv");
    await tx
      .insert(webhookDeliveries)
      .values({ id: deliveryId, endpointId: ep.id, eventId, eventType: type, payload });
    await enqueueJob(tx, "deliver-webhook", { deliveryId }, { maxAttempts: opts.maxAttempts });
    n++;
  }
  return n;
}
