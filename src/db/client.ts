import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { PGlite } from "@electric-sql/pglite";
import { sql } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import postgres from "postgres";
import * as schema from "./schema/index.js";

/** The drizzle database, whichever driver is underneath. */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;
/** A transaction handle; accepted wherever a Db is. */
export type Tx = Parameters<Parameters<Db["transaction"]>[0]>[0];

export interface Database {
  db: Db;
  driver: "pglite" | "postgres";
  /** Runs every checked-in migration not yet applied. Same SQL files on both drivers. */
  migrate(): Promise<void>;
  /** Subscribes to a Postgres notification channel; returns an unsubscribe function. */
  listen(channel: string, onNotify: () => void): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export const MIGRATIONS_DIR = fileURLToPath(new URL("../../drizzle", import.meta.url));

export type DatabaseTarget =
  | {
      kind: "postgres";
      url: string;
      maxConnections?: number;
      /** Every transaction read-only (`default_transaction_read_only`): for commands that only read, e.g. on a replica. */
      readOnly?: boolean;
    }
  | { kind: "pglite"; dataDir: string | null };

/**
 * Opens the database: Postgres through postgres.js when a URL is given, otherwise embedded PGlite in a
 * directory (or in memory, for tests).
 *
 * @example
 * const database = await openDatabase({ kind: "pglite", dataDir: "./.earmark/pglite" });
 * await database.migrate();
 */
export async function openDatabase(target: DatabaseTarget): Promise<Database> {
  if (target.kind === "postgres") {
    const client = postgres(target.url, {
      max: target.maxConnections ?? 10,
      onnotice: () => {},
      // Fail fast at start-up rather than hang when the server is unreachable.
      connect_timeout: 10,
      ...(target.readOnly ? { connection: { default_transaction_read_only: true } } : {}),
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Db;
    return {
      db,
      driver: "postgres",
      migrate: () =>
        migratePostgres(drizzlePostgres(client, { schema }), { migrationsFolder: MIGRATIONS_DIR }),
      async listen(channel, onNotify) {
        const sub = await client.listen(channel, () => onNotify());
        return () => sub.unlisten();
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  if (target.dataDir) await initPgliteDataDir(target.dataDir);
  const client = target.dataDir ? await PGlite.create(target.dataDir) : await PGlite.create();
  const db = drizzlePglite(client, { schema }) as unknown as Db;
  return {
    db,
    driver: "pglite",
    migrate: () => migratePglite(drizzlePglite(client, { schema }), { migrationsFolder: MIGRATIONS_DIR }),
    async listen(channel, onNotify) {
      const unsub = await client.listen(channel, () => onNotify());
      return () => unsub();
    },
    close: () => client.close(),
  };
}

/**
 * Creates a new PGlite data directory in a short-lived child process. Measured here: initdb inside the server
 * process raised its peak RSS to ~960 MiB (WASM memory only grows); reopening an existing directory costs
 * ~390 MiB. A directory that already holds a database is left alone.
 */
async function initPgliteDataDir(dataDir: string): Promise<void> {
  if (existsSync(path.join(dataDir, "PG_VERSION"))) return;
  await mkdir(dataDir, { recursive: true });
  const script = fileURLToPath(new URL("./init-pglite.mjs", import.meta.url));
  const child = spawn(process.execPath, [script, dataDir], { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on("error", reject);
    child.on("exit", resolve);
  });
  if (code !== 0)
    throw new Error(`creating the embedded database in ${dataDir} failed (exit ${code}): ${stderr.trim()}`);
}

/** Rows of a raw `db.execute()` result: postgres.js returns an array, PGlite an object with `rows`. */
export function rowsOf<T>(result: unknown): T[] {
  if (Array.isArray(result)) return result as T[];
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}

/** The database's clock. Leases and rate windows use it so several nodes agree on time. */
export async function dbNow(db: Db | Tx): Promise<Date> {
  const rows = rowsOf<{ now: Date | string }>(await db.execute(sql`select now() as now`));
  return new Date(rows[0]!.now);
}
