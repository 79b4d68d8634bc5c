import { and, desc, eq, inArray, lt, ne, sql } from "drizzle-orm";
import type { Config } from "../config.js";
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

/** Attempts a delivery gets: the first, then one per delay of `EARMARK_WEBHOOK_RETRY`. */
export function deliveryAttempts(config: Pick<Config, "webhooks">): number {
  return config.webhooks.retryScheduleS.length + 1;
}

function assertDestination(url: string, opts: { allowPrivate: boolean }): void {
  const problem = webhookUrlProblem(url, opts);
  if (problem)
    throw new WebhookDestinationError(
      `${url} ${problem}${opts.allowPrivate ? "" : " (EARMARK_WEBHOOK_ALLOW_PRIVATE=true allows private ones)"}.`,
    );
}

/** Registers an endpoint. Throws WebhookDestinationError for a URL webhooks may not go to. */
export async function createEndpoint(
  db: Db,
  accountId: string,
  input: { url: string; events?: WebhookEventType[]; description?: string | null },
  opts: { allowPrivate: boolean },
) {
  assertDestination(input.url, opts);
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

/** An endpoint by id, whatever its account (operator commands), or null. */
export async function endpointById(db: Db, id: string) {
  const [row] = await db.select().from(webhookEndpoints).where(eq(webhookEndpoints.id, id));
  return row ?? null;
}

/** The endpoint a delivery belongs to, or null when there is no such delivery. */
export async function endpointOfDelivery(db: Db, deliveryId: string) {
  const [row] = await db
    .select({ endpoint: webhookEndpoints })
    .from(webhookDeliveries)
    .innerJoin(webhookEndpoints, eq(webhookEndpoints.id, webhookDeliveries.endpointId))
    .where(eq(webhookDeliveries.id, deliveryId));
  return row?.endpoint ?? null;
}

export async function deleteEndpoint(db: Db, accountId: string, id: string): Promise<boolean> {
  const rows = await db
    .delete(webhookEndpoints)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId)))
    .returning({ id: webhookEndpoints.id });
  return rows.length > 0;
}

/**
 * Changes an endpoint. Enabling it clears why it was disabled; disabling it records that its account did.
 * Returns null when the account has no such endpoint; throws WebhookDestinationError for a URL not allowed.
 */
export async function updateEndpoint(
  db: Db,
  accountId: string,
  id: string,
  patch: { url?: string; events?: WebhookEventType[]; description?: string | null; enabled?: boolean },
  opts: { allowPrivate: boolean },
) {
  if (patch.url !== undefined) assertDestination(patch.url, opts);
  const changes = {
    ...(patch.url !== undefined ? { url: patch.url } : {}),
    ...(patch.events !== undefined ? { events: patch.events } : {}),
    ...(patch.description !== undefined ? { description: patch.description } : {}),
    ...(patch.enabled === true ? { enabled: true, disabledReason: null, disabledAt: null } : {}),
    ...(patch.enabled === false
      ? { enabled: false, disabledReason: "disabled by the account", disabledAt: sql`now()` }
      : {}),
  };
  if (Object.keys(changes).length === 0) return findEndpoint(db, accountId, id);
  const [row] = await db
    .update(webhookEndpoints)
    .set(changes)
    .where(and(eq(webhookEndpoints.id, id), eq(webhookEndpoints.accountId, accountId)))
    .returning();
  return row ?? null;
}

/**
 * Sends a delivery again (a failed one, or a delivered one the receiver lost): it becomes pending with a new
 * job, keeping its event id, so the receiver can still deduplicate. Its attempts continue the same log.
 */
export async function retryDelivery(
  db: Db,
  endpointId: string,
  deliveryId: string,
  opts: { maxAttempts: number },
): Promise<"retrying" | "pending" | "not-found"> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .select({ status: webhookDeliveries.status })
      .from(webhookDeliveries)
      .where(and(eq(webhookDeliveries.id, deliveryId), eq(webhookDeliveries.endpointId, endpointId)))
      .for("update");
    if (!row) return "not-found";
    if (row.status === "pending") return "pending";
    await tx
      .update(webhookDeliveries)
      .set({ status: "pending", deliveredAt: null })
      .where(eq(webhookDeliveries.id, deliveryId));
    await enqueueJob(tx, "deliver-webhook", { deliveryId }, { maxAttempts: opts.maxAttempts });
    return "retrying";
  });
}

/**
 * Disables an endpoint whose last `after` deliveries all failed (each after the whole retry schedule), so a
 * receiver that is gone for good stops costing attempts. Returns whether it did. `after` 0: never.
 */
export async function disableIfFailing(db: Db, endpointId: string, after: number): Promise<boolean> {
  if (after <= 0) return false;
  const recent = await db
    .select({ status: webhookDeliveries.status })
    .from(webhookDeliveries)
    .where(and(eq(webhookDeliveries.endpointId, endpointId), ne(webhookDeliveries.status, "pending")))
    .orderBy(desc(webhookDeliveries.id))
    .limit(after);
  if (recent.length < after || recent.some((d) => d.status !== "failed")) return false;
  const disabled = await db
    .update(webhookEndpoints)
    .set({
      enabled: false,
      disabledReason: `the last ${after} deliveries failed after every retry`,
      disabledAt: sql`now()`,
    })
    .where(and(eq(webhookEndpoints.id, endpointId), eq(webhookEndpoints.enabled, true)))
    .returning({ id: webhookEndpoints.id });
  return disabled.length > 0;
}

/** A page of an endpoint's deliveries, newest first, each with its attempts — the delivery log. */
export async function listDeliveries(
  db: Db,
  endpointId: string,
  opts: { limit: number; before?: string; only?: string },
) {
  const where = and(
    eq(webhookDeliveries.endpointId, endpointId),
    opts.before ? lt(webhookDeliveries.id, opts.before) : undefined,
    opts.only ? eq(webhookDeliveries.id, opts.only) : undefined,
  );
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
