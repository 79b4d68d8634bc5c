import path from "node:path";
import { sql } from "drizzle-orm";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { type Database, openDatabase } from "../db/client.js";
import { DataDirBusyError, lockDataDir } from "../db/lock.js";
import { AudioInputError } from "../errors.js";

/** Prints one JSON line: the output format of the commands that list or create things. */
export const json = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);

/** A problem the user can fix: printed without a stack trace, exit code 1 (2 for usage errors). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function configFromEnv(): Config {
  try {
    return loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

/**
 * Opens the configured database for a one-off command. With embedded PGlite this takes the data directory's
 * lock, so a command can never open the database while a server holds it (which would corrupt it).
 */
export async function withDatabase<T>(
  config: Config,
  command: string,
  fn: (database: Database) => Promise<T>,
  opts: { readOnly?: boolean } = {},
): Promise<T> {
  let lock: { release(): void } | null = null;
  if (!config.databaseUrl) {
    try {
      lock = lockDataDir(config.dataDir, command);
    } catch (err) {
      if (err instanceof DataDirBusyError) throw new CliError(err.message);
      throw err;
    }
  }
  const database = await openDatabase(
    config.databaseUrl
      ? { kind: "postgres", url: config.databaseUrl, maxConnections: 2, readOnly: opts.readOnly }
      : { kind: "pglite", dataDir: path.join(config.dataDir, "pglite") },
  );
  // A read-only command on Postgres may be pointed at a replica: it migrates nothing (a standby refuses even
  // `create schema if not exists`) and says what to do when the schema is not there.
  const readOnlyPostgres = opts.readOnly && config.databaseUrl;
  try {
    if (readOnlyPostgres) await assertSchema(database, command);
    else await database.migrate();
    return await fn(database);
  } finally {
    await database.close();
    lock?.release();
  }
}

async function assertSchema(database: Database, command: string): Promise<void> {
  try {
    await database.db.execute(sql`select 1 from uploads limit 0`);
  } catch (err) {
    const e = err as { code?: string; cause?: { code?: string } };
    if ((e.cause?.code ?? e.code) === "42P01")
      throw new CliError(
        `The database at DATABASE_URL has no Earmark tables, so \`earmark ${command}\` has nothing to read. Run \`earmark migrate\` against the primary database (or check DATABASE_URL).`,
      );
    throw err;
  }
}

/**
 * Runs `read` on a file named on the command line, turning what the user can fix into a message that says
 * so: a missing file, a directory, audio Earmark cannot read.
 */
export async function readingFile<T>(file: string, read: () => Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new CliError(`${file}: no such file.`);
    if (code === "EISDIR") throw new CliError(`${file}: is a directory; pass audio files.`);
    if (err instanceof AudioInputError) throw new CliError(`${file}: ${err.detail}`);
    throw err;
  }
}
