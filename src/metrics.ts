import { sql } from "drizzle-orm";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { Db } from "./db/client.js";
import { UPLOAD_STATUSES, uploads } from "./db/schema/index.js";
import { queueDepth } from "./jobs/queue.js";

export interface Metrics {
  registry: Registry;
  uploadsReceived: Counter<"format">;
  stageDuration: Histogram<"stage">;
  httpRequests: Counter<"method" | "route" | "status">;
  httpDuration: Histogram<"method" | "route">;
}

/**
 * Prometheus metrics. Counters and histograms are per process (each API node or worker exposes its own);
 * uploads by status and queue depth are read from the database at scrape time, so any node reports the truth.
 */
export function createMetrics(db: Db): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "earmark_process_" });
  new Gauge({
    name: "earmark_uploads",
    help: "Uploads by status (from the database).",
    labelNames: ["status"],
    registers: [registry],
    async collect() {
      const rows = await db
        .select({ status: uploads.status, n: sql<number>`count(*)::int` })
        .from(uploads)
        .groupBy(uploads.status);
      for (const s of UPLOAD_STATUSES) this.set({ status: s }, rows.find((r) => r.status === s)?.n ?? 0);
    },
  });
  new Gauge({
    name: "earmark_queue_jobs",
    help: "Jobs queued or running, by kind (from the database).",
    labelNames: ["kind", "status"],
    registers: [registry],
    async collect() {
      this.reset();
      for (const kind of ["process-upload", "deliver-webhook"])
        for (const status of ["queued", "running"]) this.set({ kind, status }, 0);
      for (const r of await queueDepth(db)) this.set({ kind: r.kind, status: r.status }, r.count);
    },
  });
  return {
    registry,
    uploadsReceived: new Counter({
      name: "earmark_uploads_received_total",
      help: "Uploads acknowledged by this process.",
      labelNames: ["format"],
      registers: [registry],
    }),
    stageDuration: new Histogram({
      name: "earmark_stage_duration_seconds",
      help: "Time spent in each pipeline stage (this process's workers).",
      labelNames: ["stage"],
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300],
      registers: [registry],
    }),
    httpRequests: new Counter({
      name: "earmark_http_requests_total",
      help: "HTTP requests answered, by route and status.",
      labelNames: ["method", "route", "status"],
      registers: [registry],
    }),
    httpDuration: new Histogram({
      name: "earmark_http_request_duration_seconds",
      help: "HTTP request latency by route.",
      labelNames: ["method", "route"],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10, 60],
      registers: [registry],
    }),
  };
}
