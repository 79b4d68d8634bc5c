import path from "node:path";
import { type Config, ConfigError, loadConfig } from "../config.js";
import { type Database, openDatabase } from "../db/client.js";
import { DataDirBusyError, lockDataDir } from "../db/lock.js";

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
      ? { kind: "postgres", url: config.databaseUrl, maxConnections: 2 }
      : { kind: "pglite", dataDir: path.join(config.dataDir, "pglite") },
  );
  try {
    await database.migrate();
    return await fn(database);
  } finally {
    await database.close();
    lock?.release();
  }
}
