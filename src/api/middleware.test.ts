import { Writable } from "node:stream";
import { eq, sql } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav, makeSignal } from "../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { multipart } from "../../test/harness/http.js";
import { createApiKey, revokeApiKey } from "../accounts/accounts.js";
import { createApp } from "../app.js";
import { type Db, rowsOf } from "../db/client.js";
import { accounts } from "../db/schema/index.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { problemSchema } from "./problem.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/**
 * Fixed windows start on multiples of `windowS` of the database clock. A test that needs all its requests in
 * one window waits out the last seconds of the current one instead of straddling the boundary.
 */
async function awayFromWindowEdge(db: Db, windowS: number, marginS = 5): Promise<void> {
  const [row] = rowsOf<{ s: number | string }>(
    await db.execute(sql`select extract(epoch from now())::float8 as s`),
  );
  const left = windowS - (Number(row!.s) % windowS);
  if (left < marginS) await new Promise((r) => setTimeout(r, (left + 0.2) * 1000));
}

function expectProblem(res: Response, status: number, code: string) {
  expect(res.status).toBe(status);
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return res.json().then((body) => {
    const problem = problemSchema.parse(body);
    expect(problem).toMatchObject({ status, code });
    expect(problem.requestId).toBe(res.headers.get("x-request-id"));
    return problem;
  });
}

