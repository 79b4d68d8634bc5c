import { writeFile } from "node:fs/promises";
import path from "node:path";
import { sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corruptMp3, encodeWav, makeSignal } from "../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { multipart } from "../../test/harness/http.js";
import { createApp } from "../app.js";
import { openDatabase, rowsOf } from "../db/client.js";
import { ERRORS } from "../errors.js";
import { startWorker } from "../jobs/kinds.js";
import type { Worker } from "../jobs/worker.js";
import { FsBlobStore } from "../storage/fs-blob-store.js";
import { problemSchema } from "./problem.js";

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/**
 * Parses the Prometheus text exposition format (0.0.4) strictly enough to reject anything a scraper would:
 * every line is a HELP/TYPE comment or a sample, every sample belongs to a family with a TYPE declared before
 * it, and no series appears twice.
 */
function parsePrometheus(text: string): { samples: Sample[]; types: Map<string, string> } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const seen = new Set<string>();
  const NAME = "[a-zA-Z_:][a-zA-Z0-9_:]*";
  const comment = new RegExp(`^# (HELP|TYPE) (${NAME}) (.*)$`);
  const sample = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (\\S+)(?: -?\\d+)?$`);
  const label = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(?:,|$)/;
  expect(text.endsWith("\n")).toBe(true);
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    const c = comment.exec(line);
    if (c) {
      if (c[1] === "TYPE") {
        expect(["counter", "gauge", "histogram", "summary", "untyped"], line).toContain(c[3]);
        expect(types.has(c[2]!), `TYPE declared twice: ${line}`).toBe(false);
        types.set(c[2]!, c[3]!);
      }
      continue;
    }
    const s = sample.exec(line);
    expect(s, `not a valid exposition line: ${line}`).not.toBeNull();
    const [, name, rawLabels = "", rawValue] = s!;
    const family = [...types.keys()].find(
      (f) => name === f || (["histogram", "summary"].includes(types.get(f)!) && name!.startsWith(`${f}_`)),
    );
    expect(family, `sample before its TYPE: ${line}`).toBeDefined();
    const labels: Record<string, string> = {};
    let rest = rawLabels;
    while (rest.length > 0) {
      const m = label.exec(rest);
      expect(m, `bad labels in: ${line}`).not.toBeNull();
      labels[m![1]!] = m![2]!;
      rest = rest.slice(m![0].length);
    }
    // prom-client writes NaN as "Nan"; Prometheus parses values with Go's ParseFloat, case-insensitive for NaN.
    const value = rawValue === "+Inf" ? Infinity : rawValue === "-Inf" ? -Infinity : Number(rawValue);
    expect(Number.isNaN(value) && !/^nan$/i.test(rawValue!), `bad value: ${line}`).toBe(false);
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    expect(seen.has(key), `duplicate series: ${line}`).toBe(false);
    seen.add(key);
    samples.push({ name: name!, labels, value });
  }
  return { samples, types };
}

function sampleValue(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

describe.each(DRIVERS)("operations endpoints (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;

  beforeAll(async () => {
    t = await createTestContext(driver);
    app = createApp(t.deps);
  });
  afterAll(async () => {
    await t?.close();
  });

  it("answers /healthz without authentication", async () => {
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect(await res.json()).toEqual({ status: "ok" });
  });

  it("is ready when the database and the blob store work", async () => {
    const res = await app.request("/readyz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ready", checks: { database: "ok", blobStore: "ok" } });
  });

  it("is not ready, naming the blob store, when the blob store cannot be written", async () => {
    // A real store whose directory cannot exist: its parent is a regular file (fails even as root).
    const file = path.join(t.dir, "not-a-directory");
    await writeFile(file, "x");
    const blobs = new FsBlobStore(path.join(file, "blobs"));
    await expect(blobs.check()).rejects.toThrow();
    const res = await createApp({ ...t.deps, blobs }).request("/readyz");
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as { code: string; detail: string; checks: Record<string, string> };
    expect(body.code).toBe("unavailable");
    expect(body.detail).toMatch(/^Not ready: blob store: .*(ENOTDIR|not a directory)/i);
    expect(body.checks.database).toBe("ok");
    expect(body.checks.blobStore).toMatch(/ENOTDIR|not a directory/i);
    // The healthy app is unaffected.
    expect((await app.request("/readyz")).status).toBe(200);
  });

  it("is not ready, naming the database, when the database is closed", async () => {
    const closed = await openDatabase(
      driver === "postgres"
        ? { kind: "postgres", url: process.env.DATABASE_URL! }
        : { kind: "pglite", dataDir: null },
    );
    await closed.close();
    const res = await createApp({ ...t.deps, database: closed }).request("/readyz");
    expect(res.status).toBe(503);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = (await res.json()) as { code: string; detail: string; checks: Record<string, string> };
    expect(body.code).toBe("unavailable");
    expect(body.detail).toMatch(/^Not ready: database: /);
    expect(body.checks.blobStore).toBe("ok");
    expect(body.checks.database).not.toBe("ok");
    // The reason, not just the query that failed.
    expect(body.checks.database).toMatch(/closed|ended/i);
  });

  describe("/metrics", () => {
    let worker: Worker;
    let text: string;
    let samples: Sample[];
    let types: Map<string, string>;
    const uploaded: string[] = [];

    beforeAll(async () => {
      const alice = await t.account();
      const bob = await t.account();
      const wav = encodeWav(makeSignal({ seconds: 1 }));
      const send = async (auth: { authorization: string }, bytes: Uint8Array) => {
        const res = await app.request("/v1/uploads", {
          method: "POST",
          body: multipart(bytes),
          headers: auth,
        });
        expect(res.status).toBe(202);
        uploaded.push(((await res.json()) as { id: string }).id);
      };
      await send(alice.auth, wav);
      await send(alice.auth, wav);
      await send(bob.auth, wav);
      await send(bob.auth, await corruptMp3());
      worker = startWorker(t.deps, 1, { pollMs: 50 });
      await worker.idle();
      await worker.stop();
      // One more that nobody processes: it waits in the queue.
      await send(alice.auth, wav);
      const res = await app.request("/metrics");
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
      text = await res.text();
      ({ samples, types } = parsePrometheus(text));
    });

    it("is valid Prometheus text with help and type for every family", () => {
      for (const [family, type] of types) {
        expect(text, family).toContain(`# HELP ${family} `);
        expect(type).toBeTruthy();
      }
      expect(types.get("earmark_uploads")).toBe("gauge");
      expect(types.get("earmark_queue_jobs")).toBe("gauge");
      expect(types.get("earmark_stage_duration_seconds")).toBe("histogram");
      expect(types.get("earmark_http_requests_total")).toBe("counter");
    });

    it("reports uploads by status as the database has them", async () => {
      const rows = rowsOf<{ status: string; n: number }>(
        await t.deps.database.db.execute(sql`select status, count(*)::int as n from uploads group by status`),
      );
      const fromDb = Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
      expect(fromDb).toEqual({ decided: 3, failed: 1, received: 1 });
      for (const status of ["received", "processing", "held", "decided", "failed"])
        expect(sampleValue(samples, "earmark_uploads", { status }), status).toBe(fromDb[status] ?? 0);
    });

    it("reports the queue depth by kind and status", () => {
      expect(sampleValue(samples, "earmark_queue_jobs", { kind: "process-upload", status: "queued" })).toBe(
        1,
      );
      expect(sampleValue(samples, "earmark_queue_jobs", { kind: "process-upload", status: "running" })).toBe(
        0,
      );
      expect(sampleValue(samples, "earmark_queue_jobs", { kind: "deliver-webhook", status: "queued" })).toBe(
        0,
      );
    });

    it("has duration histograms for the decode and stats stages", () => {
      for (const stage of ["decode", "stats"]) {
        const buckets = samples.filter(
          (s) => s.name === "earmark_stage_duration_seconds_bucket" && s.labels.stage === stage,
        );
        expect(buckets.length, stage).toBeGreaterThan(1);
        const les = buckets.map((b) => (b.labels.le === "+Inf" ? Infinity : Number(b.labels.le)));
        expect(les).toEqual([...les].sort((a, b) => a - b));
        expect(les.at(-1)).toBe(Infinity);
        const counts = buckets.map((b) => b.value);
        expect(counts).toEqual([...counts].sort((a, b) => a - b));
        const count = sampleValue(samples, "earmark_stage_duration_seconds_count", { stage });
        expect(counts.at(-1)).toBe(count);
        // Three uploads went through both stages; the corrupt one stopped in decode with an audio error.
        expect(count, stage).toBe(3);
        expect(sampleValue(samples, "earmark_stage_duration_seconds_sum", { stage })).toBeGreaterThan(0);
      }
    });

    it("counts HTTP requests by method, route pattern and status", async () => {
      expect(
        sampleValue(samples, "earmark_http_requests_total", {
          method: "POST",
          route: "/v1/uploads",
          status: "202",
        }),
      ).toBe(uploaded.length);
      // Routes are labelled by pattern, not by path, so ids do not explode the series count.
      const id = uploaded[0]!;
      const alice = await t.account();
      await app.request(`/v1/uploads/${id}`, { headers: alice.auth });
      await app.request(`/no/such/${id}`);
      const after = parsePrometheus(await (await app.request("/metrics")).text()).samples;
      const routes = after.filter((s) => s.name === "earmark_http_requests_total").map((s) => s.labels.route);
      expect(routes).toContain("/v1/uploads/:id");
      expect(routes.some((r) => r?.includes(id))).toBe(false);
      // The scrape before this one is counted once it has been answered.
      const scrapes = { method: "GET", route: "/metrics", status: "200" };
      expect(sampleValue(after, "earmark_http_requests_total", scrapes)).toBe(
        (sampleValue(samples, "earmark_http_requests_total", scrapes) ?? 0) + 1,
      );
    });
  });

  it("explains a problem code at /problems/{code}, the `type` of every problem", async () => {
    const res = await app.request("/problems/rate-limited");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      code: "rate-limited",
      status: 429,
      title: ERRORS["rate-limited"].title,
    });
    // A problem's `type` is dereferenceable.
    const problem = problemSchema.parse(await (await app.request("/v1/uploads")).json());
    const type = new URL(problem.type);
    const explained = await app.request(type.pathname);
    expect(explained.status).toBe(200);
    expect(await explained.json()).toMatchObject({ code: "unauthorized", status: 401 });
  });

  it("answers 404 problem+json for codes that do not exist, including inherited property names", async () => {
    for (const code of ["no-such-code", "constructor", "toString", "__proto__", "hasOwnProperty"]) {
      const res = await app.request(`/problems/${code}`);
      expect(res.status, code).toBe(404);
      expect(res.headers.get("content-type"), code).toBe("application/problem+json");
      expect(problemSchema.parse(await res.json()).code).toBe("not-found");
    }
  });

  it("answers 405 with Allow for a path that exists under other methods, 404 for one that does not", async () => {
    const put = await app.request("/healthz", { method: "PUT" });
    expect(put.status).toBe(405);
    expect(put.headers.get("allow")).toBe("GET, HEAD");
    expect(put.headers.get("content-type")).toBe("application/problem+json");
    expect(problemSchema.parse(await put.json())).toMatchObject({
      code: "method-not-allowed",
      detail: "/healthz does not take PUT; it takes GET, HEAD.",
    });
    const { auth } = await t.account();
    const putUpload = await app.request("/v1/uploads/upl_01ABC", { method: "PUT", headers: auth });
    expect(putUpload.status).toBe(405);
    expect(putUpload.headers.get("allow")?.split(", ").sort()).toEqual(["DELETE", "GET", "HEAD"]);
    const patch = await app.request("/v1/uploads", { method: "PATCH", headers: auth });
    expect(patch.headers.get("allow")?.split(", ").sort()).toEqual(["GET", "HEAD", "POST"]);
    const nowhere = await app.request("/v1/nothing/here", { method: "DELETE", headers: auth });
    expect(nowhere.status).toBe(404);
    // Without a key, the API answers 401 before it says anything about its paths.
    expect((await app.request("/v1/uploads", { method: "PATCH" })).status).toBe(401);
  });
});
