/** The `earmark` command as a user runs it: a real process, real data directory, real output. */
import { spawn } from "node:child_process";
import { cp, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import postgres from "postgres";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uploadRecordSchema } from "../src/uploads/record.js";
import { encodeFlac, encodeWav, makeMusic, makeSignal } from "./harness/audio.js";
import { expectRenditionOf } from "./harness/c2pa.js";
import { BIN, earmark, jsonLines } from "./harness/cli.js";
import { DRIVERS, freshPostgresDatabase } from "./harness/deps.js";
import { eventually } from "./harness/http.js";

describe("earmark CLI (embedded data directory)", () => {
  let dir: string;
  let env: Record<string, string>;
  let wavPath: string;
  let flacPath: string;
  let textPath: string;
  const wav = encodeWav(makeSignal({ seconds: 2 }));

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-cli-"));
    env = { EARMARK_DATA_DIR: path.join(dir, "data") };
    wavPath = path.join(dir, "take.wav");
    flacPath = path.join(dir, "take.flac");
    textPath = path.join(dir, "notes.mp3");
    await writeFile(wavPath, wav);
    await writeFile(flacPath, await encodeFlac(makeSignal({ seconds: 1, seed: 3 })));
    await writeFile(textPath, "these are notes, not audio\n");
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("lists its commands with --help", async () => {
    const r = await earmark(["--help"], env);
    expect(r.code).toBe(0);
    for (const cmd of ["start", "serve", "worker", "migrate", "keys", "accounts", "webhooks", "ingest"])
      expect(r.stdout).toContain(cmd);
  });

  it("refuses a bad configuration with a message naming the variable", async () => {
    const r = await earmark(["accounts", "list"], {
      ...env,
      PORT: "eighty",
      EARMARK_MAX_UPLOAD_BYTES: "lots",
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/PORT/);
    expect(r.stderr).toMatch(/EARMARK_MAX_UPLOAD_BYTES: expected a size such as 1GiB/);
    expect(r.stderr).not.toMatch(/at \w+ \(/); // no stack trace
  });

  it("says what to do when `earmark worker` has no shared database", async () => {
    const r = await earmark(["worker"], env);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/DATABASE_URL/);
  });

  it("creates an API key, shown once on its own line", async () => {
    const r = await earmark(["keys", "create", "--account", "label-co", "--name", "ci"], env);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^EARMARK_API_KEY=em_[\w-]+$/m);
    expect(r.stderr).toMatch(/Created account "label-co"/);
    const list = await earmark(["keys", "list", "--account", "label-co"], env);
    const keys = jsonLines(list.stdout);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatchObject({ account: "label-co", name: "ci" });
    expect(list.stdout).not.toContain(r.stdout.trim().split("=")[1]); // only the prefix is ever listed
  });

  it("ingests local files: a record per file as JSON lines, renditions in --out, errors per file", async () => {
    const out = path.join(dir, "out");
    const r = await earmark(
      [
        "ingest",
        wavPath,
        textPath,
        flacPath,
        "--out",
        out,
        "--metadata",
        '{"kind":"podcast","title":"Local"}',
      ],
      env,
    );
    expect(r.code).toBe(1); // one file was refused
    const lines = jsonLines(r.stdout);
    expect(lines).toHaveLength(3);
    const wavRecord = uploadRecordSchema.parse(lines[0]);
    expect(wavRecord).toMatchObject({
      status: "decided",
      metadata: { kind: "podcast", title: "Local" },
      file: { filename: "take.wav" },
    });
    expect(wavRecord.decision).toMatchObject({
      action: "allow",
      reasons: [],
      policyRevision: expect.stringMatching(/^[0-9a-f]{16}$/),
    });
    expect(lines[1]).toMatchObject({
      file: textPath,
      error: { code: "unsupported-media-type", status: 415 },
    });
    expect(uploadRecordSchema.parse(lines[2]).file.format).toBe("flac");
    const written = await readdir(out);
    expect(written.sort()).toEqual([`take.${lines[0]!.id}.wav`, `take.${lines[2]!.id}.flac`].sort());
    const rendition = await readFile(path.join(out, `take.${lines[0]!.id}.wav`));
    await expectRenditionOf(rendition, wav, "wav", env.EARMARK_DATA_DIR!);

    // `earmark verify`: the rendition's own manifest is trusted; the file as uploaded leads back to its upload
    // by fingerprint (2 s is shorter than one 6.4 s watermark block, and the mark itself perturbs so short a
    // rendition's fingerprint too much to rely on); a file that is not audio gets a line with its problem and
    // the exit code says so.
    const verified = await earmark(
      ["verify", path.join(out, `take.${lines[0]!.id}.wav`), wavPath, textPath],
      env,
    );
    expect(verified.code).toBe(1);
    const [itself, original, notAudio] = jsonLines(verified.stdout);
    expect(itself).toMatchObject({ c2pa: { present: true, state: "trusted" }, watermark: { found: false } });
    expect(original).toMatchObject({
      c2pa: { present: false },
      watermark: { found: false, payload: null },
      upload: { uploadId: lines[0]!.id, foundBy: "fingerprint", decision: { action: "allow" } },
    });
    expect(notAudio).toMatchObject({
      file: textPath,
      error: { code: "unsupported-media-type", status: 415 },
    });
  });

  it("refuses invalid --metadata before touching any file", async () => {
    const r = await earmark(["ingest", wavPath, "--metadata", '{"kind":"song"}'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/\/metadata\/kind/);
  });

  it("refuses a webhook URL on a private address (saying which range and how to allow it); lists, disables and enables endpoints", async () => {
    expect((await earmark(["accounts", "create", "hooks"], env)).code).toBe(0);
    const r = await earmark(
      ["webhooks", "add", "--account", "hooks", "--url", "http://169.254.169.254/x"],
      env,
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /--url http:\/\/169\.254\.169\.254\/x points at a link-local \(cloud metadata\)/,
    );
    expect(r.stderr).toMatch(/EARMARK_WEBHOOK_ALLOW_PRIVATE=true/);
    const allowed = await earmark(["webhooks", "add", "--account", "hooks", "--url", "http://10.0.0.7/x"], {
      ...env,
      EARMARK_WEBHOOK_ALLOW_PRIVATE: "true",
    });
    expect(allowed.code).toBe(0);
    const endpoint = jsonLines(allowed.stdout)[0]!;
    expect(endpoint).toMatchObject({ url: "http://10.0.0.7/x" });

    // An operator turns it off and on, and sees why in the list.
    const id = endpoint.id as string;
    expect(jsonLines((await earmark(["webhooks", "disable", id], env)).stdout)[0]).toMatchObject({
      id,
      enabled: false,
      disabledReason: "disabled by the account",
    });
    const listed = jsonLines((await earmark(["webhooks", "list", "--account", "hooks"], env)).stdout);
    expect(listed).toEqual([expect.objectContaining({ id, enabled: false })]);
    expect(jsonLines((await earmark(["webhooks", "enable", id], env)).stdout)[0]).toMatchObject({
      enabled: true,
      disabledReason: null,
    });
    expect((await earmark(["webhooks", "enable", "whk_nope"], env)).stderr).toMatch(
      /No webhook endpoint whk_nope/,
    );
    expect((await earmark(["webhooks", "retry", "dlv_nope"], env)).stderr).toMatch(
      /No webhook delivery dlv_nope/,
    );
  });

  it("checks a policy bundle: ok on the shipped one, file:line:col problems (or GitHub annotations) on a broken one", async () => {
    const ok = await earmark(["policy", "check"], env);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(
      /^ok: \d+ rules \(1 shadow\), \d+ constants, \d+ labels, \d+ test cases; revision [0-9a-f]{16}/,
    );
    const bad = path.join(dir, "bad-policy");
    await mkdir(bad, { recursive: true });
    await writeFile(
      path.join(bad, "r.yaml"),
      "rules:\n  - id: typo\n    description: d\n    when: stats.silenceRatiox > 0.5\n    action: review\n    reason: r\n    owner: o\n",
    );
    const text = await earmark(["policy", "check", bad], env);
    expect(text.code).toBe(1);
    expect(text.stdout.trim()).toBe(`${bad}/r.yaml:4:17: rule typo: when: No such key: silenceRatiox`);
    expect(text.stderr).toMatch(/1 problem in the policy bundle/);
    const github = await earmark(["policy", "check", bad, "--format", "github"], env);
    expect(github.stdout.trim()).toBe(
      `::error file=${bad}/r.yaml,line=4,col=17::rule typo: when: No such key: silenceRatiox`,
    );
  });

  it("tests a policy bundle with JUnit output and a coverage floor", async () => {
    const junit = await earmark(["policy", "test", "--format", "junit", "--min-coverage", "100"], env);
    expect(junit.code).toBe(0);
    expect(junit.stdout).toMatch(/<testsuites tests="\d+" failures="0">/);
    const partial = path.join(dir, "partial-policy");
    await mkdir(partial, { recursive: true });
    await writeFile(
      path.join(partial, "r.yaml"),
      "rules:\n  - id: flood\n    description: d\n    when: account.uploadsLastHour > 10\n    action: review\n    reason: r\n    owner: o\n  - id: silent\n    description: d\n    when: stats.silenceRatio > 0.98\n    action: reject\n    reason: r\n    owner: o\ntests:\n  - name: flood\n    input: { account: { uploadsLastHour: 11 } }\n    expect: { action: review }\n",
    );
    const low = await earmark(["policy", "test", partial, "--min-coverage", "100"], env);
    expect(low.code).toBe(1);
    expect(low.stdout).toContain("1 passed, 0 failed; rule coverage 50% (1/2)");
    expect(low.stderr).toMatch(/Rule coverage 50% is below --min-coverage 100%/);
  });

  it("replays past uploads with a candidate bundle and explains a decision", async () => {
    const candidate = path.join(dir, "candidate-policy");
    await cp(path.resolve("policies"), candidate, { recursive: true, filter: (s) => !s.endsWith(".ts") });
    const replay = await earmark(
      ["policy", "replay", "--bundle", candidate, "--since", "1d", "--format", "markdown"],
      env,
    );
    expect(replay.code).toBe(0);
    expect(replay.stdout).toMatch(/^### Policy replay: candidate `[0-9a-f]{16}`/);
    expect(replay.stdout).toMatch(/Replayed [1-9]\d* uploads since \d{4}-\d{2}-\d{2}/);
    expect(replay.stdout).toContain("No decision would change");
    const listed = await earmark(
      [
        "ingest",
        wavPath,
        "--metadata",
        '{"title":"To explain","disclosure":{"roles":{"voice":"generated"}}}',
      ],
      env,
    );
    const id = jsonLines(listed.stdout)[0]!.id as string;
    const explained = await earmark(["policy", "explain", id], env);
    expect(explained.code).toBe(0);
    expect(explained.stdout).toContain(`Upload ${id} "To explain"`);
    expect(explained.stdout).toContain("disclosed-generated-voice (enforce, label, priority 10)");
    expect((await earmark(["policy", "explain", "upl_nope"], env)).stderr).toMatch(/No upload upl_nope/);
  });

  it("`npm start` stopped with SIGTERM stops the server too: no orphan holds the port or the data directory", async () => {
    const data = { EARMARK_DATA_DIR: path.join(dir, "npm-start") };
    // detached: npm gets its own process group, so the kill below reaches npm alone, as a supervisor's would.
    const npm = spawn("npm", ["start"], {
      env: { ...process.env, ...data, PORT: "0", LOG_LEVEL: "info", DATABASE_URL: "" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    let log = "";
    npm.stdout.on("data", (d) => (log += d));
    try {
      await eventually(async () => (/earmark listening/.test(log) ? true : undefined), "npm start");
      const lock = JSON.parse(await readFile(path.join(data.EARMARK_DATA_DIR, "earmark.lock"), "utf8"));
      const pid = Number(lock.pid);
      expect(pid).toBeGreaterThan(0);
      expect(pid).not.toBe(npm.pid); // the server is npm's grandchild, behind a shell
      npm.kill("SIGTERM");
      // Gone, or a zombie its new parent has not reaped yet: either way it has exited.
      const running = () =>
        readFile(`/proc/${pid}/status`, "utf8").then(
          (status) => !/^State:\s+Z/m.test(status),
          () => false,
        );
      await eventually(async () => ((await running()) ? undefined : true), "the server to exit after npm");
      expect((await earmark(["keys", "list"], data)).code).toBe(0); // the data directory is free again
    } finally {
      try {
        if (npm.pid) process.kill(-npm.pid, "SIGKILL"); // whatever is left of npm's group
      } catch {
        // nothing left
      }
    }
  });

  it("while a server holds the embedded database: says so, or goes through the server with an API key", async () => {
    const made = await earmark(["keys", "create", "--account", "via-server"], env);
    const key = /^EARMARK_API_KEY=(\S+)$/m.exec(made.stdout)?.[1];
    expect(key).toBeDefined();
    const server = spawn(process.execPath, [BIN, "start"], {
      env: { ...process.env, ...env, PORT: "0", LOG_LEVEL: "info", DATABASE_URL: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let log = "";
    server.stdout.on("data", (d) => (log += d));
    const exited = new Promise<number | null>((r) => server.on("exit", (code) => r(code)));
    try {
      await eventually(async () => (/earmark listening/.test(log) ? true : undefined), "the server");
      expect(log).not.toMatch(/EARMARK_API_KEY=/); // keys exist already, so none is printed

      const blocked = await earmark(["keys", "list"], env);
      expect(blocked.code).toBe(1);
      expect(blocked.stderr).toMatch(
        /in use by another process \(pid \d+, `earmark start` serving http:\/\/127\.0\.0\.1:\d+\)/,
      );
      const noKey = await earmark(["ingest", wavPath], env);
      expect(noKey.code).toBe(1);
      expect(noKey.stderr).toMatch(/Set EARMARK_API_KEY to ingest through that server/);

      const out = path.join(dir, "out-server");
      // Audio no other account has uploaded: the same recording again would be rejected as a re-upload.
      const otherWav = encodeWav(makeMusic({ seconds: 4, seed: 11 }));
      const otherPath = path.join(dir, "other.wav");
      await writeFile(otherPath, otherWav);
      const through = await earmark(
        ["ingest", otherPath, "--out", out, "--metadata", '{"title":"Through"}'],
        {
          ...env,
          EARMARK_API_KEY: key!,
        },
      );
      expect(through.code).toBe(0);
      const [record] = jsonLines(through.stdout).map((l) => uploadRecordSchema.parse(l));
      expect(record).toMatchObject({ status: "decided", metadata: { title: "Through" } });
      const rendition = await readFile(path.join(out, `other.${record!.id}.wav`));
      await expectRenditionOf(rendition, otherWav, "wav", env.EARMARK_DATA_DIR!);

      server.kill("SIGTERM");
      expect(await exited).toBe(0);
      // The lock went with the server: the database is free again.
      expect((await earmark(["keys", "list"], env)).code).toBe(0);
    } finally {
      server.kill("SIGKILL");
    }
  });
});

// Postgres only (a replica is a Postgres thing): present when DATABASE_URL is, like the other Postgres suites.
describe.each(DRIVERS.filter((d) => d === "postgres"))(
  "earmark policy replay and explain on a read-only Postgres (a replica, %s)",
  () => {
    let dir: string;
    let pg: Awaited<ReturnType<typeof freshPostgresDatabase>>;
    let env: Record<string, string>;

    beforeAll(async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), "earmark-cli-ro-"));
      pg = await freshPostgresDatabase();
      env = { EARMARK_DATA_DIR: path.join(dir, "data"), DATABASE_URL: pg.url };
      await writeFile(path.join(dir, "take.wav"), encodeWav(makeSignal({ seconds: 2 })));
    });
    afterAll(async () => {
      await pg?.drop();
      await rm(dir, { recursive: true, force: true });
    });

    it("reads without migrating or writing, and says what to do on a database without the schema", async () => {
      const empty = await earmark(["policy", "replay", "--bundle", "policies"], env);
      expect(empty.code).toBe(1);
      expect(empty.stderr).toMatch(/has no Earmark tables.*Run `earmark migrate` against the primary/);

      const ingested = await earmark(
        ["ingest", path.join(dir, "take.wav"), "--metadata", '{"title":"On the primary"}'],
        env,
      );
      expect(ingested.code).toBe(0);
      const id = jsonLines(ingested.stdout)[0]!.id as string;
      // From here on the database behaves like a hot standby: every new session's transactions are read-only.
      const admin = postgres(pg.url, { max: 1, onnotice: () => {} });
      await admin.unsafe(
        `alter database ${new URL(pg.url).pathname.slice(1)} set default_transaction_read_only = on`,
      );
      await admin.end();

      const replay = await earmark(["policy", "replay", "--bundle", "policies", "--format", "json"], env);
      expect(replay.stderr).toBe("");
      expect(JSON.parse(replay.stdout)).toMatchObject({ replayed: 1, unchanged: 1 });
      const explained = await earmark(["policy", "explain", id], env);
      expect(explained.stdout).toContain(`Upload ${id} "On the primary"`);
      // The same database refuses a write, so the two commands above really wrote nothing.
      const write = await earmark(["ingest", path.join(dir, "take.wav")], env);
      expect(write.code).not.toBe(0);
      expect(write.stderr + write.stdout).toMatch(/read-only transaction/);
    });
  },
);
