/**
 * The database contract: what the queue, the rate limiter and the upload table promise, checked on every
 * driver (PGlite always; Postgres when DATABASE_URL is set). Known differences between the drivers:
 * - PGlite is one connection in one process, so "concurrent" claims there are serialised by the driver;
 *   on Postgres they really race and `FOR UPDATE SKIP LOCKED` is what keeps them apart.
 * - LISTEN/NOTIFY reaches only the same process on PGlite (there is no other process).
 */
import { eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount } from "../src/accounts/accounts.js";
import { DbRateLimiter } from "../src/accounts/rate-limit.js";
import { type Database, openDatabase } from "../src/db/client.js";
import { jobs, uploads } from "../src/db/schema/index.js";
import { newId } from "../src/ids.js";
import {
  claimJob,
  completeJob,
  enqueueJob,
  extendLease,
  failJob,
  JOBS_CHANNEL,
  pruneJobs,
  queueDepth,
  retryJob,
} from "../src/jobs/queue.js";
import { DRIVERS, openTestDatabase, type TestDatabase } from "./harness/deps.js";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.each(DRIVERS)("database contract (%s)", (driver) => {
  let tdb: TestDatabase;
  let database: Database;
  const kind = () => `test-${newId("k").slice(-8)}`;

  beforeAll(async () => {
    tdb = await openTestDatabase(driver);
    database = tdb.database;
  });
  afterAll(() => tdb?.close());

  it("applies every migration, and applying them again changes nothing", async () => {
    await database.migrate();
    const tables = [
      "accounts",
      "api_keys",
      "uploads",
      "jobs",
      "signals",
      "decisions",
      "renditions",
      "webhook_endpoints",
      "webhook_deliveries",
      "webhook_attempts",
      "rate_limit_windows",
    ];
    for (const t of tables) await database.db.execute(sql.raw(`select count(*) from ${t}`));
  });

  it("claims a due job once, counting the attempt and taking a lease", async () => {
    const k = kind();
    const id = await enqueueJob(database.db, k as never, { n: 1 }, { maxAttempts: 3 });
    const job = await claimJob(database.db, "w1", [k], 30);
    expect(job).toMatchObject({ id, status: "running", attempts: 1, lockedBy: "w1", payload: { n: 1 } });
    expect(job!.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 20_000);
    expect(await claimJob(database.db, "w2", [k], 30)).toBeNull();
    await completeJob(database.db, id, "w1");
    const [row] = await database.db.select().from(jobs).where(eq(jobs.id, id));
    expect(row).toMatchObject({ status: "done", lockedBy: null });
    expect(row?.finishedAt).not.toBeNull();
  });

  it("hands each of many jobs to exactly one of several concurrent claimers", async () => {
    const k = kind();
    const ids = new Set<string>();
    for (let i = 0; i < 30; i++)
      ids.add(await enqueueJob(database.db, k as never, { i }, { maxAttempts: 1 }));
    const claimed: string[] = [];
    await Promise.all(
      ["a", "b", "c", "d"].map(async (w) => {
        for (;;) {
          const job = await claimJob(database.db, w, [k], 30);
          if (!job) return;
          claimed.push(job.id);
          await completeJob(database.db, job.id, w);
        }
      }),
    );
    expect(claimed.length).toBe(30);
    expect(new Set(claimed)).toEqual(ids);
  });

  it("does not claim a job before its run_at, nor jobs of other kinds", async () => {
    const k = kind();
    await enqueueJob(database.db, k as never, {}, { maxAttempts: 1, delayS: 3600 });
    expect(await claimJob(database.db, "w", [k], 30)).toBeNull();
    await enqueueJob(database.db, k as never, {}, { maxAttempts: 1 });
    expect(await claimJob(database.db, "w", [kind()], 30)).toBeNull();
    expect(await claimJob(database.db, "w", [k], 30)).not.toBeNull();
  });

  it("gives a job whose worker died to the next worker once the lease lapses, and says so", async () => {
    const k = kind();
    const id = await enqueueJob(database.db, k as never, {}, { maxAttempts: 3 });
    expect(await claimJob(database.db, "dead", [k], 0.3)).not.toBeNull();
    expect(await claimJob(database.db, "alive", [k], 30)).toBeNull();
    await sleep(450);
    const again = await claimJob(database.db, "alive", [k], 30);
    expect(again).toMatchObject({ id, attempts: 2, lockedBy: "alive" });
    expect(again?.lastError).toMatch(/attempt 1 stopped without finishing/);
    // The dead worker can neither extend nor complete what it lost.
    expect(await extendLease(database.db, id, "dead", 30)).toBe(false);
    await completeJob(database.db, id, "dead");
    const [row] = await database.db.select().from(jobs).where(eq(jobs.id, id));
    expect(row?.status).toBe("running");
    expect(await extendLease(database.db, id, "alive", 30)).toBe(true);
  });

  it("requeues a failed attempt with a delay, and fails a job for good", async () => {
    const k = kind();
    const id = await enqueueJob(database.db, k as never, {}, { maxAttempts: 2 });
    await claimJob(database.db, "w", [k], 30);
    await retryJob(database.db, id, "w", "boom", 3600);
    const [queued] = await database.db.select().from(jobs).where(eq(jobs.id, id));
    expect(queued).toMatchObject({ status: "queued", lastError: "boom", lockedBy: null });
    expect(queued!.runAt.getTime()).toBeGreaterThan(Date.now() + 3500_000);
    expect(await claimJob(database.db, "w", [k], 30)).toBeNull();
    await failJob(database.db, id, "gave up");
    const [failed] = await database.db.select().from(jobs).where(eq(jobs.id, id));
    expect(failed).toMatchObject({ status: "failed", lastError: "gave up" });
  });

  it("reports queue depth by kind and status, and prunes only old finished jobs", async () => {
    const k = kind();
    await enqueueJob(database.db, k as never, {}, { maxAttempts: 1 });
    await enqueueJob(database.db, k as never, {}, { maxAttempts: 1 });
    const running = await claimJob(database.db, "w", [k], 30);
    const depth = (await queueDepth(database.db)).filter((d) => d.kind === k);
    expect(depth.sort((a, b) => a.status.localeCompare(b.status))).toEqual([
      { kind: k, status: "queued", count: 1 },
      { kind: k, status: "running", count: 1 },
    ]);
    await completeJob(database.db, running!.id, "w");
    await database.db
      .update(jobs)
      .set({ finishedAt: sql`now() - interval '8 days'` })
      .where(eq(jobs.id, running!.id));
    await pruneJobs(database.db, 7);
    expect(await database.db.select().from(jobs).where(eq(jobs.id, running!.id))).toHaveLength(0);
    expect((await queueDepth(database.db)).find((d) => d.kind === k && d.status === "queued")?.count).toBe(1);
  });

  it("notifies listeners when a job is enqueued", async () => {
    let heard = 0;
    const unlisten = await database.listen(JOBS_CHANNEL, () => heard++);
    try {
      await enqueueJob(database.db, kind() as never, {}, { maxAttempts: 1 });
      for (let i = 0; i < 100 && heard === 0; i++) await sleep(20);
      expect(heard).toBeGreaterThan(0);
    } finally {
      await unlisten();
    }
  });

  it("counts rate-limit hits per account and bucket in a shared window", async () => {
    const limiter = new DbRateLimiter(database.db);
    const a = newId("acc");
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await limiter.hit(a, "requests", 3, 60));
    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    for (const r of results) {
      expect(r.resetS).toBeGreaterThanOrEqual(1);
      expect(r.resetS).toBeLessThanOrEqual(60);
    }
    expect((await limiter.hit(a, "uploads", 3, 60)).allowed).toBe(true);
    expect((await limiter.hit(newId("acc"), "requests", 3, 60)).allowed).toBe(true);
    // Concurrent hits are all counted (the upsert is atomic).
    const b = newId("acc");
    const burst = await Promise.all(Array.from({ length: 10 }, () => limiter.hit(b, "requests", 100, 60)));
    expect(burst.map((r) => r.remaining).sort((x, y) => x - y)).toEqual([
      90, 91, 92, 93, 94, 95, 96, 97, 98, 99,
    ]);
  });

  it("allows one upload per (account, idempotency key) and stores JSON faithfully", async () => {
    const account = await createAccount(database.db, `contract-${newId("x").slice(-6)}`);
    const row = (id: string) => ({
      id,
      accountId: account.id,
      metadata: {
        kind: "music" as const,
        title: "Ünïcødé — ♫ \u{1F3B5}",
        disclosure: { roles: { voice: "generated" as const } },
      },
      blobKey: `uploads/${id}/original`,
      sha256: "0".repeat(64),
      sizeBytes: 5_000_000_000, // bigint column: beyond 32 bits
      probe: {
        format: "wav" as const,
        codec: "pcm_s16",
        sampleRate: 44100,
        channels: 2,
        bitDepth: 16,
        durationS: 1.5,
        audioOffset: 44,
        audioBytes: 10,
        details: { encoding: "s16" },
      },
      idempotencyKey: "same",
      requestHash: "h",
    });
    const first = newId("upl");
    await database.db.insert(uploads).values(row(first));
    await expect(database.db.insert(uploads).values(row(newId("upl")))).rejects.toThrow();
    const [back] = await database.db.select().from(uploads).where(eq(uploads.id, first));
    expect(back?.metadata).toEqual(row(first).metadata);
    expect(back?.sizeBytes).toBe(5_000_000_000);
    expect(back?.probe).toEqual(row(first).probe);
    expect(back?.status).toBe("received");
    // Without a key there is no uniqueness (NULLs are distinct).
    await database.db.insert(uploads).values({ ...row(newId("upl")), idempotencyKey: null });
    await database.db.insert(uploads).values({ ...row(newId("upl")), idempotencyKey: null });
  });

  it("rolls a transaction back whole", async () => {
    const k = kind();
    await expect(
      database.db.transaction(async (tx) => {
        await enqueueJob(tx, k as never, {}, { maxAttempts: 1 });
        throw new Error("abort");
      }),
    ).rejects.toThrow("abort");
    expect(await claimJob(database.db, "w", [k], 30)).toBeNull();
  });
});

describe("embedded PGlite on disk", () => {
  it("keeps committed rows across close and reopen", async () => {
    const { mkdtemp, rm } = await import("node:fs/promises");
    const os = await import("node:os");
    const path = await import("node:path");
    const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-pglite-"));
    try {
      let db = await openDatabase({ kind: "pglite", dataDir: dir });
      await db.migrate();
      const id = await enqueueJob(db.db, "process-upload", { uploadId: "x" }, { maxAttempts: 1 });
      await db.close();
      db = await openDatabase({ kind: "pglite", dataDir: dir });
      await db.migrate();
      const [row] = await db.db.select().from(jobs).where(eq(jobs.id, id));
      expect(row?.payload).toEqual({ uploadId: "x" });
      await db.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
