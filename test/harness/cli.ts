/** Running the real `earmark` command in tests: a child process with the given environment. */
import { spawn } from "node:child_process";
import path from "node:path";

export const BIN = path.resolve("bin/earmark.js");

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `earmark ARGS…` to completion. DATABASE_URL is cleared unless `env` sets it. */
export function earmark(args: string[], env: Record<string, string>): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn", ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
  });
}

/** The JSON lines of a command's output. */
export const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>);
