import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { Logger } from "pino";
import type { Database } from "../db/client.js";
import type { JobRow } from "../db/schema/index.js";
import { claimJob, completeJob, extendLease, failJob, JOBS_CHANNEL, retryJob } from "./queue.js";

export interface JobContext {
  /** Aborted when the lease is lost or the worker is stopping; handlers check it between steps. */
  signal: AbortSignal;
  workerId: string;
}

/** How one kind of job is run, retried and given up on. */
export interface JobKindSpec {
  run(job: JobRow, ctx: JobContext): Promise<void>;
  /** Seconds to wait before attempt `attempt + 1`. */
  retryDelayS(attempt: number): number;
  /** Called once when the last attempt failed; records the failure where users will see it. */
  onExhausted(job: JobRow, error: string): Promise<void>;
}

export interface WorkerOptions {
  database: Database;
  kinds: Record<string, JobKindSpec>;
  concurrency: number;
  leaseS: number;
  pollMs?: number;
  logger: Logger;
  /** Periodic housekeeping (pruning), run by one slot every `maintenanceMs`. */
  maintenance?: () => Promise<void>;
  maintenanceMs?: number;
}

export interface Worker {
  readonly id: string;
  start(): Promise<void>;
  /** Stops claiming, waits up to `graceMs` for running jobs, then aborts them (their leases will lapse). */
  stop(graceMs?: number): Promise<void>;
  /** Resolves when no job is running and none is due (tests and `earmark ingest`). */
  idle(): Promise<void>;
}

const errorText = (err: unknown) => (err instanceof Error ? err.message : String(err));

/**
 * Runs jobs from the database queue: `concurrency` slots, each claiming one job at a time, extending its
 * lease while it runs. Delivery is at-least-once, so every job kind must be idempotent.
 */
export function createWorker(opts: WorkerOptions): Worker {
  const id = `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const pollMs = opts.pollMs ?? 1000;
  const db = opts.database.db;
  const kinds = Object.keys(opts.kinds);
  let running = false;
  const slots: Promise<void>[] = [];
  const inFlight = new Map<string, AbortController>();
  const wakeup = new Wakeup();
  // Each waiter holds the wake-up generation it was registered at: only an empty claim that began after that
  // proves the queue was empty when the caller asked (an earlier claim may predate the caller's commit).
  const idleWaiters: { since: number; resolve: () => void }[] = [];
  let unlisten: (() => Promise<void>) | null = null;
  let maintenanceTimer: NodeJS.Timeout | null = null;

  async function runOne(job: JobRow): Promise<void> {
    const spec = opts.kinds[job.kind]!;
    const log = opts.logger.child({ jobId: job.id, kind: job.kind, attempt: job.attempts });
    if (job.attempts > job.maxAttempts) {
      const reason = job.lastError ?? "every attempt stopped without finishing";
      log.error({ reason }, "job out of attempts");
      await spec.onExhausted(job, reason);
      await failJob(db, job.id, reason);
      return;
    }
    const controller = new AbortController();
    inFlight.set(job.id, controller);
    const beat = setInterval(
      () => {
        extendLease(db, job.id, id, opts.leaseS)
          .then((ours) => {
            if (!ours) controller.abort(new Error("lease lost"));
          })
          .catch((err) => log.warn({ err: errorText(err) }, "lease extension failed"));
      },
      Math.max(200, (opts.leaseS * 1000) / 3),
    );
    try {
      await spec.run(job, { signal: controller.signal, workerId: id });
      await completeJob(db, job.id, id);
      log.debug("job done");
    } catch (err) {
      const message = errorText(err);
      if (controller.signal.aborted) {
        log.warn({ err: message }, "job aborted; it will be retried when its lease lapses");
      } else if (job.attempts >= job.maxAttempts) {
        log.error({ err: message }, "job failed on its last attempt");
        await spec.onExhausted(job, message);
        await failJob(db, job.id, message);
      } else {
        const delay = spec.retryDelayS(job.attempts);
        log.warn({ err: message, retryInS: delay }, "job failed; will retry");
        await retryJob(db, job.id, id, message, delay);
      }
    } finally {
      clearInterval(beat);
      inFlight.delete(job.id);
    }
  }

  async function slot(): Promise<void> {
    while (running) {
      const seen = wakeup.generation;
      let job: JobRow | null = null;
      try {
        job = await claimJob(db, id, kinds, opts.leaseS);
      } catch (err) {
        opts.logger.error({ err: errorText(err) }, "claiming a job failed");
      }
      if (!job) {
        if (inFlight.size === 0) {
          for (const w of idleWaiters.filter((x) => seen >= x.since)) {
            idleWaiters.splice(idleWaiters.indexOf(w), 1);
            w.resolve();
          }
        }
        await wakeup.wait(seen, pollMs);
        continue;
      }
      try {
        await runOne(job);
      } catch (err) {
        // Bookkeeping itself failed (database gone?): the lease will lapse and the job will be retried.
        opts.logger.error({ err: errorText(err), jobId: job.id }, "job bookkeeping failed");
      }
    }
  }

  return {
    id,
    async start() {
      if (running) return;
      running = true;
      unlisten = await opts.database.listen(JOBS_CHANNEL, () => wakeup.notify()).catch(() => null);
      for (let i = 0; i < opts.concurrency; i++) slots.push(slot());
      if (opts.maintenance) {
        const tick = () =>
          opts
            .maintenance?.()
            .catch((err) => opts.logger.warn({ err: errorText(err) }, "maintenance failed"));
        maintenanceTimer = setInterval(tick, opts.maintenanceMs ?? 60_000);
        maintenanceTimer.unref();
      }
    },
    async stop(graceMs = 30_000) {
      running = false;
      wakeup.notify();
      if (maintenanceTimer) clearInterval(maintenanceTimer);
      const all = Promise.all(slots.splice(0));
      const timer = new Promise<void>((r) => setTimeout(r, graceMs).unref());
      await Promise.race([all, timer]);
      for (const c of inFlight.values()) c.abort(new Error("worker stopping"));
      await all;
      await unlisten?.().catch(() => {});
      for (const w of idleWaiters.splice(0)) w.resolve();
    },
    idle() {
      if (!running) return Promise.reject(new Error("the worker is not running"));
      return new Promise<void>((resolve) => {
        wakeup.notify();
        idleWaiters.push({ since: wakeup.generation, resolve });
      });
    },
  };
}

/** Wakes sleeping slots early. A notify between a slot's claim and its wait is not lost: the generation moved. */
class Wakeup {
  generation = 0;
  private readonly waiters = new Set<() => void>();

  wait(seen: number, ms: number): Promise<void> {
    if (seen !== this.generation) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.waiters.add(done);
    });
  }

  notify(): void {
    this.generation++;
    for (const w of [...this.waiters]) w();
  }
}
