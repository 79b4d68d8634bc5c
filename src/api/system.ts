import { createRoute, z } from "@hono/zod-openapi";
import { sql } from "drizzle-orm";
import { ApiError, ERRORS, type ErrorCode } from "../errors.js";
import type { App } from "./context.js";
import { problemResponses, problemSchema } from "./problem.js";

const Health = z.object({ status: z.literal("ok") }).openapi("Health");
const Checks = z.object({ database: z.string(), blobStore: z.string() });
const Readiness = z.object({ status: z.literal("ready"), checks: Checks }).openapi("Readiness");
/** Not ready is an error like any other: a problem (code `unavailable`) that also carries the checks. */
const NotReady = problemSchema.extend({ checks: Checks }).openapi("NotReady");

export const healthRoute = createRoute({
  method: "get",
  path: "/healthz",
  tags: ["Operations"],
  summary: "Liveness: the process answers",
  responses: { 200: { description: "Alive.", content: { "application/json": { schema: Health } } } },
});

export const readyRoute = createRoute({
  method: "get",
  path: "/readyz",
  tags: ["Operations"],
  summary: "Readiness: the database and blob store are reachable",
  responses: {
    200: { description: "Ready.", content: { "application/json": { schema: Readiness } } },
    503: {
      description: "Not ready: the checks name what failed.",
      content: { "application/problem+json": { schema: NotReady } },
    },
  },
});

export const metricsRoute = createRoute({
  method: "get",
  path: "/metrics",
  tags: ["Operations"],
  summary: "Prometheus metrics",
  description:
    "Uploads by status and queue depth (from the database), stage durations, HTTP request counts and latencies (this process).",
  responses: {
    200: { description: "Prometheus text format.", content: { "text/plain": { schema: z.string() } } },
  },
});

const ProblemType = z
  .object({
    code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
    status: z.number().int(),
    title: z.string(),
  })
  .openapi("ProblemType");

export const problemTypeRoute = createRoute({
  method: "get",
  path: "/problems/{code}",
  tags: ["Operations"],
  summary: "What a problem `code` means",
  description: "The `type` of every problem document points here.",
  request: {
    params: z.object({
      code: z.string().openapi({ param: { name: "code", in: "path" }, example: "rate-limited" }),
    }),
  },
  responses: {
    200: { description: "The problem type.", content: { "application/json": { schema: ProblemType } } },
    ...problemResponses(404),
  },
});

async function check(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
    return "ok";
  } catch (err) {
    if (!(err instanceof Error)) return String(err);
    // Drivers wrap the reason ("Failed query: select 1") around the useful part (the connection is gone).
    return err.cause instanceof Error ? `${err.message.split("\n")[0]}: ${err.cause.message}` : err.message;
  }
}

export function registerSystemRoutes(app: App) {
  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const }, 200));

  app.openapi(readyRoute, async (c) => {
    const deps = c.get("deps");
    const [database, blobStore] = await Promise.all([
      check(() => deps.database.db.execute(sql`select 1`)),
      check(() => deps.blobs.check()),
    ]);
    if (database !== "ok" || blobStore !== "ok") {
      const failing = Object.entries({ database, blobStore }).filter(([, v]) => v !== "ok");
      throw new ApiError(
        "unavailable",
        `Not ready: ${failing.map(([k, v]) => `${k === "blobStore" ? "blob store" : k}: ${v}`).join("; ")}`,
        { checks: { database, blobStore } },
      );
    }
    return c.json({ status: "ready" as const, checks: { database, blobStore } }, 200);
  });

  app.openapi(metricsRoute, async (c) => {
    const registry = c.get("deps").metrics.registry;
    return c.text(await registry.metrics(), 200, { "content-type": registry.contentType });
  });

  // Problem types are dereferenceable: each code has a short page.
  app.openapi(problemTypeRoute, (c) => {
    const { code } = c.req.valid("param");
    // Own keys only: "constructor" or "toString" are not problem codes.
    if (!Object.hasOwn(ERRORS, code)) throw new ApiError("not-found", `There is no problem type ${code}.`);
    const e = ERRORS[code as ErrorCode];
    return c.json({ code: code as ErrorCode, status: e.status, title: e.title }, 200);
  });
}
