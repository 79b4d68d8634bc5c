/** `earmark uploads remove` as an operator runs it: a real process on a real data directory (and Postgres). */
import { access, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav, makeSignal } from "../../test/harness/audio.js";
import { earmark, jsonLines } from "../../test/harness/cli.js";
import { DRIVERS, freshPostgresDatabase } from "../../test/harness/deps.js";

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

describe.each(DRIVERS)("earmark uploads remove (%s)", (driver) => {
  let dir: string;
  let env: Record<string, string>;
  let drop: (() => Promise<void>) | null = null;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-cli-remove-"));
    env = { EARMARK_DATA_DIR: path.join(dir, "data") };
    if (driver === "postgres") {
      const pg = await freshPostgresDatabase();
      env.DATABASE_URL = pg.url;
      drop = pg.drop;
    }
    await writeFile(path.join(dir, "take.wav"), encodeWav(makeSignal({ seconds: 2, seed: 77 })));
  });
  afterAll(async () => {
    await drop?.();
    await rm(dir, { recursive: true, force: true });
  });

  // Seven processes, each opening (on PGlite, loading) the database: more than the default minute when busy.
  it("takes an upload down with a reason, says so as a JSON line, and again when it is removed already", async () => {
    const ingested = await earmark(
      ["ingest", path.join(dir, "take.wav"), "--metadata", '{"title":"Gone"}'],
      env,
    );
    expect(ingested.code).toBe(0);
    const id = jsonLines(ingested.stdout)[0]!.id as string;
    const original = path.join(dir, "data", "blobs", "uploads", id, "original");
    const rendition = path.join(dir, "data", "blobs", "renditions", id, "audio");
    expect(await exists(original)).toBe(true);
    expect(await exists(rendition)).toBe(true);

    const noReason = await earmark(["uploads", "remove", id], env);
    expect(noReason.code).not.toBe(0);
    expect(noReason.stderr).toMatch(/--reason/);
    const empty = await earmark(["uploads", "remove", id, "--reason", "  "], env);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toMatch(/--reason must say why/);
    const long = await earmark(["uploads", "remove", id, "--reason", "x".repeat(501)], env);
    expect(long.code).toBe(2);
    expect(long.stderr).toMatch(/shorten it to 500 or fewer/);
    expect(await exists(original)).toBe(true);

    const removed = await earmark(["uploads", "remove", id, "--reason", "Rights claim #12"], env);
    expect(removed.stderr).toBe("");
    expect(removed.code).toBe(0);
    expect(jsonLines(removed.stdout)).toEqual([
      { id, status: "removed", previousStatus: "decided", alreadyRemoved: false },
    ]);
    expect(await exists(original)).toBe(false);
    expect(await exists(rendition)).toBe(false);

    const again = await earmark(["uploads", "remove", id, "--reason", "Rights claim #12"], env);
    expect(again.code).toBe(0);
    expect(jsonLines(again.stdout)).toEqual([{ id, status: "removed", alreadyRemoved: true }]);

    const explained = await earmark(["policy", "explain", id], env);
    expect(explained.stdout).toContain("status removed");
    expect(explained.stdout).toMatch(/REJECT by takedown:operator/);
    expect(explained.stdout).toContain("because (takedown): Rights claim #12");
  }, 240_000);

  it("says so when there is no such upload", async () => {
    const r = await earmark(["uploads", "remove", "upl_nope", "--reason", "x"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/No upload upl_nope/);
    expect(r.stderr).not.toMatch(/at \w+ \(/); // no stack trace
  });
});
