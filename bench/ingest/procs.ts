/** Real Earmark processes (`node bin/earmark.js …`) for the benchmark, each logging to its own file. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { closeSync, openSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { sleep } from "./util.js";

export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));
const BIN = fileURLToPath(new URL("../../bin/earmark.js", import.meta.url));

export type Env = Record<string, string | undefined>;

const VIA_SHELL = `"$0" "$@" & c=$!
trap 'kill -TERM $c 2>/dev/null' TERM INT
wait $c; s=$?
if kill -0 $c 2>/dev/null; then wait $c; s=$?; fi
exit $s`;

/** The children this run started, so a failure or Ctrl-C can stop exactly those. */
const live = new Set<Proc>();

export class Proc {
  readonly child: ChildProcess;
  exitCode: number | null = null;
  private readonly exited: Promise<void>;

  constructor(
    readonly name: string,
    args: string[],
    env: Env,
    readonly logFile: string,
    node: string[] = [BIN],
    opts: { ownRusage?: boolean } = {},
  ) {
    const fd = openSync(logFile, "a");
    const argv = [process.execPath, ...node, ...args];
    // Linux carries a parent's peak RSS into a child it forks (ru_maxrss survives fork + exec), so a child
    // spawned from this big process would report at least our RSS. A small shell in between forks the real
    // child from its own small image: the child's maxRSS is then its own.
    const [cmd, ...rest] = opts.ownRusage ? ["/bin/sh", "-c", VIA_SHELL, ...argv] : argv;
    this.child = spawn(cmd!, rest, {
      cwd: REPO_ROOT,
      env: env as NodeJS.ProcessEnv,
      stdio: ["ignore", fd, fd],
    });
    closeSync(fd);
    live.add(this);
    this.exited = new Promise((resolve) => {
      this.child.once("exit", (code, signal) => {
        this.exitCode = code ?? (signal ? 128 : 0);
        live.delete(this);
        resolve();
      });
    });
  }

  get running(): boolean {
    return this.exitCode === null;
  }

  log(): string {
    try {
      return readFileSync(this.logFile, "utf8");
    } catch {
      return "";
    }
  }

  /** Resolves with the first match of `re` in the log; fails if the process exits or time runs out. */
  async waitFor(re: RegExp, timeoutS = 60): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutS * 1000;
    for (;;) {
      const m = re.exec(this.log());
      if (m) return m;
      if (!this.running) throw new Error(`${this.name} exited (${this.exitCode}):\n${this.tail()}`);
      if (Date.now() > deadline)
        throw new Error(`${this.name}: no ${re} within ${timeoutS} s:\n${this.tail()}`);
      await sleep(50);
    }
  }

  tail(lines = 20): string {
    return this.log().trimEnd().split("\n").slice(-lines).join("\n");
  }

  /** SIGTERM (graceful shutdown), then SIGKILL after `graceS`. */
  async stop(graceS = 40): Promise<void> {
    if (!this.running) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), graceS * 1000);
    await this.exited;
    clearTimeout(timer);
  }

  wait(): Promise<void> {
    return this.exited;
  }
}

export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop(5)));
}

/** The environment for an Earmark child: ours, minus DATABASE_URL unless one is given. */
export function earmarkEnv(extra: Env): Env {
  const env: Env = { ...process.env, DATABASE_URL: undefined, ...extra };
  for (const k of Object.keys(env)) if (env[k] === undefined) delete env[k];
  return env;
}

/** Runs a one-off `earmark` command and returns its stdout; throws with stderr on failure. */
export function earmarkCli(args: string[], env: Env): string {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: env as NodeJS.ProcessEnv,
    encoding: "utf8",
  });
  if (r.error || r.status !== 0)
    throw new Error(`earmark ${args.join(" ")} failed (${r.status}): ${r.stderr || r.error?.message}`);
  return r.stdout;
}

export const KEY_LINE = /^EARMARK_API_KEY=(\S+)$/m;
/** `earmark start` prints "API reference: <url>/docs" with the first key; the JSON log has the url too. */
export const URL_LINE =
  /"url":"(http:\/\/[^"]+)"[^\n]*earmark listening|earmark listening[^\n]*"url":"(http:\/\/[^"]+)"/;
