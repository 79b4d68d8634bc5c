import { writeFile } from "node:fs/promises";
import path from "node:path";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { corruptMp3, encodeWav, makeSignal } from "../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { multipart } from "../../test/harness/http.js";
import { createAccount, createApiKey } from "../accounts/accounts.js";
import { createApp } from "../app.js";
import { accounts } from "../db/schema/index.js";
import { ERRORS } from "../errors.js";
import { startWorker } from "../jobs/kinds.js";
import type { Worker } from "../jobs/worker.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { emitEvent } from "../webhooks/endpoints.js";

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is walked as plain JSON.
type Json = any;
type App = ReturnType<typeof createApp>;

const METHODS = ["get", "put", "post", "delete", "patch", "head", "options"] as const;
/** Served but not API operations: the document itself and its rendering. */
const META_ROUTES = ["GET /openapi.json", "GET /docs"];

/** "/v1/uploads/:id" (Hono) → "/v1/uploads/{id}" (OpenAPI). */
const toTemplate = (p: string) => p.replace(/:(\w+)/g, "{$1}");

function mediaMatches(documented: string, actual: string): boolean {
  const [type, sub] = documented.split("/");
  const [aType, aSub] = actual.split(";")[0]!.trim().toLowerCase().split("/");
  return type === aType && (sub === "*" || sub === aSub);
}

/**
 * Checks responses against the OpenAPI document the app serves (not against the zod schemas that produced it):
 * the status must be documented for the operation, the media type must be one documented for that status, and
 * a JSON body must validate against the documented JSON Schema (converted with zod's `fromJSONSchema`, with
 * `#/components/schemas/X` references resolved). Records which operations answered with which statuses.
 */
class Conformance {
  readonly seen = new Map<string, Set<number>>();
  private readonly defs: Json;
  private readonly validators = new Map<string, z.ZodType>();

  constructor(readonly doc: Json) {
    this.defs = this.local(doc.components?.schemas ?? {});
  }

  private local(schema: Json): Json {
    return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/schemas/', '"#/$defs/'));
  }

  validator(schema: Json): z.ZodType {
    const key = JSON.stringify(schema);
    let v = this.validators.get(key);
    if (!v) {
      v = z.fromJSONSchema({ ...this.local(schema), $defs: this.defs });
      this.validators.set(key, v);
    }
    return v;
  }

  operation(method: string, urlPath: string): { key: string; op: Json } | null {
    for (const [template, item] of Object.entries<Json>(this.doc.paths)) {
      const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
      const op = item[method.toLowerCase()];
      if (op && re.test(urlPath)) return { key: `${method.toUpperCase()} ${template}`, op };
    }
    return null;
  }

  async check(method: string, url: string, res: Response): Promise<void> {
    const urlPath = new URL(url, "http://localhost").pathname;
    const found = this.operation(method, urlPath);
    if (!found) return;
    const label = `${found.key} → ${res.status}`;
    const spec = found.op.responses[String(res.status)] ?? found.op.responses.default;
    expect(spec, `${label}: status not documented`).toBeDefined();
    const body = await res.text();
    if (!spec.content) {
      expect(body, `${label}: documented without a body`).toBe("");
    } else {
      const contentType = res.headers.get("content-type") ?? "";
      const media = Object.keys(spec.content).find((m) => mediaMatches(m, contentType));
      expect(media, `${label}: ${contentType} is not among ${Object.keys(spec.content)}`).toBeDefined();
      if (/json$/.test(media!)) {
        const result = this.validator(spec.content[media!].schema).safeParse(JSON.parse(body));
        expect(result.success, `${label}: ${result.error?.message}\n${body.slice(0, 500)}`).toBe(true);
      }
    }
    const statuses = this.seen.get(found.key) ?? new Set<number>();
    statuses.add(res.status);
    this.seen.set(found.key, statuses);
  }
}

