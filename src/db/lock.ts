import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";

/** What the process holding the embedded database says about itself, so others can tell the user. */
export interface LockInfo {
  pid: number;
  command: string;
  url: string | null;
  startedAt: string;
}

export class DataDirBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockInfo,
  ) {
    super(
      `The embedded database in ${dataDir} is in use by another process (pid ${holder.pid}, \`earmark ${holder.command}\`` +
        `${holder.url ? ` serving ${holder.url}` : ""}). PGlite allows one process at a time. Stop that process first, ` +
        `or use Postgres (DATABASE_URL) to run several processes on one database.`,
    );
    this.name = "DataDirBusyError";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

export function readLock(dataDir: string): LockInfo | null {
  try {
    const info = JSON.parse(readFileSync(path.join(dataDir, "earmark.lock"), "utf8")) as LockInfo;
    return info.pid !== process.pid && alive(info.pid) ? info : null;
  } catch {
    return null;
  }
}

/**
 * Claims the data directory for this process. A lock left by a process that died (even by SIGKILL) is taken
 * over; one held by a live process is a {@link DataDirBusyError}. Returns the release function.
 */
export function lockDataDir(
  dataDir: string,
  command: string,
  url: string | null = null,
): { release(): void; update(url: string): void } {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, "earmark.lock");
  const holder = readLock(dataDir);
  if (holder) throw new DataDirBusyError(dataDir, holder);
  const write = (u: string | null) => {
    const info: LockInfo = { pid: process.pid, command, url: u, startedAt: new Date().toISOString() };
    writeFileSync(file, JSON.stringify(info));
  };
  write(url);
  const release = () => {
    try {
      const info = JSON.parse(readFileSync(file, "utf8")) as LockInfo;
      if (info.pid === process.pid) rmSync(file, { force: true });
    } catch {
      // already gone
    }
  };
  process.once("exit", release);
  return { release, update: write };
}
