import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corruptMp3, encodeWav, makeSignal } from "../../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../../test/harness/deps.js";
import { eventually, multipart } from "../../../test/harness/http.js";
import { createApp } from "../../app.js";
import { loadConfig } from "../../config.js";
import { jobs } from "../../db/schema/index.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";
import { verifyWebhook } from "../../webhooks/signing.js";
import { problemSchema } from "../problem.js";
import { UploadRecord } from "../uploads/schemas.js";
import { listDeliveriesRoute } from "./list-deliveries.js";
import { WebhookEndpoint } from "./schemas.js";

interface Hit {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A real HTTP receiver on a free local port; `reply` picks the status of the n-th request (1-based). */
async function startReceiver(reply: (n: number) => number | "hang" = () => 200) {
  const hits: Hit[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      hits.push({
        method: req.method ?? "",
        path: req.url ?? "",
        headers: req.headers,
        body: Buffer.concat(chunks).toString("utf8"),
      });
      const r = reply(hits.length);
      if (r !== "hang") res.writeHead(r, { "content-type": "text/plain" }).end(`status ${r}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/webhook`,
    hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const DeliveryPage = listDeliveriesRoute.responses[200].content["application/json"].schema;
type Delivery = ReturnType<typeof DeliveryPage.parse>["data"][number];
type Account = Awaited<ReturnType<TestContext["account"]>>;

function signatureHeaders(hit: Hit) {
  return {
    id: String(hit.headers["webhook-id"]),
    timestamp: String(hit.headers["webhook-timestamp"]),
    signature: String(hit.headers["webhook-signature"]),
  };
}

describe.each(DRIVERS)("webhooks (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let corrupt: Buffer;
  const wav = encodeWav(makeSignal({ seconds: 1 }));
  const receivers: Awaited<ReturnType<typeof startReceiver>>[] = [];

  beforeAll(async () => {
    // A generous attempt timeout: on a loaded machine a local round trip can exceed 0.5 s, and a spurious timeout
    // is a second request where the tests count exactly one. The timeout test runs a worker configured with 0.5 s.
    t = await createTestContext(driver, {
      env: {
        EARMARK_WEBHOOK_RETRY: "0.05s,0.05s",
        EARMARK_WEBHOOK_TIMEOUT: "10s",
        EARMARK_WEBHOOK_DISABLE_AFTER: "2",
      },
    });
    app = createApp(t.deps);
    worker = startWorker(t.deps, 1, { pollMs: 50 });
    corrupt = await corruptMp3();
  });
  afterAll(async () => {
    await worker?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    await t?.close();
  });

  async function receiver(reply?: (n: number) => number | "hang") {
    const r = await startReceiver(reply);
    receivers.push(r);
    return r;
  }

  async function register(account: Account, body: Record<string, unknown>) {
    const res = await app.request("/v1/webhooks", {
      method: "POST",
      body: JSON.stringify(body),
      headers: { ...account.auth, "content-type": "application/json" },
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const json = (await res.json()) as Record<string, unknown>;
    return { ...WebhookEndpoint.parse(json), secret: String(json.secret) };
  }

  async function upload(account: Account, bytes: Uint8Array, title = "Track"): Promise<string> {
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(bytes, { metadata: { title } }),
      headers: account.auth,
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function deliveries(account: Account, endpointId: string, query = ""): Promise<Delivery[]> {
    const res = await app.request(`/v1/webhooks/${endpointId}/deliveries${query}`, { headers: account.auth });
    expect(res.status).toBe(200);
    return DeliveryPage.parse(await res.json()).data;
  }

  /** Waits until every delivery of the endpoint is settled (delivered or failed) and there are `n`. */
  function settled(account: Account, endpointId: string, n: number): Promise<Delivery[]> {
    return eventually(async () => {
      const d = await deliveries(account, endpointId);
      return d.length === n && d.every((x) => x.status !== "pending") ? d : undefined;
    }, `${n} settled deliveries of ${endpointId}`);
  }

  async function jobsOf(deliveryId: string) {
    return t.deps.database.db
      .select()
      .from(jobs)
      .where(sql`${jobs.kind} = 'deliver-webhook' and ${jobs.payload}->>'deliveryId' = ${deliveryId}`);
  }

  it("registers an endpoint and shows its secret only once", async () => {
    const alice = await t.account();
    const rx = await receiver();
    const created = await register(alice, { url: rx.url, description: "prod" });
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9+/]+=*$/);
    expect(Buffer.from(created.secret.slice(6), "base64").length).toBeGreaterThanOrEqual(24);
    expect(created).toMatchObject({
      url: rx.url,
      events: ["upload.decided", "upload.held", "upload.failed"],
      description: "prod",
      enabled: true,
    });
    expect(created.id).toMatch(/^whk_/);

    const res = await app.request("/v1/webhooks", { headers: alice.auth });
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(created.secret);
    expect(text).not.toContain(created.secret.slice(6));
    const list = JSON.parse(text) as { data: Record<string, unknown>[] };
    expect(list.data).toHaveLength(1);
    expect(list.data[0]).not.toHaveProperty("secret");
    const { secret: _secret, ...shown } = created;
    expect(WebhookEndpoint.parse(list.data[0])).toEqual(shown);
    // A second registration gets its own secret.
    const second = await register(alice, { url: rx.url, events: ["upload.failed"] });
    expect(second.secret).not.toBe(created.secret);
    expect(second.events).toEqual(["upload.failed"]);
  });

  it("delivers exactly one signed upload.decided whose data is the upload record", async () => {
    const alice = await t.account();
    const rx = await receiver();
    const endpoint = await register(alice, { url: rx.url });
    const id = await upload(alice, wav, "Decided");
    await worker.idle();
    const [delivery] = await settled(alice, endpoint.id, 1);
    expect(delivery).toMatchObject({ eventType: "upload.decided", status: "delivered" });
    expect(delivery!.attempts).toEqual([
      expect.objectContaining({ attempt: 1, statusCode: 200, error: null }),
    ]);
    await worker.idle();

    expect(rx.hits).toHaveLength(1);
    const hit = rx.hits[0]!;
    expect(hit).toMatchObject({ method: "POST", path: "/webhook" });
    expect(hit.headers["content-type"]).toBe("application/json");
    expect(hit.headers["webhook-id"]).toBe(delivery!.eventId);
    expect(verifyWebhook(endpoint.secret, signatureHeaders(hit), hit.body)).toBe(true);

    const event = JSON.parse(hit.body) as { type: string; timestamp: string; data: unknown };
    expect(event.type).toBe("upload.decided");
    expect(Number.isNaN(Date.parse(event.timestamp))).toBe(false);
    const data = UploadRecord.parse(event.data);
    expect(data.id).toBe(id);
    expect(data.status).toBe("decided");
    expect(data.decision).toMatchObject({ action: "allow", decidedBy: "policy" });
    // The same record the API shows, with links on the configured base URL (there is no request to take one from).
    const shown = UploadRecord.parse(
      await (await app.request(`/v1/uploads/${id}`, { headers: alice.auth })).json(),
    );
    expect(data.links.self).toBe(`http://earmark.test/v1/uploads/${id}`);
    expect(JSON.parse(JSON.stringify(data).replaceAll("http://earmark.test/", "http://localhost/"))).toEqual(
      shown,
    );
  });

  it("retries a failing receiver with the same webhook-id until it answers 2xx", async () => {
    const alice = await t.account();
    const rx = await receiver((n) => (n <= 2 ? 500 : 200));
    const endpoint = await register(alice, { url: rx.url });
    await upload(alice, wav, "Retried");
    const [delivery] = await settled(alice, endpoint.id, 1);
    expect(delivery!.status).toBe("delivered");
    expect(delivery!.deliveredAt).not.toBeNull();
    expect(delivery!.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 200],
    ]);
    expect(delivery!.attempts.map((a) => a.error === null)).toEqual([false, false, true]);
    expect(delivery!.attempts[0]!.error).toMatch(/500/);

    expect(rx.hits).toHaveLength(3);
    expect(rx.hits.map((h) => h.headers["webhook-id"])).toEqual(Array(3).fill(delivery!.eventId));
    for (const hit of rx.hits) {
      expect(hit.body).toBe(rx.hits[0]!.body);
      expect(verifyWebhook(endpoint.secret, signatureHeaders(hit), hit.body)).toBe(true);
    }
    await worker.idle();
    expect((await jobsOf(delivery!.id)).map((j) => j.status)).toEqual(["done"]);
  });

  it("marks a delivery failed once the schedule is exhausted, and stops trying", async () => {
    const alice = await t.account();
    const rx = await receiver(() => 500);
    const endpoint = await register(alice, { url: rx.url });
    await upload(alice, wav, "Never acknowledged");
    const [delivery] = await settled(alice, endpoint.id, 1);
    expect(delivery!.status).toBe("failed");
    expect(delivery!.deliveredAt).toBeNull();
    // Two retries configured: three attempts in all.
    expect(delivery!.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 500],
      [2, 500],
      [3, 500],
    ]);
    // Nothing is left to run for it: its job is finished, failed.
    await worker.idle();
    const queued = await jobsOf(delivery!.id);
    expect(queued.map((j) => [j.status, j.attempts])).toEqual([["failed", 3]]);
    expect(rx.hits).toHaveLength(3);
    expect((await deliveries(alice, endpoint.id))[0]!.attempts).toHaveLength(3);
  });

  it("counts a receiver that never answers as a failed attempt, then retries", async () => {
    const alice = await t.account();
    const rx = await receiver((n) => (n === 1 ? "hang" : 200));
    const endpoint = await register(alice, { url: rx.url });
    await worker.stop();
    const impatient = loadConfig({
      EARMARK_DATA_DIR: t.dir,
      EARMARK_WEBHOOK_RETRY: "0.05s,0.05s",
      EARMARK_WEBHOOK_TIMEOUT: "0.5s",
    }).webhooks;
    expect(impatient.timeoutMs).toBe(500);
    worker = startWorker({ ...t.deps, config: { ...t.deps.config, webhooks: impatient } }, 1, { pollMs: 50 });
    let delivery: Delivery | undefined;
    try {
      await upload(alice, wav, "Slow receiver");
      [delivery] = await settled(alice, endpoint.id, 1);
    } finally {
      await worker.stop();
      worker = startWorker(t.deps, 1, { pollMs: 50 });
    }
    expect(delivery!.status).toBe("delivered");
    expect(delivery!.attempts[0]!.statusCode).toBeNull();
    expect(delivery!.attempts[0]!.error).toMatch(/timeout/i);
    // Then answered (normally at once; a loaded machine may need one more 0.5 s try).
    expect(delivery!.attempts.at(-1)).toMatchObject({ statusCode: 200, error: null });
    expect(delivery!.attempts.length).toBeLessThanOrEqual(3);
    expect(rx.hits).toHaveLength(delivery!.attempts.length);
  });

  it("disables an endpoint whose deliveries keep failing; re-enabled, it sends the failed ones again", async () => {
    const alice = await t.account();
    let up = false;
    const rx = await receiver(() => (up ? 204 : 503));
    const endpoint = await register(alice, { url: rx.url });
    const patch = (body: Record<string, unknown>) =>
      app.request(`/v1/webhooks/${endpoint.id}`, {
        method: "PATCH",
        body: JSON.stringify(body),
        headers: { ...alice.auth, "content-type": "application/json" },
      });
    const retry = (deliveryId: string) =>
      app.request(`/v1/webhooks/${endpoint.id}/deliveries/${deliveryId}/retry`, {
        method: "POST",
        headers: alice.auth,
      });
    await upload(alice, wav, "Down 1");
    await settled(alice, endpoint.id, 1);
    // One failed delivery is not enough (EARMARK_WEBHOOK_DISABLE_AFTER=2 here).
    expect(WebhookEndpoint.parse(await (await patch({})).json())).toMatchObject({ enabled: true });
    await upload(alice, wav, "Down 2");
    const failed = await settled(alice, endpoint.id, 2);
    expect(failed.map((d) => d.status)).toEqual(["failed", "failed"]);
    const disabled = await eventually(async () => {
      const e = WebhookEndpoint.parse(await (await patch({})).json());
      return e.enabled ? undefined : e;
    }, "the endpoint to be disabled");
    expect(disabled.disabledReason).toBe("the last 2 deliveries failed after every retry");
    expect(disabled.disabledAt).not.toBeNull();

    // While disabled: no new deliveries, and retrying says what to do first.
    const whileDisabled = await upload(alice, wav, "While disabled");
    await eventually(async () => {
      const r = await app.request(`/v1/uploads/${whileDisabled}`, { headers: alice.auth });
      return ((await r.json()) as { status: string }).status === "decided" ? true : undefined;
    }, "the upload made while disabled to be decided");
    const refused = await retry(failed[0]!.id);
    expect(refused.status).toBe(409);
    expect(problemSchema.parse(await refused.json()).detail).toMatch(
      /disabled \(the last 2 deliveries failed.*PATCH \{"enabled": true\}/,
    );

    up = true;
    const enabled = WebhookEndpoint.parse(await (await patch({ enabled: true })).json());
    expect(enabled).toMatchObject({ enabled: true, disabledReason: null, disabledAt: null });
    const res = await retry(failed[1]!.id);
    expect(res.status).toBe(202);
    // Pending, unless the worker (woken by the queue's notification) has delivered it already.
    expect(["pending", "delivered"]).toContain(((await res.json()) as { status: string }).status);
    const after = await eventually(async () => {
      const d = (await deliveries(alice, endpoint.id)).find((x) => x.id === failed[1]!.id)!;
      return d.status === "delivered" ? d : undefined;
    }, "the retried delivery to arrive");
    // The log continues: three failed attempts, then the one that arrived; same event id as before.
    expect(after.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([
      [1, 503],
      [2, 503],
      [3, 503],
      [4, 204],
    ]);
    expect(rx.hits.at(-1)!.headers["webhook-id"]).toBe(failed[1]!.eventId);
    expect((await deliveries(alice, endpoint.id)).length).toBe(2); // nothing was recorded while disabled

    // Disabled by hand, with the reason shown; another account cannot touch it.
    expect(WebhookEndpoint.parse(await (await patch({ enabled: false })).json())).toMatchObject({
      enabled: false,
      disabledReason: "disabled by the account",
    });
    const bob = await t.account();
    const other = await app.request(`/v1/webhooks/${endpoint.id}`, {
      method: "PATCH",
      body: JSON.stringify({ enabled: true }),
      headers: { ...bob.auth, "content-type": "application/json" },
    });
    expect(other.status).toBe(404);
    expect(
      (
        await app.request(`/v1/webhooks/${endpoint.id}/deliveries/${failed[0]!.id}/retry`, {
          method: "POST",
          headers: bob.auth,
        })
      ).status,
    ).toBe(404);
  });

  it("changes an endpoint's URL, events and description, validating them like a registration", async () => {
    const alice = await t.account();
    const endpoint = await register(alice, { url: "https://hooks.example.org/a" });
    const patch = (body: unknown) =>
      app.request(`/v1/webhooks/${endpoint.id}`, {
        method: "PATCH",
        body: JSON.stringify(body),
        headers: { ...alice.auth, "content-type": "application/json" },
      });
    const changed = await patch({
      url: "https://hooks.example.org/b",
      events: ["upload.failed"],
      description: "ops",
    });
    expect(changed.status).toBe(200);
    expect(WebhookEndpoint.parse(await changed.json())).toMatchObject({
      url: "https://hooks.example.org/b",
      events: ["upload.failed"],
      description: "ops",
      enabled: true,
    });
    for (const [body, pointer] of [
      [{ url: "ftp://example.org/" }, "/body/url"],
      [{ events: [] }, "/body/events"],
      [{ enabled: "yes" }, "/body/enabled"],
      [{ secret: "whsec_x" }, "/body/secret"],
    ] as const) {
      const res = await patch(body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      expect(problemSchema.parse(await res.json()).errors?.map((e) => e.pointer)).toContain(pointer);
    }
    expect(
      (
        await app.request("/v1/webhooks/whk_nope", {
          method: "PATCH",
          body: "{}",
          headers: { ...alice.auth, "content-type": "application/json" },
        })
      ).status,
    ).toBe(404);
  });

  it("sends upload.failed with the failure code when the audio cannot be decoded", async () => {
    const alice = await t.account();
    const rx = await receiver();
    const endpoint = await register(alice, { url: rx.url });
    const id = await upload(alice, corrupt, "Corrupt");
    const [delivery] = await settled(alice, endpoint.id, 1);
    expect(delivery).toMatchObject({ eventType: "upload.failed", status: "delivered" });
    expect(rx.hits).toHaveLength(1);
    const event = JSON.parse(rx.hits[0]!.body) as { type: string; data: unknown };
    expect(event.type).toBe("upload.failed");
    const data = UploadRecord.parse(event.data);
    expect(data).toMatchObject({ id, status: "failed", decision: null });
    expect(data.failure).toMatchObject({ code: "audio-corrupt", stage: "decode" });
    expect(data.failure!.detail.length).toBeGreaterThan(0);
    const shown = UploadRecord.parse(
      await (await app.request(`/v1/uploads/${id}`, { headers: alice.auth })).json(),
    );
    expect(data.failure).toEqual(shown.failure);
  });

  it("sends an endpoint only the events it subscribed to", async () => {
    const alice = await t.account();
    const rxAll = await receiver();
    const rxFailed = await receiver();
    const all = await register(alice, { url: rxAll.url });
    const failedOnly = await register(alice, { url: rxFailed.url, events: ["upload.failed"] });

    await upload(alice, wav, "Fine");
    await settled(alice, all.id, 1);
    // Deliveries are recorded with the outcome, in one transaction: none was recorded for this endpoint.
    expect(await deliveries(alice, failedOnly.id)).toEqual([]);

    await upload(alice, corrupt, "Broken");
    const [failed] = await settled(alice, failedOnly.id, 1);
    expect(failed!.eventType).toBe("upload.failed");
    await settled(alice, all.id, 2);
    await worker.idle();
    expect(rxFailed.hits.map((h) => JSON.parse(h.body).type)).toEqual(["upload.failed"]);
    expect(rxAll.hits.map((h) => JSON.parse(h.body).type).sort()).toEqual([
      "upload.decided",
      "upload.failed",
    ]);
  });

  it("never sends one account's events to another account's endpoint", async () => {
    const alice = await t.account();
    const bob = await t.account();
    const rxAlice = await receiver();
    const rxBob = await receiver();
    const aliceHook = await register(alice, { url: rxAlice.url });
    const bobHook = await register(bob, { url: rxBob.url });

    const aliceUpload = await upload(alice, wav, "Alice's");
    await settled(alice, aliceHook.id, 1);
    expect(await deliveries(bob, bobHook.id)).toEqual([]);
    expect(rxBob.hits).toHaveLength(0);

    const bobUpload = await upload(bob, wav, "Bob's");
    await settled(bob, bobHook.id, 1);
    await worker.idle();
    expect(rxAlice.hits.map((h) => JSON.parse(h.body).data.id)).toEqual([aliceUpload]);
    expect(rxBob.hits.map((h) => JSON.parse(h.body).data.id)).toEqual([bobUpload]);
  });

  it("does not let another account list, delete or read the deliveries of my endpoint", async () => {
    const alice = await t.account();
    const mallory = await t.account();
    const rx = await receiver();
    const hook = await register(alice, { url: rx.url });
    await upload(alice, wav, "Private");
    await settled(alice, hook.id, 1);

    const list = (await (await app.request("/v1/webhooks", { headers: mallory.auth })).json()) as {
      data: unknown[];
    };
    expect(list.data).toEqual([]);
    for (const [method, path] of [
      ["GET", `/v1/webhooks/${hook.id}/deliveries`],
      ["DELETE", `/v1/webhooks/${hook.id}`],
    ] as const) {
      const res = await app.request(path, { method, headers: mallory.auth });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      expect(problemSchema.parse(await res.json()).code).toBe("not-found");
    }
    // Still there for its owner, with its log.
    expect(await deliveries(alice, hook.id)).toHaveLength(1);
    const mine = (await (await app.request("/v1/webhooks", { headers: alice.auth })).json()) as {
      data: { id: string }[];
    };
    expect(mine.data.map((e) => e.id)).toEqual([hook.id]);
  });

  it("removes an endpoint: gone from the list, its log gone, no more deliveries", async () => {
    const alice = await t.account();
    const rx = await receiver();
    const hook = await register(alice, { url: rx.url });
    const del = await app.request(`/v1/webhooks/${hook.id}`, { method: "DELETE", headers: alice.auth });
    expect(del.status).toBe(204);
    expect(await del.text()).toBe("");
    const again = await app.request(`/v1/webhooks/${hook.id}`, { method: "DELETE", headers: alice.auth });
    expect(again.status).toBe(404);
    const log = await app.request(`/v1/webhooks/${hook.id}/deliveries`, { headers: alice.auth });
    expect(log.status).toBe(404);
    const list = (await (await app.request("/v1/webhooks", { headers: alice.auth })).json()) as {
      data: unknown[];
    };
    expect(list.data).toEqual([]);

    const id = await upload(alice, wav, "After removal");
    await worker.idle();
    const record = UploadRecord.parse(
      await (await app.request(`/v1/uploads/${id}`, { headers: alice.auth })).json(),
    );
    expect(record.status).toBe("decided");
    await worker.idle();
    expect(rx.hits).toHaveLength(0);
  });

  it("pages the delivery log newest first", async () => {
    const alice = await t.account();
    const rx = await receiver();
    const hook = await register(alice, { url: rx.url });
    for (const title of ["One", "Two", "Three"]) await upload(alice, wav, title);
    const all = await settled(alice, hook.id, 3);
    const ids = all.map((d) => d.id);
    expect([...ids].sort().reverse()).toEqual(ids);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await app.request(
        `/v1/webhooks/${hook.id}/deliveries?limit=2${cursor ? `&cursor=${cursor}` : ""}`,
        { headers: alice.auth },
      );
      expect(res.status).toBe(200);
      const page = DeliveryPage.parse(await res.json());
      expect(page.data.length).toBeLessThanOrEqual(2);
      seen.push(...page.data.map((d) => d.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual(ids);
    for (const q of ["limit=0", "limit=201", "limit=x"]) {
      const res = await app.request(`/v1/webhooks/${hook.id}/deliveries?${q}`, { headers: alice.auth });
      expect(res.status, q).toBe(422);
      expect(problemSchema.parse(await res.json()).errors?.[0]?.pointer).toBe("/query/limit");
    }
  });

  it("validates registrations with 422 problems that point at the field", async () => {
    const alice = await t.account();
    const cases: [Record<string, unknown>, string, RegExp?][] = [
      [{ url: "ftp://example.com/hook" }, "/body/url"],
      [{ url: "javascript:alert(1)" }, "/body/url"],
      [{ url: "file:///etc/passwd" }, "/body/url"],
      [{ url: "/relative/hook" }, "/body/url"],
      [{ url: "not a url" }, "/body/url"],
      [{ url: `https://example.com/${"a".repeat(2001)}` }, "/body/url"],
      [{}, "/body/url"],
      [{ url: "https://example.com/hook", events: ["upload.created"] }, "/body/events/0"],
      [{ url: "https://example.com/hook", events: [] }, "/body/events"],
      [{ url: "https://example.com/hook", events: "upload.decided" }, "/body/events"],
      [{ url: "https://example.com/hook", description: "x".repeat(501) }, "/body/description"],
      [{ url: "https://example.com/hook", secret: "whsec_mine" }, "/body/secret", /unknown key/],
    ];
    for (const [body, pointer, detail] of cases) {
      const res = await app.request("/v1/webhooks", {
        method: "POST",
        body: JSON.stringify(body),
        headers: { ...alice.auth, "content-type": "application/json" },
      });
      const label = JSON.stringify(body).slice(0, 80);
      expect(res.status, label).toBe(422);
      expect(res.headers.get("content-type")).toBe("application/problem+json");
      const problem = problemSchema.parse(await res.json());
      expect(problem.code, label).toBe("validation-failed");
      expect(
        problem.errors?.map((e) => e.pointer),
        label,
      ).toContain(pointer);
      if (detail) expect(problem.errors?.map((e) => e.detail).join(" "), label).toMatch(detail);
    }
    const malformed = await app.request("/v1/webhooks", {
      method: "POST",
      body: "{not json",
      headers: { ...alice.auth, "content-type": "application/json" },
    });
    expect(malformed.status).toBe(400);
    expect(problemSchema.parse(await malformed.json()).code).toBe("bad-request");
    // Nothing was registered by any of these.
    const list = (await (await app.request("/v1/webhooks", { headers: alice.auth })).json()) as {
      data: unknown[];
    };
    expect(list.data).toEqual([]);
  });

  it("requires an API key for every webhook operation", async () => {
    for (const [method, path] of [
      ["POST", "/v1/webhooks"],
      ["GET", "/v1/webhooks"],
      ["DELETE", "/v1/webhooks/whk_01JD3Q4Z8N6W0K2M5R7T9V1X3Y"],
      ["GET", "/v1/webhooks/whk_01JD3Q4Z8N6W0K2M5R7T9V1X3Y/deliveries"],
    ] as const) {
      const res = await app.request(path, { method });
      expect(res.status, `${method} ${path}`).toBe(401);
      expect(problemSchema.parse(await res.json()).code).toBe("unauthorized");
    }
  });
});

describe("webhooks with the default destination rules", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext("pglite", { env: { EARMARK_WEBHOOK_ALLOW_PRIVATE: "false" } });
  });
  afterAll(() => t?.close());

  it("refuses to register loopback, private, link-local and localhost URLs, naming the range and the setting", async () => {
    const alice = await t.account();
    const app = createApp(t.deps);
    for (const [url, range] of [
      ["http://127.0.0.1:5432/", /loopback \(127\.0\.0\.0\/8\)/],
      ["http://169.254.169.254/latest/meta-data/", /link-local \(cloud metadata\)/],
      ["http://10.0.0.7/hook", /private \(10\.0\.0\.0\/8\)/],
      ["http://[::1]/hook", /loopback \(::1\/128\)/],
      ["http://localhost:8080/hook", /localhost/],
    ] as const) {
      const res = await app.request("/v1/webhooks", {
        method: "POST",
        body: JSON.stringify({ url }),
        headers: { ...alice.auth, "content-type": "application/json" },
      });
      expect(res.status, url).toBe(422);
      const problem = problemSchema.parse(await res.json());
      expect(problem.code).toBe("validation-failed");
      expect(problem.errors?.[0]?.pointer).toBe("/body/url");
      expect(problem.detail, url).toMatch(range);
      expect(problem.detail).toMatch(/EARMARK_WEBHOOK_ALLOW_PRIVATE=true/);
    }
    const ok = await app.request("/v1/webhooks", {
      method: "POST",
      body: JSON.stringify({ url: "https://hooks.example.org/earmark" }),
      headers: { ...alice.auth, "content-type": "application/json" },
    });
    expect(ok.status).toBe(201);
  });
});