describe.each(DRIVERS)("OpenAPI document and reference (%s)", (driver) => {
  let t: TestContext;
  let app: App;
  let doc: Json;

  beforeAll(async () => {
    t = await createTestContext(driver);
    app = createApp(t.deps);
    const res = await app.request("/openapi.json");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    doc = await res.json();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("is an OpenAPI 3.1 document", () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/);
    expect(doc.info).toMatchObject({ title: "Earmark", version: expect.any(String) });
    expect(doc.servers).toEqual([{ url: "http://localhost" }]);
    // Every reference resolves.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) {
      expect(ref).toMatch(/^#\/components\/schemas\//);
      expect(doc.components.schemas[ref.split("/").pop()!], ref).toBeDefined();
    }
  });

  it("documents every route the app serves, and nothing it does not", () => {
    const served = new Set(
      app.routes
        // The review dashboard (/review) is HTML for people, not part of the API document.
        .filter((r) => r.method !== "ALL" && !r.path.startsWith("/review"))
        .map((r) => `${r.method} ${toTemplate(r.path)}`)
        .filter((r) => !META_ROUTES.includes(r)),
    );
    const documented = new Set(
      Object.entries<Json>(doc.paths).flatMap(([p, item]) =>
        METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${p}`),
      ),
    );
    expect([...documented].sort()).toEqual([...served].sort());
    for (const op of [
      "POST /v1/uploads",
      "GET /v1/uploads",
      "GET /v1/uploads/{id}",
      "GET /v1/uploads/{id}/rendition",
      "GET /v1/uploads/{id}/manifest",
      "GET /v1/uploads/{id}/manifest.c2pa",
      "DELETE /v1/uploads/{id}",
      "POST /v1/verify",
      "POST /v1/webhooks",
      "GET /v1/webhooks",
      "DELETE /v1/webhooks/{id}",
      "GET /v1/webhooks/{id}/deliveries",
      "GET /healthz",
      "GET /readyz",
      "GET /metrics",
      "GET /problems/{code}",
    ])
      expect(documented, op).toContain(op);
  });

  it("declares the apiKey scheme and requires it exactly on /v1", () => {
    expect(doc.components.securitySchemes.apiKey).toMatchObject({ type: "http", scheme: "bearer" });
    for (const [p, item] of Object.entries<Json>(doc.paths))
      for (const m of METHODS.filter((m) => item[m])) {
        const op = item[m];
        if (p.startsWith("/v1/")) {
          expect(op.security, `${m} ${p}`).toEqual([{ apiKey: [] }]);
          // Everything behind a key can be refused for the key or the rate.
          for (const status of ["401", "429"])
            expect(
              op.responses[status]?.content?.["application/problem+json"]?.schema,
              `${m} ${p} ${status}`,
            ).toEqual({
              $ref: "#/components/schemas/Problem",
            });
        } else {
          expect(op.security ?? [], `${m} ${p}`).toEqual([]);
        }
        expect(op.summary, `${m} ${p}`).toBeTruthy();
        for (const [status, r] of Object.entries<Json>(op.responses)) {
          expect(r.description, `${m} ${p} ${status}`).toBeTruthy();
          // Errors are problems, readiness included.
          if (Number(status) >= 400)
            expect(Object.keys(r.content ?? {}), `${m} ${p} ${status}`).toEqual(["application/problem+json"]);
        }
      }
  });

  it("describes problem documents with every code of the closed table", () => {
    const problem = doc.components.schemas.Problem;
    expect(problem.required).toEqual(
      expect.arrayContaining(["type", "title", "status", "detail", "instance", "code", "requestId"]),
    );
    expect([...problem.properties.code.enum].sort()).toEqual(Object.keys(ERRORS).sort());
    expect(problem.properties.errors.items.properties).toHaveProperty("pointer");
  });

  it("documents the multipart upload body: a binary file and JSON metadata", () => {
    const body = doc.paths["/v1/uploads"].post.requestBody;
    expect(body.required).toBe(true);
    const form = body.content["multipart/form-data"];
    expect(form.schema.required).toEqual(["file"]);
    expect(form.schema.properties.file).toMatchObject({ type: "string", format: "binary" });
    const metadata = form.schema.properties.metadata;
    expect(metadata.type).toBe("object");
    expect(Object.keys(metadata.properties)).toEqual(expect.arrayContaining(["title", "artist", "kind"]));
    expect(form.encoding.metadata.contentType).toBe("application/json");
    for (const raw of ["audio/*", "application/octet-stream"])
      expect(body.content[raw].schema).toMatchObject({ type: "string", format: "binary" });
    expect(doc.paths["/v1/uploads"].post.responses["202"].content["application/json"].schema).toEqual({
      $ref: "#/components/schemas/UploadAccepted",
    });
  });

  it("checks responses strictly enough to catch a wrong one", () => {
    const conformance = new Conformance(doc);
    const problem = conformance.validator({ $ref: "#/components/schemas/Problem" });
    const good = {
      type: "http://localhost/problems/not-found",
      title: "No such resource",
      status: 404,
      detail: "x",
      instance: "/x",
      code: "not-found",
      requestId: "r",
    };
    expect(problem.safeParse(good).success).toBe(true);
    expect(problem.safeParse({ ...good, code: "teapot" }).success).toBe(false);
    expect(problem.safeParse({ ...good, status: "404" }).success).toBe(false);
    const { requestId: _, ...incomplete } = good;
    expect(problem.safeParse(incomplete).success).toBe(false);
    const record = conformance.validator({ $ref: "#/components/schemas/UploadRecord" });
    expect(record.safeParse({ id: "upl_1", status: "decided" }).success).toBe(false);
  });

  describe("every response of a tour of the API conforms to the document", () => {
    let worker: Worker;
    let conformance: Conformance;
    const wav = encodeWav(makeSignal({ seconds: 1 }));

    beforeAll(() => {
      conformance = new Conformance(doc);
      worker = startWorker(t.deps, 1, { pollMs: 50 });
    });
    afterAll(async () => {
      await worker?.stop();
    });

    async function call(path: string, init: RequestInit = {}, on: App = app): Promise<Response> {
      const res = await on.request(path, init);
      await conformance.check(init.method ?? "GET", path, res.clone());
      return res;
    }

    it("conforms on every operation, for successes and problems", async () => {
      const alice = await t.account();
      const bob = await t.account();
      const json = { ...alice.auth, "content-type": "application/json" };

      // Operations.
      expect((await call("/healthz")).status).toBe(200);
      expect((await call("/readyz")).status).toBe(200);
      const notADir = path.join(t.dir, "file");
      await writeFile(notADir, "x");
      const broken = createApp({ ...t.deps, blobs: new FsBlobStore(path.join(notADir, "blobs")) });
      expect((await call("/readyz", {}, broken)).status).toBe(503);
      expect((await call("/problems/not-found")).status).toBe(200);
      expect((await call("/problems/nope")).status).toBe(404);

      // Uploads.
      const upload = (
        body: FormData | Uint8Array<ArrayBuffer>,
        headers: Record<string, string> = alice.auth,
        on = app,
      ) => call("/v1/uploads", { method: "POST", body, headers }, on);
      const accepted = await upload(multipart(wav, { metadata: { title: "Tour", kind: "music" } }));
      expect(accepted.status).toBe(202);
      const id = ((await accepted.json()) as { id: string }).id;
      const failed = await upload(multipart(await corruptMp3(), { metadata: { title: "Broken" } }));
      expect(failed.status).toBe(202);
      const failedId = ((await failed.json()) as { id: string }).id;
      expect((await upload(new Uint8Array(wav), { ...alice.auth, "content-type": "audio/wav" })).status).toBe(
        202,
      );
      expect((await upload(multipart(wav), {})).status).toBe(401);
      expect(
        (await upload(new Uint8Array(wav), { ...alice.auth, "content-type": "text/plain" })).status,
      ).toBe(415);
      expect((await upload(multipart(wav, { metadata: { kind: "symphony" } }))).status).toBe(422);
      expect((await upload(multipart(wav, { extra: { other: "x" } }))).status).toBe(400);
      const tiny = createApp({
        ...t.deps,
        config: { ...t.deps.config, limits: { ...t.deps.config.limits, maxUploadBytes: 1000 } },
      });
      expect((await upload(multipart(wav), alice.auth, tiny)).status).toBe(413);
      await t.deps.database.db.update(accounts).set({ uploadsPerHour: 0 }).where(eq(accounts.id, bob.id));
      expect((await upload(multipart(wav), bob.auth)).status).toBe(429);

      // Rendition not made yet.
      const waiting = await call(`/v1/uploads/${id}/rendition`, { headers: alice.auth });
      if (waiting.status !== 200) expect(waiting.status).toBe(409);
      await worker.idle();

      expect((await call("/v1/uploads", { headers: alice.auth })).status).toBe(200);
      expect((await call("/v1/uploads?status=failed&limit=1", { headers: alice.auth })).status).toBe(200);
      expect((await call("/v1/uploads?limit=0", { headers: alice.auth })).status).toBe(422);
      expect((await call(`/v1/uploads/${id}`, { headers: alice.auth })).status).toBe(200);
      expect((await call(`/v1/uploads/${failedId}`, { headers: alice.auth })).status).toBe(200);
      expect((await call(`/v1/uploads/${id}`, { headers: bob.auth })).status).toBe(404);
      const rendition = await call(`/v1/uploads/${id}/rendition`, { headers: alice.auth });
      expect(rendition.status).toBe(200);
      const etag = rendition.headers.get("etag")!;
      const ranged = { ...alice.auth, range: "bytes=0-9" };
      expect((await call(`/v1/uploads/${id}/rendition`, { headers: ranged })).status).toBe(206);
      const unsatisfiable = { ...alice.auth, range: "bytes=99999999-" };
      expect((await call(`/v1/uploads/${id}/rendition`, { headers: unsatisfiable })).status).toBe(416);
      const cached = { ...alice.auth, "if-none-match": etag };
      expect((await call(`/v1/uploads/${id}/rendition`, { headers: cached })).status).toBe(304);
      expect((await call(`/v1/uploads/${failedId}/rendition`, { headers: alice.auth })).status).toBe(409);
      expect((await call(`/v1/uploads/${id}/rendition`, { headers: bob.auth })).status).toBe(404);
      expect((await call(`/v1/uploads/${id}/manifest`, { headers: alice.auth })).status).toBe(200);
      expect((await call(`/v1/uploads/${failedId}/manifest`, { headers: alice.auth })).status).toBe(409);
      expect((await call(`/v1/uploads/${id}/manifest`, { headers: bob.auth })).status).toBe(404);
      const sidecar = await call(`/v1/uploads/${id}/manifest.c2pa`, { headers: alice.auth });
      expect(sidecar.status).toBe(200);
      const sidecarTag = { ...alice.auth, "if-none-match": sidecar.headers.get("etag") ?? "" };
      expect((await call(`/v1/uploads/${id}/manifest.c2pa`, { headers: sidecarTag })).status).toBe(304);
      expect((await call(`/v1/uploads/${failedId}/manifest.c2pa`, { headers: alice.auth })).status).toBe(409);
      expect((await call(`/v1/uploads/${id}/manifest.c2pa`, { headers: bob.auth })).status).toBe(404);

      // Verify: the rendition itself, something that is not audio, nothing.
      const verify = (body: Uint8Array<ArrayBuffer>) =>
        call("/v1/verify", {
          method: "POST",
          body: new Blob([body]),
          headers: { ...bob.auth, "content-type": "application/octet-stream" },
        });
      expect((await verify(new Uint8Array(await rendition.arrayBuffer()))).status).toBe(200);
      expect((await verify(new TextEncoder().encode("not audio, only words\n".repeat(10)))).status).toBe(415);
      expect((await verify(new Uint8Array(0))).status).toBe(422);

      // Takedown.
      const takedown = (uploadId: string, headers: Record<string, string>, query = "") =>
        call(`/v1/uploads/${uploadId}${query}`, { method: "DELETE", headers });
      expect((await takedown(failedId, bob.auth)).status).toBe(404);
      expect((await takedown(failedId, alice.auth, `?reason=${"x".repeat(501)}`)).status).toBe(422);
      expect((await takedown(failedId, alice.auth, "?reason=Broken")).status).toBe(204);
      expect((await call(`/v1/uploads/${failedId}/rendition`, { headers: alice.auth })).status).toBe(410);
      expect((await call(`/v1/uploads/${failedId}/manifest`, { headers: alice.auth })).status).toBe(410);
      expect((await call(`/v1/uploads/${failedId}/manifest.c2pa`, { headers: alice.auth })).status).toBe(410);

      // Webhooks.
      const hook = (body: string, headers: Record<string, string> = json) =>
        call("/v1/webhooks", { method: "POST", body, headers });
      const created = await hook(
        JSON.stringify({ url: "http://127.0.0.1:9/hook", events: ["upload.failed"] }),
      );
      expect(created.status).toBe(201);
      const hookId = ((await created.json()) as { id: string }).id;
      expect((await hook(JSON.stringify({ url: "ftp://example.com" }))).status).toBe(422);
      expect((await hook("{not json")).status).toBe(400);
      const wrongType = await hook("url=x", { ...alice.auth, "content-type": "text/plain" });
      expect(wrongType.status).toBe(415);
      expect(((await wrongType.clone().json()) as { code: string }).code).toBe("unsupported-content-type");
      expect((await hook("{}", { "content-type": "application/json" })).status).toBe(401);
      expect((await call("/v1/webhooks", { headers: alice.auth })).status).toBe(200);
      expect((await call(`/v1/webhooks/${hookId}/deliveries`, { headers: alice.auth })).status).toBe(200);
      expect((await call(`/v1/webhooks/${hookId}/deliveries?limit=0`, { headers: alice.auth })).status).toBe(
        422,
      );
      expect((await call(`/v1/webhooks/${hookId}/deliveries`, { headers: bob.auth })).status).toBe(404);
      const patch = (body: string) =>
        call(`/v1/webhooks/${hookId}`, { method: "PATCH", body, headers: json });
      expect((await patch(JSON.stringify({ description: "tour" }))).status).toBe(200);
      expect((await patch(JSON.stringify({ enabled: 1 }))).status).toBe(422);
      // A delivery to port 9 (nothing listens) fails on its one attempt; then it is sent again on request.
      await emitEvent(t.deps.database.db, alice.id, "upload.failed", { id: "upl_tour" }, { maxAttempts: 1 });
      await worker.idle();
      const log = (await (
        await call(`/v1/webhooks/${hookId}/deliveries`, { headers: alice.auth })
      ).json()) as {
        data: { id: string; status: string }[];
      };
      const failedDelivery = log.data.find((d) => d.status === "failed")!;
      const retry = (deliveryId: string) =>
        call(`/v1/webhooks/${hookId}/deliveries/${deliveryId}/retry`, {
          method: "POST",
          headers: alice.auth,
        });
      expect((await retry(failedDelivery.id)).status).toBe(202);
      expect((await retry("dlv_nope")).status).toBe(404);
      expect((await call(`/v1/webhooks/${hookId}`, { method: "DELETE", headers: bob.auth })).status).toBe(
        404,
      );
      expect((await call(`/v1/webhooks/${hookId}`, { method: "DELETE", headers: alice.auth })).status).toBe(
        204,
      );

      // Rate limited: an account allowed one request a minute.
      const carol = await t.account();
      await t.deps.database.db
        .update(accounts)
        .set({ rateLimitPerMinute: 1 })
        .where(eq(accounts.id, carol.id));
      await call("/v1/webhooks", { headers: carol.auth });
      expect((await call("/v1/webhooks", { headers: carol.auth })).status).toBe(429);

      // Policies: operators only.
      const ops = await createAccount(t.deps.database.db, `ops-${Date.now()}`, { operator: true });
      const opsKey = (await createApiKey(t.deps.database.db, ops.id)).key;
      expect((await call("/v1/policies", { headers: { authorization: `Bearer ${opsKey}` } })).status).toBe(
        200,
      );
      expect((await call("/v1/policies", { headers: alice.auth })).status).toBe(403);

      // Metrics last, so it has something to say.
      expect((await call("/metrics")).status).toBe(200);

      const seen = (op: string) => [...(conformance.seen.get(op) ?? [])].sort();
      expect(seen("POST /v1/uploads")).toEqual([202, 400, 401, 413, 415, 422, 429]);
      expect(seen("GET /v1/uploads/{id}/rendition")).toEqual([200, 206, 304, 404, 409, 410, 416]);
      expect(seen("GET /v1/uploads/{id}/manifest")).toEqual([200, 404, 409, 410]);
      expect(seen("GET /v1/uploads/{id}/manifest.c2pa")).toEqual([200, 304, 404, 409, 410]);
      expect(seen("DELETE /v1/uploads/{id}")).toEqual([204, 404, 422]);
      expect(seen("POST /v1/verify")).toEqual([200, 415, 422]);
      expect(seen("POST /v1/webhooks")).toEqual([201, 400, 401, 415, 422]);
      expect(seen("GET /readyz")).toEqual([200, 503]);

      // Every documented operation was exercised, with at least one success.
      const documented = Object.entries<Json>(doc.paths).flatMap(([p, item]) =>
        METHODS.filter((m) => item[m]).map((m) => `${m.toUpperCase()} ${p}`),
      );
      for (const op of documented) {
        const statuses = [...(conformance.seen.get(op) ?? [])];
        expect(
          statuses.some((s) => s < 300),
          `${op} answered ${statuses}`,
        ).toBe(true);
      }
    });
  });

  describe("/docs", () => {
    let html: string;

    beforeAll(async () => {
      const res = await app.request("/docs");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/html/);
      html = await res.text();
    });

    it("is a complete HTML page", () => {
      expect(html.startsWith("<!doctype html>")).toBe(true);
      expect(html).toContain("<title>Earmark API reference</title>");
      expect(html).toContain('href="/openapi.json"');
    });

    it("names every operation and every schema", () => {
      for (const [p, item] of Object.entries<Json>(doc.paths))
        for (const m of METHODS.filter((m) => item[m])) {
          expect(html, `${m} ${p}`).toContain(`${m.toUpperCase()} ${p}`);
          expect(html, `${m} ${p}`).toContain(`<code>${p}</code>`);
        }
      for (const name of Object.keys(doc.components.schemas)) {
        expect(html, name).toContain(`id="schema-${name}"`);
        expect(html, name).toContain(`<h3>${name}</h3>`);
      }
      // Descriptions are rendered, e.g. the upload field of the multipart body.
      expect(html).toContain("<code>file</code>");
      expect(html).toContain("<code>metadata</code>");
    });

    it("works offline: no external scripts, styles, fonts or images", () => {
      expect(html).not.toMatch(/<script\b[^>]*\bsrc\s*=/i);
      expect(html).not.toMatch(/<link\b/i);
      expect(html).not.toMatch(/@import/i);
      expect(html).not.toMatch(/url\s*\(/i);
      expect(html).not.toMatch(/<(img|iframe|object|embed)\b/i);
      const urls = [...html.matchAll(/\b(?:src|href|action)\s*=\s*["']([^"']*)["']/gi)].map((m) => m[1]!);
      expect(urls.length).toBeGreaterThan(0);
      for (const url of urls) expect(url, url).toMatch(/^(#|\/(?!\/))/);
    });
  });
});
