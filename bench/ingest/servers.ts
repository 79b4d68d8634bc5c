/** Starting Earmark the ways a user would: `earmark start` (embedded PGlite or Postgres), `serve` + `worker`. */
import { mkdirSync } from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { freshPostgresDatabase } from "../../test/harness/deps.js";
import { type Env, earmarkCli, earmarkEnv, KEY_LINE, Proc, URL_LINE } from "./procs.js";

/** Limits raised so the benchmark measures the pipeline, not the per-account rate limiter. */
export const BENCH_LIMITS: Env = {
  EARMARK_RATE_LIMIT_PER_MINUTE: "1000000",
  EARMARK_UPLOADS_PER_HOUR: "1000000",
};

export interface Deployment {
  url: string;
  key: string;
  procs: Proc[];
  /** Stops every process, then drops the throwaway database (if any). */
  close(): Promise<void>;
}

let counter = 0;

function urlOf(proc: Proc, m: RegExpMatchArray): string {
  const url = m[1] ?? m[2];
  if (!url) throw new Error(`${proc.name}: no URL in its log`);
  return url;
}

/**
 * `earmark start`: API plus `workers` in-process workers, on embedded PGlite in a fresh data directory, or
 * on a fresh Postgres database when `databaseUrl` is given.
 */
export async function startSingle(
  tmp: string,
  opts: { postgres: boolean; workers: number },
): Promise<Deployment> {
  const n = ++counter;
  const dataDir = path.join(tmp, `data-${n}`);
  mkdirSync(dataDir, { recursive: true });
  const db = opts.postgres ? await freshPostgresDatabase() : null;
  const env = earmarkEnv({
    ...BENCH_LIMITS,
    EARMARK_DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "info",
    EARMARK_WORKERS: String(opts.workers),
    DATABASE_URL: db?.url,
  });
  const proc = new Proc("earmark start", ["start"], env, path.join(tmp, `start-${n}.log`));
  try {
    const key = (await proc.waitFor(KEY_LINE, 120))[1]!;
    const url = urlOf(proc, await proc.waitFor(URL_LINE, 10));
    return {
      url,
      key,
      procs: [proc],
      async close() {
        await proc.stop();
        await db?.drop();
      },
    };
  } catch (err) {
    await proc.stop(5);
    await db?.drop();
    throw err;
  }
}

/** Postgres: one API-only `earmark serve` and `workers` separate `earmark worker --concurrency 1` processes. */
export async function startSplit(tmp: string, workers: number): Promise<Deployment> {
  const n = ++counter;
  const dataDir = path.join(tmp, `data-${n}`);
  mkdirSync(dataDir, { recursive: true });
  const db = await freshPostgresDatabase();
  const env = earmarkEnv({
    ...BENCH_LIMITS,
    EARMARK_DATA_DIR: dataDir,
    PORT: "0",
    LOG_LEVEL: "info",
    DATABASE_URL: db.url,
  });
  const procs: Proc[] = [];
  const close = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await db.drop();
  };
  try {
    const key = KEY_LINE.exec(earmarkCli(["keys", "create", "--account", "bench"], env))?.[1];
    if (!key) throw new Error("`earmark keys create` printed no key");
    const serve = new Proc("earmark serve", ["serve"], env, path.join(tmp, `serve-${n}.log`));
    procs.push(serve);
    const url = urlOf(serve, await serve.waitFor(URL_LINE, 120));
    for (let i = 0; i < workers; i++) {
      const w = new Proc(
        `earmark worker #${i + 1}`,
        ["worker", "--concurrency", "1"],
        env,
        path.join(tmp, `worker-${n}-${i + 1}.log`),
      );
      procs.push(w);
    }
    for (const w of procs.slice(1)) await w.waitFor(/worker started/, 120);
    return { url, key, procs, close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** The Postgres server's version string, for the report. */
export async function postgresVersion(url: string): Promise<string> {
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    const [row] = await sql<{ version: string }[]>`select version()`;
    return row?.version.split(" on ")[0] ?? "unknown";
  } finally {
    await sql.end();
  }
}
