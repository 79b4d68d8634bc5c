import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import v8 from "node:v8";
import vm from "node:vm";
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { eventually } from "../../test/harness/http.js";
import { loadConfig } from "../config.js";
import { jobs, webhookAttempts, webhookDeliveries, webhookEndpoints } from "../db/schema/index.js";
import type { Deps } from "../deps.js";
import { jobKinds } from "../jobs/kinds.js";
import { deliverWebhook, giveUpDelivery, WebhookDeliveryError } from "./deliver.js";
import { createEndpoint, emitEvent, retryDelivery, updateEndpoint } from "./endpoints.js";
import { verifyWebhook } from "./signing.js";

interface Hit {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** What the receiver does with its n-th request (1-based): answer with a status, or never answer. */
type Reply = number | "hang";

/** A real HTTP receiver on a free local port that records every request it gets. */
async function startReceiver(reply: (n: number, hit: Hit) => Reply = () => 200) {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const hit = {
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      };
      hits.push(hit);
      const r = reply(hits.length, hit);
      if (r === "hang") return;
      if (r >= 300 && r < 400) res.writeHead(r, { location: "/elsewhere" }).end();
      else res.writeHead(r, { "content-type": "text/plain" }).end(`status ${r}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/earmark?tenant=a`,
    port,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe.each(DRIVERS)("delivering one webhook attempt (%s)", (driver) => {
  let t: TestContext;
  let deps: Deps;
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];
  /**
   * Attempts that are not about timing out get a generous timeout: on a loaded machine a local round trip can take
   * longer than the configured 0.5 s, and a spurious timeout would be a second, unexpected request.
   */
  const opts = (timeoutMs = 10_000) => ({ timeoutMs, fetch: deps.fetch });
  const configured = () => deps.config.webhooks.timeoutMs;

  beforeAll(async () => {
    t = await createTestContext(driver, {
      env: { EARMARK_WEBHOOK_RETRY: "0.05s,0.05s", EARMARK_WEBHOOK_TIMEOUT: "0.5s" },
    });
    deps = t.deps;
  });
  afterAll(async () => {
    await Promise.all(receivers.map((r) => r.close()));
    await t?.close();
  });

  async function receiver(reply?: (n: number, hit: Hit) => Reply) {
    const r = await startReceiver(reply);
    receivers.push(r);
    return r;
  }

  /** An endpoint of a new account and one queued delivery to it; returns the delivery row. */
  async function pendingDelivery(url: string, data: Record<string, unknown> = { id: "upl_x", n: 1 }) {
    const account = await t.account();
    const endpoint = await createEndpoint(deps.database.db, account.id, { url }, { allowPrivate: true });
    const n = await emitEvent(deps.database.db, account.id, "upload.decided", data, { maxAttempts: 3 });
    expect(n).toBe(1);
    const [delivery] = await deps.database.db
      .select()
      .from(webhookDeliveries)
      .where(eq(webhookDeliveries.endpointId, endpoint.id));
    return { endpoint, delivery: delivery!, account };
  }

  async function state(deliveryId: string) {
    const db = deps.database.db;
    const [delivery] = await db.select().from(webhookDeliveries).where(eq(webhookDeliveries.id, deliveryId));
    const attempts = await db
      .select()
      .from(webhookAttempts)
      .where(eq(webhookAttempts.deliveryId, deliveryId))
      .orderBy(webhookAttempts.attempt);
    return { delivery: delivery!, attempts };
  }

  it("POSTs the event signed per Standard Webhooks and logs a delivered attempt", async () => {
    const rx = await receiver();
    const data = { id: "upl_1", title: "Ünïcødé ♫", nested: { a: [1, 2, 3] } };
    const { endpoint, delivery } = await pendingDelivery(rx.url, data);
    await deliverWebhook(deps.database.db, delivery.id, opts());

    expect(rx.hits).toHaveLength(1);
    const hit = rx.hits[0]!;
    expect(hit.method).toBe("POST");
    expect(hit.path).toBe("/hooks/earmark?tenant=a");
    expect(hit.headers["content-type"]).toBe("application/json");
    expect(hit.headers["webhook-id"]).toBe(delivery.eventId);
    expect(hit.headers["webhook-id"]).toMatch(/^evt_/);
    const headers = {
      id: String(hit.headers["webhook-id"]),
      timestamp: String(hit.headers["webhook-timestamp"]),
      signature: String(hit.headers["webhook-signature"]),
    };
    expect(headers.timestamp).toMatch(/^\d{10}$/);
    expect(verifyWebhook(endpoint.secret, headers, hit.body)).toBe(true);
    // The signature covers the body byte for byte.
    expect(verifyWebhook(endpoint.secret, headers, hit.body.replace("upl_1", "upl_2"))).toBe(false);
    const body = JSON.parse(hit.body);
    expect(body).toEqual({ type: "upload.decided", timestamp: expect.any(String), data });
    expect(new Date(body.timestamp).toISOString()).toBe(body.timestamp);

    const after = await state(delivery.id);
    expect(after.delivery).toMatchObject({ status: "delivered", attempts: 1 });
    expect(after.delivery.deliveredAt).toBeInstanceOf(Date);
    expect(after.attempts).toHaveLength(1);
    expect(after.attempts[0]).toMatchObject({ attempt: 1, statusCode: 200, error: null });
    expect(after.attempts[0]!.durationMs).toBeGreaterThanOrEqual(0);
  });

  it("fails a delivery to an endpoint disabled after it was queued, without sending it", async () => {
    const rx = await receiver();
    const { endpoint, delivery, account } = await pendingDelivery(rx.url);
    await updateEndpoint(
      deps.database.db,
      account.id,
      endpoint.id,
      { enabled: false },
      { allowPrivate: true },
    );
    await deliverWebhook(deps.database.db, delivery.id, opts());
    expect(rx.hits).toHaveLength(0);
    const s = await state(delivery.id);
    expect(s.delivery.status).toBe("failed");
    expect(s.attempts).toHaveLength(0);
  });

  it("sends a failed or delivered delivery again on request, but not one still pending", async () => {
    const rx = await receiver((n) => (n === 1 ? 500 : 204));
    const { endpoint, delivery } = await pendingDelivery(rx.url);
    const db = deps.database.db;
    expect(await retryDelivery(db, endpoint.id, delivery.id, { maxAttempts: 3 })).toBe("pending");
    await expect(deliverWebhook(db, delivery.id, opts())).rejects.toThrow(/500/);
    await giveUpDelivery(db, delivery.id, { disableAfter: 0 });
    expect((await state(delivery.id)).delivery.status).toBe("failed");
    expect(await retryDelivery(db, endpoint.id, delivery.id, { maxAttempts: 3 })).toBe("retrying");
    expect((await state(delivery.id)).delivery.status).toBe("pending");
    await deliverWebhook(db, delivery.id, opts());
    const s = await state(delivery.id);
    expect(s.delivery.status).toBe("delivered");
    expect(s.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 204],
    ]);
    expect(await retryDelivery(db, endpoint.id, delivery.id, { maxAttempts: 3 })).toBe("retrying");
    expect(await retryDelivery(db, "whk_other", delivery.id, { maxAttempts: 3 })).toBe("not-found");
  });

  it("does not send a delivered event again when its job runs twice", async () => {
    const rx = await receiver();
    const { delivery } = await pendingDelivery(rx.url);
    await deliverWebhook(deps.database.db, delivery.id, opts());
    await deliverWebhook(deps.database.db, delivery.id, opts());
    expect(rx.hits).toHaveLength(1);
    expect((await state(delivery.id)).attempts).toHaveLength(1);
  });

  it("logs a non-2xx answer and throws so the queue retries it", async () => {
    const rx = await receiver((n) => (n === 1 ? 503 : 204));
    const { endpoint, delivery } = await pendingDelivery(rx.url);
    const first = deliverWebhook(deps.database.db, delivery.id, opts());
    await expect(first).rejects.toBeInstanceOf(WebhookDeliveryError);
    await expect(first).rejects.toThrow(/503/);
    let s = await state(delivery.id);
    expect(s.delivery).toMatchObject({ status: "pending", attempts: 1, deliveredAt: null });
    expect(s.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: 503 })]);
    expect(s.attempts[0]!.error).toMatch(/503/);

