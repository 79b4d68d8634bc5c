import { Command, InvalidArgumentError } from "commander";
import {
  createAccount,
  createApiKey,
  findAccountByName,
  listAccounts,
  listApiKeys,
  revokeApiKey,
} from "./accounts/accounts.js";
import { CliError, configFromEnv, json, withDatabase } from "./cli/context.js";
import { registerDetectorCommands } from "./cli/detector.js";
import { registerFingerprintCommands } from "./cli/fingerprint.js";
import { ingestCommand } from "./cli/ingest.js";
import { registerPolicyCommands } from "./cli/policy.js";
import { registerReviewerCommands } from "./cli/reviewers.js";
import { registerUploadCommands } from "./cli/uploads.js";
import { registerVerifyCommand } from "./cli/verify.js";
import { registerWatermarkCommands } from "./cli/watermark.js";
import { registerWebhookCommands } from "./cli/webhooks.js";
import { envSchema, shownValue } from "./config.js";
import { buildDeps } from "./deps.js";
import { startWorker } from "./jobs/kinds.js";
import { PolicyBundleError } from "./policy/bundle.js";
import { BundlePolicyEngine, watchPolicyBundle } from "./policy/engine.js";
import { startServer } from "./server.js";

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError("expected a whole number ≥ 1");
  return n;
}

/** The parent at launch, read before start-up: npm may be stopped while the server is still starting. */
const LAUNCH_PARENT = process.ppid;

/** Runs until SIGINT/SIGTERM, then shuts down gracefully (a second signal exits at once). */
function untilSignal(close: () => Promise<void>): void {
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) process.exit(1);
    stopping = true;
    process.stderr.write(`${signal}: shutting down (again to force)\n`);
    close().then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`shutdown failed: ${err}\n`);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
  // Under `npm start` the parent is the shell npm runs the script in. npm passes a SIGTERM on to that shell,
  // which dies without passing it on; so when the parent is gone, stop as if signalled rather than live on
  // as an orphan holding the port and the data directory.
  if (process.env.npm_lifecycle_event) {
    const watch = setInterval(() => {
      if (process.ppid === LAUNCH_PARENT) return;
      clearInterval(watch);
      stop("parent process exited");
    }, 500).unref();
  }
}

const program = new Command("earmark")
  .description(
    "Ingestion gateway for AI-era audio. Configuration comes from environment variables (`earmark config`).",
  )
  .showHelpAfterError();

program
  .command("start")
  .description("Run the API and an in-process worker (the default for `npm start`)")
  .action(async () => {
    const server = await startServer(configFromEnv(), { worker: true, command: "start" });
    untilSignal(server.close);
  });

program
  .command("serve")
  .description("Run the API only (stateless; run `earmark worker` processes beside it)")
  .action(async () => {
    const config = configFromEnv();
    if (!config.databaseUrl)
      process.stderr.write(
        "Note: with embedded PGlite no separate worker can run; uploads wait until `earmark start`.\n",
      );
    const server = await startServer(config, { worker: false, command: "serve" });
    untilSignal(server.close);
  });

program
  .command("worker")
  .description("Run pipeline workers only (needs DATABASE_URL to run beside a server)")
  .option("-c, --concurrency <n>", "jobs run at once", positiveInt)
  .action(async (opts: { concurrency?: number }) => {
    const config = configFromEnv();
    if (!config.databaseUrl)
      throw new CliError(
        "`earmark worker` needs a shared database: set DATABASE_URL to Postgres. With embedded PGlite, `earmark start` runs the worker in-process.",
      );
    const deps = await buildDeps(config);
    const worker = startWorker(deps, opts.concurrency ?? Math.max(1, config.workers));
    const stopWatching =
      deps.policy instanceof BundlePolicyEngine && config.policyDir
        ? watchPolicyBundle(deps.policy, config.policyDir, deps.logger.child({ component: "policy" }))
        : null;
    deps.logger.info(
      { worker: worker.id, concurrency: opts.concurrency ?? config.workers },
      "worker started",
    );
    untilSignal(async () => {
      stopWatching?.();
      await worker.stop();
      await deps.database.close();
    });
  });

program
  .command("migrate")
  .description("Apply database migrations and exit (start-up also does this)")
  .action(async () => {
    const config = configFromEnv();
    await withDatabase(config, "migrate", async (db) => {
      process.stdout.write(`Migrations applied (${db.driver}).\n`);
    });
  });

