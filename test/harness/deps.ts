/**
 * Test dependencies on a real database: in-memory PGlite always, and a fresh Postgres database per suite
 * when DATABASE_URL is set (created here, dropped after). Suites loop over `DRIVERS` so the same tests run on
 * both.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import pino from "pino";
import postgres from "postgres";
import { createAccount, createApiKey } from "../../src/accounts/accounts.js";
import { type Config, loadConfig } from "../../src/config.js";
import { type Database, openDatabase } from "../../src/db/client.js";
import { buildDeps, type Deps } from "../../src/deps.js";
import type { Watermarking } from "../../src/watermark/setup.js";

export type Driver = "pglite" | "postgres";

/**
 * A fixed watermark key (EARMARK_WATERMARK_KEY) for tests that read the mark from short or re-encoded copies:
 * how much margin a marginal clip has depends on the key's patterns, so those tests must not draw a new key
 * each run.
 */
export const TEST_WATERMARK_KEY = "5ca1ab1e".repeat(8);

/**
 * The test key with a reproducible sequence of watermark ids (SHA-256 of a counter) instead of random ones,
 * so a failing test names the same id on every run. Every id is meant to decode from a clean 40 s rendition;
 * src/watermark/watermark.test.ts checks that for seeded random ids (earmark-wm-1 missed about one in twenty,
 * docs/adr/0010-watermark.md).
 */
export function testWatermarking(): Watermarking {
  let n = 0;
  return {
    key: Uint8Array.from(Buffer.from(TEST_WATERMARK_KEY, "hex")),
    development: false,
    newPayload: () =>
      Uint8Array.from(createHash("sha256").update(`earmark-test-payload-${n++}`).digest().subarray(0, 8)),
  };
}

/** The drivers this run can test: PGlite always; Postgres when DATABASE_URL points at a server. */
export const DRIVERS: Driver[] = process.env.DATABASE_URL ? ["pglite", "postgres"] : ["pglite"];

/** Creates an empty database on the server of DATABASE_URL and returns its URL and a drop function. */
export async function freshPostgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  const base = process.env.DATABASE_URL;
  if (!base) throw new Error("DATABASE_URL is not set");
  const name = `earmark_t_${randomBytes(6).toString("hex")}`;
  const admin = postgres(base, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  await admin.end();
  const url = new URL(base);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const a = postgres(base, { max: 1, onnotice: () => {} });
      await a.unsafe(`drop database if exists ${name} with (force)`);
      await a.end();
    },
  };
}

export interface TestDatabase {
  database: Database;
  url: string | null;
  close(): Promise<void>;
}

export async function openTestDatabase(driver: Driver): Promise<TestDatabase> {
  if (driver === "pglite") {
    const database = await openDatabase({ kind: "pglite", dataDir: null });
    await database.migrate();
    return { database, url: null, close: () => database.close() };
  }
  const fresh = await freshPostgresDatabase();
  const database = await openDatabase({ kind: "postgres", url: fresh.url, maxConnections: 5 });
  await database.migrate();
  return {
    database,
    url: fresh.url,
    async close() {
      await database.close();
      await fresh.drop();
    },
  };
}

export interface TestContext {
  deps: Deps;
  config: Config;
  dir: string;
  /** Creates an account with a key; returns both. */
  account(name?: string): Promise<{ id: string; name: string; key: string; auth: { authorization: string } }>;
  close(): Promise<void>;
}

/** Deps on a fresh database and a temporary blob directory, with a silent logger. */
export async function createTestContext(
  driver: Driver,
  opts: { env?: Record<string, string>; deps?: Partial<Deps> } = {},
): Promise<TestContext> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-test-"));
  const tdb = await openTestDatabase(driver);
  const config = loadConfig({
    EARMARK_DATA_DIR: dir,
    LOG_LEVEL: "silent",
    EARMARK_JOB_RETRY_BASE: "0.05s",
    EARMARK_WEBHOOK_RETRY: "0.05s,0.1s",
    EARMARK_WEBHOOK_TIMEOUT: "2s",
    // The tests' webhook receivers listen on 127.0.0.1; the refusal of private addresses has its own tests.
    EARMARK_WEBHOOK_ALLOW_PRIVATE: "true",
    ...(tdb.url ? { DATABASE_URL: tdb.url } : {}),
    ...opts.env,
  });
  const deps = await buildDeps(config, {
    database: tdb.database,
    logger: pino({ level: "silent" }),
    baseUrl: "http://earmark.test",
    ...opts.deps,
  });
  return {
    deps,
    config,
    dir,
    async account(name = `acct-${randomBytes(4).toString("hex")}`) {
      const account = await createAccount(deps.database.db, name);
      const { key } = await createApiKey(deps.database.db, account.id);
      return { id: account.id, name, key, auth: { authorization: `Bearer ${key}` } };
    },
    async close() {
      await tdb.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
