/**
 * An acknowledged upload survives a killed worker and a killed server: the job is retried when its lease
 * lapses, and after N attempts the upload fails with the reason instead of staying stuck.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAccount, createApiKey } from "../src/accounts/accounts.js";
import { createApp } from "../src/app.js";
import { loadConfig } from "../src/config.js";
import { openDatabase } from "../src/db/client.js";
import { jobs, uploads } from "../src/db/schema/index.js";
import { buildDeps, type Deps } from "../src/deps.js";
import { startWorker } from "../src/jobs/kinds.js";
import { encodeWav, makeSignal } from "./harness/audio.js";
import { expectRenditionOf } from "./harness/c2pa.js";
import { DRIVERS, freshPostgresDatabase } from "./harness/deps.js";
import { eventually, multipart, okBytes } from "./harness/http.js";

const CHILD = path.resolve("test/harness/child.ts");

function spawnChild(env: Record<string, string>): {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
} {
  let out = "";
  const child = spawn(process.execPath, ["--import", "tsx", CHILD], {
    env: { ...process.env, LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  child.stdout!.on("data", (d) => (out += d));
  child.stderr!.on("data", (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on("exit", (code) => r(code)));
  return { child, output: () => out, exited };
}

async function killHard(c: { child: ChildProcess; exited: Promise<number | null> }) {
  c.child.kill("SIGKILL");
  await c.exited;
}

const wav = encodeWav(makeSignal({ seconds: 2 }));

// Separate worker processes need a shared database: this suite exists when Postgres is configured (CI sets
// DATABASE_URL); the embedded suite below covers a killed process on PGlite.
describe.each(DRIVERS.filter((d) => d === "postgres"))("a worker process killed mid-job (%s)", () => {
  let dir: string;
  let pg: Awaited<ReturnType<typeof freshPostgresDatabase>>;
  let deps: Deps;
  let auth: { authorization: string };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-crash-"));
    pg = await freshPostgresDatabase();
    const config = loadConfig({
      DATABASE_URL: pg.url,
      EARMARK_DATA_DIR: dir,
      EARMARK_JOB_LEASE: "1s",
      EARMARK_JOB_MAX_ATTEMPTS: "2",
      EARMARK_JOB_RETRY_BASE: "0.05s",
      LOG_LEVEL: "silent",
    });
    deps = await buildDeps(config, {
      database: await openDatabase({ kind: "postgres", url: pg.url, maxConnections: 4 }),
      logger: pino({ level: "silent" }),
    });
    const account = await createAccount(deps.database.db, "crash");
    auth = { authorization: `Bearer ${(await createApiKey(deps.database.db, account.id)).key}` };
  });
  afterAll(async () => {
    await deps?.database.close();
    await pg?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const childEnv = (gate: string) => ({
    EARMARK_CHILD: "worker",
    DATABASE_URL: pg.url,
    EARMARK_DATA_DIR: dir,
    EARMARK_JOB_LEASE: "1s",
    EARMARK_JOB_MAX_ATTEMPTS: "2",
    GATE_FILE: gate,
  });

  async function upload(title: string): Promise<string> {
    const res = await createApp(deps).request("/v1/uploads", {
      method: "POST",
      body: multipart(wav, { metadata: { title } }),
      headers: auth,
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function killDuringJob(gate: string) {
    const c = spawnChild(childEnv(gate));
    await eventually(
      async () => (existsSync(gate) ? true : undefined),
      `the child to start the job (${c.output()})`,
    );
    await killHard(c);
    await rm(gate, { force: true });
  }

  it("retries the job in another worker and decides the upload", async () => {
    const id = await upload("Survivor");
    await killDuringJob(path.join(dir, "gate-1"));
    const [mid] = await deps.database.db.select().from(uploads).where(eq(uploads.id, id));
    expect(mid?.status).toBe("processing");
    const worker = startWorker(deps, 1, { pollMs: 100 });
    try {
      const status = await eventually(async () => {
        const [row] = await deps.database.db.select().from(uploads).where(eq(uploads.id, id));
        return row?.status === "decided" ? row.status : undefined;
      }, "the upload to be decided after the crash");
      expect(status).toBe("decided");
      // The worker marks the job done after the decision's transaction commits: wait for that too.
      const job = await eventually(async () => {
        const [row] = await deps.database.db.select().from(jobs).where(eq(jobs.kind, "process-upload"));
        return row?.status === "running" ? undefined : row;
      }, "the job to finish");
      expect(job).toMatchObject({ status: "done", attempts: 2 });
      expect(job?.lastError).toMatch(/attempt 1 stopped without finishing/);
    } finally {
      await worker.stop();
    }
  });

  it("fails the upload with the reason after the last attempt, never leaving it stuck", async () => {
    const id = await upload("Doomed");
    await killDuringJob(path.join(dir, "gate-2"));
    await killDuringJob(path.join(dir, "gate-3"));
    const worker = startWorker(deps, 1, { pollMs: 100 });
    try {
      const row = await eventually(async () => {
        const [r] = await deps.database.db.select().from(uploads).where(eq(uploads.id, id));
        return r?.status === "failed" ? r : undefined;
      }, "the upload to fail");
      expect(row.failure).toMatchObject({ code: "processing-failed", attempts: 2 });
      expect(row.failure?.detail).toMatch(/stopped without finishing/);
      const res = await createApp(deps).request(`/v1/uploads/${id}`, { headers: auth });
      expect(((await res.json()) as { failure: { code: string } }).failure.code).toBe("processing-failed");
    } finally {
      await worker.stop();
    }
  });
});

describe("the embedded server killed with SIGKILL and started again", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-embedded-crash-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("keeps the acknowledged upload and finishes it after the restart", async () => {
    const env = {
      EARMARK_CHILD: "server",
      EARMARK_DATA_DIR: dir,
      PORT: "0",
      EARMARK_JOB_LEASE: "1s",
      DATABASE_URL: "",
    };
    const gate = path.join(dir, "gate");
    const first = spawnChild({ ...env, GATE_FILE: gate });
    const url = await eventually(
      async () => /CHILD_URL=(\S+)/.exec(first.output())?.[1],
      "the server to start",
    );
    const key = /EARMARK_API_KEY=(\S+)/.exec(first.output())?.[1];
    expect(key).toBeDefined();
    const auth = { authorization: `Bearer ${key}` };
    const res = await fetch(`${url}/v1/uploads`, {
      method: "POST",
      body: multipart(wav, { metadata: { title: "Kept" } }),
      headers: auth,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await eventually(async () => (existsSync(gate) ? true : undefined), "the job to start");
    await killHard(first);

    // The dead server's lock file is still there; the new process must take it over, not refuse to start.
    const second = spawnChild(env);
    try {
      const url2 = await eventually(
        async () => /CHILD_URL=(\S+)/.exec(second.output())?.[1],
        `the restart (${second.output()})`,
      );
      expect(second.output()).not.toMatch(/EARMARK_API_KEY=/); // the key from the first start still exists
      const record = await eventually(async () => {
        const r = (await (await fetch(`${url2}/v1/uploads/${id}`, { headers: auth })).json()) as {
          status: string;
        };
        return r.status === "decided" ? r : undefined;
      }, "the upload to be decided after the restart");
      expect(record).toMatchObject({ id, status: "decided", metadata: { title: "Kept" } });
      const audio = await fetch(`${url2}/v1/uploads/${id}/rendition`, { headers: auth });
      await expectRenditionOf(await okBytes(audio, "rendition"), wav, "wav", dir);
    } finally {
      second.child.kill("SIGTERM");
      await second.exited;
    }
  });
});
