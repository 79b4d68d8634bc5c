import { eq } from "drizzle-orm";
import { pruneRateLimitWindows } from "../accounts/rate-limit.js";
import { uploads } from "../db/schema/index.js";
import type { Deps } from "../deps.js";
import { failUpload, processUpload } from "../pipeline/orchestrator.js";
import { deliverWebhook, giveUpDelivery } from "../webhooks/deliver.js";
import { pruneJobs } from "./queue.js";
import { createWorker, type JobKindSpec, type Worker } from "./worker.js";

/** How each kind of job runs, is retried, and is given up on. */
export function jobKinds(deps: Deps): Record<string, JobKindSpec> {
  const db = deps.database.db;
  const schedule = deps.config.webhooks.retryScheduleS;
  return {
    "process-upload": {
      run: (job, ctx) =>
        processUpload(deps, String(job.payload.uploadId), { signal: ctx.signal, attempt: job.attempts }),
      retryDelayS: (attempt) => deps.config.jobs.retryBaseS * 2 ** (attempt - 1),
      async onExhausted(job, error) {
        const [row] = await db
          .select()
          .from(uploads)
          .where(eq(uploads.id, String(job.payload.uploadId)));
        if (!row) return;
        await failUpload(deps, row, {
          code: "processing-failed",
          detail: `Processing failed ${Math.min(job.attempts, job.maxAttempts)} times; the last error: ${error}`,
          stage: /^stage (\w+):/.exec(error)?.[1] ?? null,
          attempts: Math.min(job.attempts, job.maxAttempts),
        });
      },
    },
    "deliver-webhook": {
      run: (job, ctx) =>
        deliverWebhook(db, String(job.payload.deliveryId), {
          timeoutMs: deps.config.webhooks.timeoutMs,
          fetch: deps.fetch,
          signal: ctx.signal,
        }),
      retryDelayS: (attempt) => schedule[Math.min(attempt, schedule.length) - 1] ?? 60,
      onExhausted: async (job) => {
        const { disabledEndpoint } = await giveUpDelivery(db, String(job.payload.deliveryId), {
          disableAfter: deps.config.webhooks.disableAfter,
        });
        if (disabledEndpoint)
          deps.logger.warn(
            { endpointId: disabledEndpoint, after: deps.config.webhooks.disableAfter },
            "webhook endpoint disabled: its recent deliveries all failed",
          );
      },
    },
  };
}

/** A worker running every job kind, with housekeeping. */
export function startWorker(deps: Deps, concurrency: number, opts: { pollMs?: number } = {}): Worker {
  const worker = createWorker({
    database: deps.database,
    kinds: jobKinds(deps),
    concurrency,
    leaseS: deps.config.jobs.leaseS,
    pollMs: opts.pollMs,
    logger: deps.logger.child({ component: "worker" }),
    maintenance: async () => {
      await pruneRateLimitWindows(deps.database.db);
      await pruneJobs(deps.database.db, 7);
    },
  });
  void worker.start();
  return worker;
}
