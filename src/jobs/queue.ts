import { and, eq, inArray, lt, lte, or, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.js";
import { type JobRow, jobs } from "../db/schema/index.js";
import { newId } from "../ids.js";

/** Channel on which enqueues are announced, so idle workers wake at once instead of at their next poll. */
export const JOBS_CHANNEL = "earmark_jobs";

export type JobKind = "process-upload" | "deliver-webhook";

/**
 * Adds a job. Call it inside the transaction that creates the work (an upload row, a delivery row), so the
 * job exists exactly when the work does. The notification is sent when that transaction commits.
 */
export async function enqueueJob(
  db: Db | Tx,
  kind: JobKind,
  payload: Record<string, unknown>,
  opts: { maxAttempts: number; delayS?: number },
): Promise<string> {
  const id = newId("job");
  await db.insert(jobs).values({
    id,
    kind,
    payload,
    maxAttempts: opts.maxAttempts,
    runAt: opts.delayS ? sql`now() + make_interval(secs => ${opts.delayS})` : sql`now()`,
  });
  await db.execute(sql`select pg_notify(${JOBS_CHANNEL}, ${kind})`);
  return id;
}

/**
 * Claims the next runnable job: queued and due, or running with a lapsed lease (its worker died). Uses
 * `FOR UPDATE SKIP LOCKED` so concurrent workers never claim the same job. Each claim counts an attempt.
 */
export async function claimJob(
  db: Db,
  workerId: string,
  kinds: readonly string[],
  leaseS: number,
): Promise<JobRow | null> {
  const next = db
    .select({ id: jobs.id })
    .from(jobs)
    .where(
      and(
        inArray(jobs.kind, [...kinds]),
        or(
          and(eq(jobs.status, "queued"), lte(jobs.runAt, sql`now()`)),
          and(eq(jobs.status, "running"), lt(jobs.lockedUntil, sql`now()`)),
        ),
      ),
    )
    .orderBy(jobs.runAt, jobs.id)
    .limit(1)
    .for("update", { skipLocked: true });
  const [job] = await db
    .update(jobs)
    .set({
      status: "running",
      lockedBy: workerId,
      lockedUntil: sql`now() + make_interval(secs => ${leaseS})`,
      attempts: sql`${jobs.attempts} + 1`,
      // Column references in SET read the old row: a running job being claimed again lost its worker.
      lastError: sql`case when ${jobs.status} = 'running'
        then 'attempt ' || ${jobs.attempts} || ' stopped without finishing: its worker crashed, was killed or lost the database'
        else ${jobs.lastError} end`,
    })
    .where(inArray(jobs.id, next))
    .returning();
  return job ?? null;
}

/** Extends the lease. False when the job is no longer ours (the lease lapsed and another worker took it). */
export async function extendLease(db: Db, jobId: string, workerId: string, leaseS: number): Promise<boolean> {
  const rows = await db
    .update(jobs)
    .set({ lockedUntil: sql`now() + make_interval(secs => ${leaseS})` })
    .where(and(eq(jobs.id, jobId), eq(jobs.lockedBy, workerId), eq(jobs.status, "running")))
    .returning({ id: jobs.id });
  return rows.length > 0;
}

export async function completeJob(db: Db | Tx, jobId: string, workerId: string): Promise<void> {
  await db
    .update(jobs)
    .set({ status: "done", finishedAt: sql`now()`, lockedBy: null, lockedUntil: null })
    .where(and(eq(jobs.id, jobId), eq(jobs.lockedBy, workerId)));
}

export async function retryJob(
  db: Db,
  jobId: string,
  workerId: string,
  error: string,
  delayS: number,
): Promise<void> {
  await db
    .update(jobs)
    .set({
      status: "queued",
      lastError: error,
      runAt: sql`now() + make_interval(secs => ${delayS})`,
      lockedBy: null,
      lockedUntil: null,
    })
    .where(and(eq(jobs.id, jobId), eq(jobs.lockedBy, workerId)));
}

export async function failJob(db: Db | Tx, jobId: string, error: string): Promise<void> {
  await db
    .update(jobs)
    .set({ status: "failed", lastError: error, finishedAt: sql`now()`, lockedBy: null, lockedUntil: null })
    .where(eq(jobs.id, jobId));
}

/** Jobs waiting and running, by kind — the queue depth reported in /metrics. */
export async function queueDepth(db: Db): Promise<{ kind: string; status: string; count: number }[]> {
  return db
    .select({ kind: jobs.kind, status: jobs.status, count: sql<number>`count(*)::int` })
    .from(jobs)
    .where(inArray(jobs.status, ["queued", "running"]))
    .groupBy(jobs.kind, jobs.status);
}

/** Forgets finished jobs older than `days`; their outcome lives on in the rows they worked on. */
export async function pruneJobs(db: Db, days: number): Promise<void> {
  await db
    .delete(jobs)
    .where(
      and(
        inArray(jobs.status, ["done", "failed"]),
        lt(jobs.finishedAt, sql`now() - make_interval(days => ${days})`),
      ),
    );
}

/** Claims the queued processing job of one upload (used by `earmark ingest` to process its own files). */
export async function claimUploadJob(
  db: Db,
  workerId: string,
  uploadId: string,
  leaseS: number,
): Promise<JobRow | null> {
  const [job] = await db
    .update(jobs)
    .set({
      status: "running",
      lockedBy: workerId,
      lockedUntil: sql`now() + make_interval(secs => ${leaseS})`,
      attempts: sql`${jobs.attempts} + 1`,
    })
    .where(
      and(
        eq(jobs.kind, "process-upload"),
        eq(jobs.status, "queued"),
        sql`${jobs.payload}->>'uploadId' = ${uploadId}`,
      ),
    )
    .returning();
  return job ?? null;
}
