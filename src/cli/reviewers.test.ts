/** `earmark reviewers` as an operator runs it: before the server starts, on the same data directory or database. */
import { spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BIN, jsonLines } from "../../test/harness/cli.js";
import { DRIVERS, freshPostgresDatabase } from "../../test/harness/deps.js";
import { ReviewSession } from "../../test/harness/review.js";
import { loadConfig } from "../config.js";
import { type RunningServer, startServer } from "../server.js";

function earmarkWithStdin(args: string[], env: Record<string, string>, stdin: string) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      env: { ...process.env, DATABASE_URL: "", LOG_LEVEL: "warn", ...env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("exit", (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

describe.each(DRIVERS)("earmark reviewers (%s)", (driver) => {
  let dir: string;
  let env: Record<string, string>;
  let drop: (() => Promise<void>) | undefined;
  let server: RunningServer | undefined;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-reviewers-"));
    env = { EARMARK_DATA_DIR: dir };
    if (driver === "postgres") {
      const pg = await freshPostgresDatabase();
      env.DATABASE_URL = pg.url;
      drop = pg.drop;
    }
  });
  afterAll(async () => {
    await server?.close();
    await drop?.();
    await rm(dir, { recursive: true, force: true });
  });

  it("creates reviewers from a password on stdin before the server runs; the server then signs them in", async () => {
    const created = await earmarkWithStdin(
      ["reviewers", "create", "--email", "Dana@Example.org", "--role", "admin"],
      env,
      "a long enough password\n",
    );
    expect(created.stderr).toBe("");
    expect(created.code).toBe(0);
    expect(jsonLines(created.stdout)).toEqual([
      { id: expect.stringMatching(/^rvw_/), email: "dana@example.org", role: "admin" },
    ]);

    const short = await earmarkWithStdin(
      ["reviewers", "create", "--email", "eve@example.org"],
      env,
      "short\n",
    );
    expect(short.code).toBe(1);
    expect(short.stderr).toContain("use at least 12");
    const taken = await earmarkWithStdin(
      ["reviewers", "create", "--email", "dana@example.org"],
      env,
      "another long password\n",
    );
    expect(taken.code).toBe(1);
    expect(taken.stderr).toContain("exists already");
    const badRole = await earmarkWithStdin(
      ["reviewers", "create", "--email", "f@example.org", "--role", "boss"],
      env,
      "x\n",
    );
    expect(badRole.code).not.toBe(0);
    expect(badRole.stderr).toMatch(/Allowed choices are reviewer, admin/);

    server = await startServer(
      loadConfig({
        ...env,
        PORT: "0",
        LOG_LEVEL: "silent",
        EARMARK_WORKERS: "0",
        EARMARK_POLICY_DIR: "none",
      }),
      { worker: false, command: "serve", print: () => {} },
    );
    const url = server.url;
    const s = new ReviewSession((p, init) => fetch(`${url}${p}`, init));
    expect((await s.login("dana@example.org", "a long enough password")).status).toBe(303);
    const queue = await s.get("/review");
    expect(queue.html).toContain("dana@example.org (admin)");
  }, 180_000); // five CLI processes, each opening the database
});