program
  .command("config")
  .description("List the environment variables Earmark reads, their defaults and current values")
  .action(() => {
    const config = configFromEnv();
    for (const [name, schema] of Object.entries(envSchema.shape)) {
      const s = schema as { description?: string; def?: { defaultValue?: unknown } };
      const current = shownValue(name, process.env[name]);
      process.stdout.write(`${name}${current ? `=${current}` : ""}\n    ${s.description ?? ""}\n`);
    }
    process.stdout.write(
      `\nResolved: data dir ${config.dataDir}, database ${config.databaseUrl ? "postgres" : "embedded PGlite"}, blobs ${config.blobDir}\n`,
    );
  });

const accounts = program.command("accounts").description("Manage uploading accounts");
accounts
  .command("create <name>")
  .description("Create an account")
  .option(
    "--operator",
    "the account runs the platform: its keys may read the policy bundle (GET /v1/policies)",
  )
  .action(async (name: string, opts: { operator?: boolean }) => {
    await withDatabase(configFromEnv(), "accounts create", async ({ db }) => {
      if (await findAccountByName(db, name)) throw new CliError(`An account named "${name}" already exists.`);
      const account = await createAccount(db, name, { operator: opts.operator === true });
      json({ id: account.id, name: account.name, operator: account.isOperator });
    });
  });
accounts
  .command("list")
  .description("List accounts")
  .action(async () => {
    await withDatabase(configFromEnv(), "accounts list", async ({ db }) => {
      for (const a of await listAccounts(db))
        json({ id: a.id, name: a.name, operator: a.isOperator, createdAt: a.createdAt });
    });
  });

const keys = program.command("keys").description("Manage API keys (stored hashed; shown once)");
keys
  .command("create")
  .description("Create an API key for an account (creating the account if it is new)")
  .requiredOption("-a, --account <name>", "account name")
  .option("-n, --name <label>", "a label to recognise the key by")
  .action(async (opts: { account: string; name?: string }) => {
    await withDatabase(configFromEnv(), "keys create", async ({ db }) => {
      let account = await findAccountByName(db, opts.account);
      if (!account) {
        account = await createAccount(db, opts.account);
        process.stderr.write(`Created account "${opts.account}".\n`);
      }
      const { id, key } = await createApiKey(db, account.id, opts.name ?? null);
      process.stderr.write(`Key ${id} for "${opts.account}". It is shown once; keep it:\n`);
      process.stdout.write(`EARMARK_API_KEY=${key}\n`);
    });
  });
keys
  .command("list")
  .description("List API keys (prefixes only)")
  .option("-a, --account <name>", "only this account's keys")
  .action(async (opts: { account?: string }) => {
    await withDatabase(configFromEnv(), "keys list", async ({ db }) => {
      const account = opts.account ? await findAccountByName(db, opts.account) : null;
      if (opts.account && !account) throw new CliError(`No account named "${opts.account}".`);
      for (const k of await listApiKeys(db, account?.id)) json(k);
    });
  });
keys
  .command("revoke <keyId>")
  .description("Revoke an API key")
  .action(async (keyId: string) => {
    await withDatabase(configFromEnv(), "keys revoke", async ({ db }) => {
      if (!(await revokeApiKey(db, keyId))) throw new CliError(`No active key ${keyId}.`);
      process.stdout.write(`Revoked ${keyId}.\n`);
    });
  });

program
  .command("ingest <files...>")
  .description(
    "Run the whole pipeline on local files (same data directory / database as the server) and print one upload record per file as JSON lines",
  )
  .option("-m, --metadata <json>", "upload metadata for every file (JSON)")
  .option("-o, --out <dir>", "write renditions into this directory")
  .option("-a, --account <name>", "account to ingest as (embedded mode)", "dev")
  .action(ingestCommand);

registerPolicyCommands(program);
registerWebhookCommands(program);
registerUploadCommands(program);
registerFingerprintCommands(program);
registerVerifyCommand(program);
registerWatermarkCommands(program);
registerReviewerCommands(program);
registerDetectorCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CliError) {
    process.stderr.write(`earmark: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof PolicyBundleError) {
    process.stderr.write(
      `earmark: the policy bundle cannot be used, so nothing was started.\n${err.message}\n`,
    );
    process.exit(1);
  }
  throw err;
}