describe.each(DRIVERS)("API middleware (%s)", (driver) => {
  describe("authentication and request ids", () => {
    let t: TestContext;
    let app: ReturnType<typeof createApp>;

    beforeAll(async () => {
      t = await createTestContext(driver);
      app = createApp(t.deps);
    });
    afterAll(async () => {
      await t?.close();
    });

    it("answers 401 without a usable API key, with a WWW-Authenticate challenge", async () => {
      const alice = await t.account();
      const cases: Record<string, string>[] = [
        {},
        { authorization: "" },
        { authorization: `Basic ${Buffer.from("alice:secret").toString("base64")}` },
        { authorization: "Bearer" },
        { authorization: `Bearer ${alice.key}x` },
        { authorization: "Bearer em_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" },
        { authorization: `Bearer ${alice.key.slice(3)}` },
        { authorization: `Token ${alice.key}` },
      ];
      for (const headers of cases) {
        for (const path of ["/v1/uploads", "/v1/webhooks"]) {
          const res = await app.request(path, { headers });
          const problem = await expectProblem(res, 401, "unauthorized");
          expect(problem.detail).not.toContain(alice.key);
          expect(res.headers.get("www-authenticate")).toMatch(/^Bearer realm="earmark"/);
        }
      }
      // The same key, well formed, works (scheme is case-insensitive).
      expect((await app.request("/v1/uploads", { headers: alice.auth })).status).toBe(200);
      expect(
        (await app.request("/v1/uploads", { headers: { authorization: `bearer ${alice.key}` } })).status,
      ).toBe(200);
    });

    it("refuses a key once it is revoked, and only that key", async () => {
      const alice = await t.account();
      const second = await createApiKey(t.deps.database.db, alice.id, "ci");
      const auth = { authorization: `Bearer ${second.key}` };
      expect((await app.request("/v1/uploads", { headers: auth })).status).toBe(200);
      expect(await revokeApiKey(t.deps.database.db, second.id)).toBe(true);
      const res = await app.request("/v1/uploads", { headers: auth });
      const problem = await expectProblem(res, 401, "unauthorized");
      expect(problem.detail).toMatch(/revoked/);
      expect(res.headers.get("www-authenticate")).toContain('error="invalid_token"');
      expect((await app.request("/v1/webhooks", { headers: auth })).status).toBe(401);
      // The account's other key is unaffected.
      expect((await app.request("/v1/uploads", { headers: alice.auth })).status).toBe(200);
    });

    it("echoes a sane x-request-id and replaces anything else", async () => {
      const alice = await t.account();
      for (const id of ["req-1", "0f4c.a:b_c-D", "a".repeat(128)]) {
        const res = await app.request("/v1/uploads", { headers: { ...alice.auth, "x-request-id": id } });
        expect(res.status).toBe(200);
        expect(res.headers.get("x-request-id")).toBe(id);
        // Problems quote it too.
        const problem = await app.request("/v1/uploads/nope", {
          headers: { ...alice.auth, "x-request-id": id },
        });
        expect(problem.headers.get("x-request-id")).toBe(id);
        expect(problemSchema.parse(await problem.json()).requestId).toBe(id);
      }
      const seen = new Set<string>();
      for (const id of [
        undefined,
        "",
        "has spaces",
        "a".repeat(129),
        "<script>alert(1)</script>",
        'quo"te',
        "a\tb",
      ]) {
        const res = await app.request("/healthz", {
          headers: id === undefined ? {} : { "x-request-id": id },
        });
        const got = res.headers.get("x-request-id")!;
        expect(got, String(id)).toMatch(UUID);
        seen.add(got);
      }
      expect(seen.size).toBe(7);
    });

    it("answers unknown routes with a 404 problem, known paths with another method with a 405", async () => {
      const alice = await t.account();
      const res = await app.request("/nothing/here?x=1");
      const problem = await expectProblem(res, 404, "not-found");
      expect(problem.instance).toBe("/nothing/here");
      expect(problem.type).toBe("http://localhost/problems/not-found");
      await expectProblem(await app.request("/v1/nothing", { headers: alice.auth }), 404, "not-found");
      await expectProblem(
        await app.request("/v1/uploads", { method: "PATCH", headers: alice.auth }),
        405,
        "method-not-allowed",
      );
      // Under /v1 the key is checked first: nothing about the API is revealed without one.
      await expectProblem(await app.request("/v1/nothing"), 401, "unauthorized");
    });

    it("answers an unhandled error with a 500 problem that reveals nothing, and logs it", async () => {
      const lines: Record<string, unknown>[] = [];
      const logger = pino(
        { level: "error" },
        new Writable({
          write(chunk, _enc, done) {
            lines.push(JSON.parse(String(chunk)));
            done();
          },
        }),
      );
      const blobs = new FsBlobStore(t.dir);
      const secret = "EACCES: permission denied, open '/srv/earmark-internal/blobs/tmp/upl_x'";
      blobs.put = async () => {
        throw new Error(secret);
      };
      const broken = createApp({ ...t.deps, blobs, logger });
      const alice = await t.account();
      const res = await broken.request("/v1/uploads", {
        method: "POST",
        body: multipart(encodeWav(makeSignal({ seconds: 0.5 }))),
        headers: { ...alice.auth, "x-request-id": "trace-500" },
      });
      const text = await res.clone().text();
      const problem = await expectProblem(res, 500, "internal");
      expect(problem.requestId).toBe("trace-500");
      expect(problem.title).toBe("Internal error");
      for (const leak of ["EACCES", "/srv/", "earmark-internal", "stack", "    at ", ".ts:", "Error:"])
        expect(text, leak).not.toContain(leak);
      expect(Object.keys(problem).sort()).toEqual([
        "code",
        "detail",
        "instance",
        "requestId",
        "status",
        "title",
        "type",
      ]);
      // The operator gets the details, tied to the request id the client can quote.
      const logged = lines.find((l) => l.msg === "unhandled error");
      expect(logged).toMatchObject({ requestId: "trace-500", path: "/v1/uploads" });
      expect(JSON.stringify(logged)).toContain("EACCES");
    });
  });

  describe("rate limits", () => {
    let t: TestContext;
    let app: ReturnType<typeof createApp>;

    beforeAll(async () => {
      t = await createTestContext(driver, {
        env: { EARMARK_RATE_LIMIT_PER_MINUTE: "3", EARMARK_UPLOADS_PER_HOUR: "2" },
      });
      app = createApp(t.deps);
    });
    afterAll(async () => {
      await t?.close();
    });

    function limitHeaders(res: Response) {
      return {
        limit: res.headers.get("ratelimit-limit"),
        remaining: res.headers.get("ratelimit-remaining"),
        reset: Number(res.headers.get("ratelimit-reset")),
      };
    }

    it("allows the per-minute number of requests, then answers 429 with Retry-After", async () => {
      await awayFromWindowEdge(t.deps.database.db, 60);
      const alice = await t.account();
      const bob = await t.account();
      const paths = ["/v1/uploads", "/v1/webhooks", "/v1/uploads"];
      for (const [i, path] of paths.entries()) {
        const res = await app.request(path, { headers: alice.auth });
        expect(res.status, path).toBe(200);
        const h = limitHeaders(res);
        expect(h.limit).toBe("3");
        expect(h.remaining).toBe(String(2 - i));
        expect(Number.isInteger(h.reset) && h.reset >= 1 && h.reset <= 60, String(h.reset)).toBe(true);
      }
      const res = await app.request("/v1/webhooks", { headers: alice.auth });
      const retryAfter = res.headers.get("retry-after")!;
      expect(retryAfter).toMatch(/^\d+$/);
      expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
      expect(Number(retryAfter)).toBeLessThanOrEqual(60);
      expect(limitHeaders(res)).toEqual({ limit: "3", remaining: "0", reset: Number(retryAfter) });
      const problem = await expectProblem(res, 429, "rate-limited");
      expect(problem).toMatchObject({ limit: 3, retryAfterS: Number(retryAfter) });
      // Still limited on any other route, and it does not count as work done.
      expect((await app.request("/v1/uploads", { headers: alice.auth })).status).toBe(429);

      // Another account has its own window.
      const other = await app.request("/v1/uploads", { headers: bob.auth });
      expect(other.status).toBe(200);
      expect(limitHeaders(other)).toMatchObject({ limit: "3", remaining: "2" });
      // Operations endpoints are not limited.
      expect((await app.request("/healthz")).status).toBe(200);
    });

    it("honours a per-account override of the request limit", async () => {
      await awayFromWindowEdge(t.deps.database.db, 60);
      const carol = await t.account();
      await t.deps.database.db
        .update(accounts)
        .set({ rateLimitPerMinute: 1 })
        .where(eq(accounts.id, carol.id));
      expect((await app.request("/v1/uploads", { headers: carol.auth })).status).toBe(200);
      const res = await app.request("/v1/uploads", { headers: carol.auth });
      expect((await expectProblem(res, 429, "rate-limited")).limit).toBe(1);
      expect(res.headers.get("ratelimit-limit")).toBe("1");
    });

    it("limits uploads per hour, describing that limit in the 429", async () => {
      await awayFromWindowEdge(t.deps.database.db, 3600);
      const dave = await t.account();
      const erin = await t.account();
      // Room for the requests themselves: this is about the hourly upload limit (2), not the per-minute one.
      await t.deps.database.db
        .update(accounts)
        .set({ rateLimitPerMinute: 100 })
        .where(eq(accounts.id, dave.id));
      const wav = encodeWav(makeSignal({ seconds: 0.5 }));
      const send = (auth: { authorization: string }) =>
        app.request("/v1/uploads", { method: "POST", body: multipart(wav), headers: auth });
      expect((await send(dave.auth)).status).toBe(202);
      expect((await send(dave.auth)).status).toBe(202);
      const res = await send(dave.auth);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
      expect(retryAfter).toBeGreaterThanOrEqual(1);
      expect(retryAfter).toBeLessThanOrEqual(3600);
      expect(limitHeaders(res)).toEqual({ limit: "2", remaining: "0", reset: retryAfter });
      const problem = await expectProblem(res, 429, "rate-limited");
      expect(problem).toMatchObject({ limit: 2, retryAfterS: retryAfter });
      expect(problem.detail).toMatch(/uploads per hour/);
      // Nothing was stored for the refused upload.
      const list = (await (await app.request("/v1/uploads", { headers: dave.auth })).json()) as {
        data: unknown[];
      };
      expect(list.data).toHaveLength(2);
      // Reading is not uploading: other requests still pass.
      expect((await app.request("/v1/webhooks", { headers: dave.auth })).status).toBe(200);
      // Another account uploads freely.
      expect((await send(erin.auth)).status).toBe(202);
    });
  });
});
