import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { countActiveApiKeys, createAccount, createApiKey, findAccountByName } from "./accounts/accounts.js";
import { createApp } from "./app.js";
import type { Config } from "./config.js";
import { lockDataDir } from "./db/lock.js";
import { buildDeps, type Deps } from "./deps.js";
import { startWorker } from "./jobs/kinds.js";
import type { Worker } from "./jobs/worker.js";
import { BundlePolicyEngine, watchPolicyBundle } from "./policy/engine.js";
import { warmC2pa } from "./provenance/c2pa/wasm.js";

export interface RunningServer {
  url: string;
  httpServer: Server;
  deps: Deps;
  worker: Worker | null;
  close(): Promise<void>;
}

/**
 * On a fresh installation (no API key at all) creates the `dev` account and a key, and prints the key once
 * on a line of its own so scripts can pick it up.
 */
async function ensureFirstKey(deps: Deps, url: string, print: (line: string) => void): Promise<void> {
  const db = deps.database.db;
  if ((await countActiveApiKeys(db)) > 0) return;
  const account =
    (await findAccountByName(db, "dev")) ?? (await createAccount(db, "dev", { operator: true }));
  const { key } = await createApiKey(db, account.id, "first start");
  print("");
  print(
    'Created the development account "dev" (an operator: it may also read the policy bundle) and its API key.',
  );
  print("It is shown once; keep it:");
  print(`EARMARK_API_KEY=${key}`);
  print(`Try: curl -H "Authorization: Bearer ${key}" -F file=@track.wav ${url}/v1/uploads`);
  print(`API reference: ${url}/docs`);
  print("");
}

/**
 * Start-up: config → deps (database migrated) → HTTP server, and optionally an in-process worker.
 * With embedded PGlite the data directory is locked to this process.
 */
export async function startServer(
  config: Config,
  opts: { worker: boolean; command?: string; print?: (line: string) => void; deps?: Partial<Deps> } = {
    worker: true,
  },
): Promise<RunningServer> {
  const print = opts.print ?? ((line: string) => process.stdout.write(`${line}\n`));
  const lock = config.databaseUrl ? null : lockDataDir(config.dataDir, opts.command ?? "start");
  let deps: Deps;
  try {
    deps = await buildDeps(config, opts.deps);
  } catch (err) {
    lock?.release();
    throw err;
  }
  // Compiling c2pa-rs's WASM takes 0.2–2 s: pay it now, not on the first upload or manifest request.
  const c2paWarmMs = warmC2pa();
  const app = createApp(deps);
  const server = serve({
    fetch: app.fetch,
    hostname: config.host,
    port: config.port,
    // Headers must arrive promptly; a large body may legitimately take long on a slow link.
    serverOptions: { requestTimeout: config.limits.requestTimeoutMs, headersTimeout: 60_000 },
  });
  await new Promise<void>((resolve, reject) => {
    server.once("listening", resolve);
    server.once("error", reject);
  });
  const address = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  const url = config.publicUrl ?? `http://${host === "0.0.0.0" ? "127.0.0.1" : host}:${address.port}`;
  if (!config.publicUrl) deps.baseUrl = url;
  lock?.update(url);
  const worker = opts.worker && config.workers > 0 ? startWorker(deps, config.workers) : null;
  const stopWatching =
    deps.policy instanceof BundlePolicyEngine && config.policyDir
      ? watchPolicyBundle(deps.policy, config.policyDir, deps.logger.child({ component: "policy" }))
      : null;
  deps.logger.info(
    {
      url,
      database: deps.database.driver,
      dataDir: config.dataDir,
      workers: worker ? config.workers : 0,
      policy: { dir: config.policyDir, revision: deps.policy.revision },
      c2pa: { development: deps.provenance.development, warmMs: Math.round(c2paWarmMs) },
    },
    "earmark listening",
  );
  if (!config.databaseUrl || opts.command === "start") await ensureFirstKey(deps, url, print);

  let closing: Promise<void> | null = null;
  return {
    url,
    httpServer: server as Server,
    deps,
    worker,
    close() {
      closing ??= (async () => {
        stopWatching?.();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          // Keep-alive connections would hold close() open; idle ones go now, busy ones after a grace period.
          const s = server as unknown as {
            closeIdleConnections?: () => void;
            closeAllConnections?: () => void;
          };
          s.closeIdleConnections?.();
          setTimeout(() => s.closeAllConnections?.(), 10_000).unref();
        });
        await worker?.stop();
        await deps.database.close();
        lock?.release();
      })();
      return closing;
    },
  };
}