    await deliverWebhook(deps.database.db, delivery.id, opts());
    s = await state(delivery.id);
    expect(s.delivery).toMatchObject({ status: "delivered", attempts: 2 });
    expect(s.attempts.map((a) => [a.attempt, a.statusCode, a.error])).toEqual([
      [1, 503, expect.stringMatching(/503/)],
      [2, 204, null],
    ]);
    // Same message id on the retry; each attempt is signed afresh and verifies.
    expect(rx.hits.map((h) => h.headers["webhook-id"])).toEqual([delivery.eventId, delivery.eventId]);
    expect(rx.hits[1]!.body).toBe(rx.hits[0]!.body);
    for (const h of rx.hits) {
      const headers = {
        id: String(h.headers["webhook-id"]),
        timestamp: String(h.headers["webhook-timestamp"]),
        signature: String(h.headers["webhook-signature"]),
      };
      expect(verifyWebhook(endpoint.secret, headers, h.body)).toBe(true);
    }
  });

  it("does not follow redirects: a 3xx is a failed attempt", async () => {
    const rx = await receiver(() => 302);
    const { delivery } = await pendingDelivery(rx.url);
    await expect(deliverWebhook(deps.database.db, delivery.id, opts())).rejects.toThrow(/302/);
    expect(rx.hits.map((h) => h.path)).toEqual(["/hooks/earmark?tenant=a"]);
    expect((await state(delivery.id)).attempts[0]).toMatchObject({ statusCode: 302 });
  });

  it("counts a receiver that never answers as a failed attempt with a timeout error", async () => {
    const rx = await receiver(() => "hang");
    const { delivery } = await pendingDelivery(rx.url);
    expect(configured()).toBe(500);
    await expect(deliverWebhook(deps.database.db, delivery.id, opts(configured()))).rejects.toThrow(
      /timeout/i,
    );
    expect(rx.hits).toHaveLength(1);
    const s = await state(delivery.id);
    expect(s.delivery.status).toBe("pending");
    expect(s.attempts).toHaveLength(1);
    expect(s.attempts[0]!.statusCode).toBeNull();
    expect(s.attempts[0]!.error).toMatch(/timeout/i);
  });

  it("times out a receiver that never answers even when garbage collection runs meanwhile", async () => {
    // Regression: the timeout was `AbortSignal.any([AbortSignal.timeout(ms), …])`. Nothing holds the inner timeout
    // signal strongly, so a collection before it fires drops it (Node 20) and the fetch waits forever, holding a
    // worker slot whose lease the heartbeat keeps extending. An audio worker collects garbage all the time.
    v8.setFlagsFromString("--expose-gc");
    const gc = vm.runInNewContext("gc") as () => void;
    const rx = await receiver(() => "hang");
    const { delivery } = await pendingDelivery(rx.url);
    const collecting = setInterval(gc, 10);
    let guard: NodeJS.Timeout | undefined;
    try {
      const attempt = deliverWebhook(deps.database.db, delivery.id, opts(configured())).then(
        () => "delivered",
        (err: Error) => err.message,
      );
      const hung = new Promise<string>((resolve) => {
        guard = setTimeout(() => resolve("the attempt never ended"), 20 * configured());
      });
      expect(await Promise.race([attempt, hung])).toMatch(/timeout/i);
    } finally {
      clearInterval(collecting);
      clearTimeout(guard);
    }
    const s = await state(delivery.id);
    expect(s.attempts).toEqual([expect.objectContaining({ attempt: 1, statusCode: null })]);
  });

  it("stops an attempt when the worker aborts it", async () => {
    const rx = await receiver(() => "hang");
    const { delivery } = await pendingDelivery(rx.url);
    const controller = new AbortController();
    const attempt = deliverWebhook(deps.database.db, delivery.id, {
      ...opts(60_000),
      signal: controller.signal,
    });
    await eventually(async () => (rx.hits.length > 0 ? true : undefined), "the request to arrive");
    controller.abort(new Error("worker stopping"));
    await expect(attempt).rejects.toBeInstanceOf(WebhookDeliveryError);
    const s = await state(delivery.id);
    expect(s.delivery.status).toBe("pending");
    expect(s.attempts[0]!.error).toMatch(/worker stopping/);
  });

  it("counts an unreachable endpoint as a failed attempt with the connection error", async () => {
    const rx = await receiver();
    await rx.close();
    const { delivery } = await pendingDelivery(rx.url);
    await expect(deliverWebhook(deps.database.db, delivery.id, opts())).rejects.toBeInstanceOf(
      WebhookDeliveryError,
    );
    const s = await state(delivery.id);
    expect(s.attempts).toHaveLength(1);
    expect(s.attempts[0]!.statusCode).toBeNull();
    expect(s.attempts[0]!.error).toBeTruthy();
  });

  it("sends nothing for a delivery whose endpoint was removed", async () => {
    const rx = await receiver();
    const { endpoint, delivery } = await pendingDelivery(rx.url);
    await deps.database.db.delete(webhookEndpoints).where(eq(webhookEndpoints.id, endpoint.id));
    await deliverWebhook(deps.database.db, delivery.id, opts());
    expect(rx.hits).toHaveLength(0);
  });

  it("queues one delivery job per subscribed endpoint, with the schedule's number of attempts", async () => {
    const rx = await receiver();
    const account = await t.account();
    const db = deps.database.db;
    const all = await createEndpoint(db, account.id, { url: rx.url }, { allowPrivate: true });
    const failedOnly = await createEndpoint(
      db,
      account.id,
      { url: rx.url, events: ["upload.failed"] },
      { allowPrivate: true },
    );
    const other = await t.account();
    await createEndpoint(db, other.id, { url: rx.url }, { allowPrivate: true });

    expect(await emitEvent(db, account.id, "upload.decided", { id: "upl_a" }, { maxAttempts: 3 })).toBe(1);
    expect(await emitEvent(db, account.id, "upload.failed", { id: "upl_b" }, { maxAttempts: 3 })).toBe(2);
    const rows = await db
      .select()
      .from(webhookDeliveries)
      .where(sql`${webhookDeliveries.endpointId} in (${all.id}, ${failedOnly.id})`);
    expect(
      rows.map((r) => `${r.endpointId === all.id ? "all" : "failedOnly"}:${r.eventType}`).sort(),
    ).toEqual(["all:upload.decided", "all:upload.failed", "failedOnly:upload.failed"]);
    // One event, one id, whichever endpoint it goes to.
    const failedEvents = new Set(rows.filter((r) => r.eventType === "upload.failed").map((r) => r.eventId));
    expect(failedEvents.size).toBe(1);
    for (const r of rows) {
      const queued = await db
        .select()
        .from(jobs)
        .where(sql`${jobs.kind} = 'deliver-webhook' and ${jobs.payload}->>'deliveryId' = ${r.id}`);
      expect(queued).toHaveLength(1);
      expect(queued[0]).toMatchObject({ status: "queued", maxAttempts: 3 });
    }
  });

  it("retries on the configured schedule and marks the delivery failed when it is exhausted", async () => {
    const spec = jobKinds(deps)["deliver-webhook"]!;
    expect([1, 2].map((a) => spec.retryDelayS(a))).toEqual([0.05, 0.05]);
    const defaults = jobKinds({
      ...deps,
      config: loadConfig({ EARMARK_DATA_DIR: t.dir, LOG_LEVEL: "silent" }),
    })["deliver-webhook"]!;
    expect([1, 2, 3, 4, 5, 6, 7].map((a) => defaults.retryDelayS(a))).toEqual([
      5, 300, 1800, 7200, 18000, 36000, 36000,
    ]);

    const rx = await receiver();
    const { delivery } = await pendingDelivery(rx.url);
    const [job] = await deps.database.db
      .select()
      .from(jobs)
      .where(sql`${jobs.kind} = 'deliver-webhook' and ${jobs.payload}->>'deliveryId' = ${delivery.id}`);
    await spec.onExhausted(job!, "endpoint answered HTTP 500");
    expect((await state(delivery.id)).delivery.status).toBe("failed");
    expect(rx.hits).toHaveLength(0);
  });
});
