/**
 * Every file of the bad-input corpus (test/fixtures/bad, made by make-bad.ts) goes through the real upload
 * route and worker, on every database driver, and must get the outcome its manifest entry names: refused at
 * upload with the right status and problem code (and nothing stored), or accepted and then failed by
 * processing with the right failure code — or, for the few good edge cases, decided.
 */
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { problemSchema } from "../src/api/problem.js";
import { UploadAccepted, UploadRecord } from "../src/api/uploads/schemas.js";
import { createApp } from "../src/app.js";
import { uploads } from "../src/db/schema/index.js";
import { ERRORS } from "../src/errors.js";
import { startWorker } from "../src/jobs/kinds.js";
import type { Worker } from "../src/jobs/worker.js";
import { BAD_DIR, type BadCase, buildCorpus, type Manifest, manifestText } from "./fixtures/make-bad.js";
import { encodeWav, makeSignal } from "./harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "./harness/deps.js";
import { multipart } from "./harness/http.js";

const manifest = JSON.parse(readFileSync(path.join(BAD_DIR, "manifest.json"), "utf8")) as Manifest;
const cases = manifest.cases;
const bytesOf = (c: BadCase) => readFileSync(path.join(BAD_DIR, c.file));

describe("the bad-input corpus", () => {
  it("has a manifest entry for every file in the folder and a file for every entry", () => {
    const onDisk = readdirSync(BAD_DIR)
      .filter((f) => f !== "manifest.json")
      .sort();
    expect(cases.map((c) => c.file).sort()).toEqual(onDisk);
    expect(new Set(cases.map((c) => c.file)).size).toBe(cases.length);
  });

  it("is what make-bad.ts generates, byte for byte, every time", async () => {
    const first = await buildCorpus();
    const second = await buildCorpus();
    expect(manifestText(first.manifest)).toBe(readFileSync(path.join(BAD_DIR, "manifest.json"), "utf8"));
    expect([...first.files.keys()].sort()).toEqual(cases.map((c) => c.file).sort());
    for (const [name, bytes] of first.files) {
      expect(Buffer.from(bytes).equals(bytesOf({ file: name } as BadCase)), `${name} on disk`).toBe(true);
      expect(Buffer.from(bytes).equals(Buffer.from(second.files.get(name)!)), `${name} again`).toBe(true);
    }
  });

  it("stays small and covers what it promises", () => {
    const sizes = cases.map((c) => bytesOf(c).length);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeLessThan(2_000_000);
    expect(sizes.filter((s) => s < 50_000).length).toBeGreaterThan(cases.length * 0.9);
    expect(cases.length).toBeGreaterThanOrEqual(30);
    const codes = new Set(cases.map((c) => ("code" in c.expect ? c.expect.code : "decided")));
    for (const code of [
      "empty-upload",
      "unsupported-media-type",
      "audio-truncated",
      "audio-corrupt",
      "audio-header-invalid",
      "unsupported-sample-rate",
      "unsupported-channel-count",
      "unsupported-encoding",
      "duration-too-long",
      "no-audio",
      "upload-too-large",
      "decided",
    ])
      expect(codes, code).toContain(code);
    for (const c of cases) {
      if (c.expect.at === "upload")
        expect(ERRORS[c.expect.code as keyof typeof ERRORS]?.status).toBe(c.expect.status);
      expect(c.what.length).toBeGreaterThan(10);
    }
  });
});

describe.each(DRIVERS)("bad inputs through the API and worker (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let auth: { authorization: string };

  beforeAll(async () => {
    t = await createTestContext(driver, { env: { ...manifest.limits } });
    app = createApp(t.deps);
    auth = (await t.account()).auth;
    worker = startWorker(t.deps, 1, { pollMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  const post = (c: BadCase) =>
    app.request("/v1/uploads", {
      method: "POST",
      body: multipart(bytesOf(c), { ...c.upload, metadata: { title: c.file } }),
      headers: auth,
    });
  const countUploads = async () => (await t.deps.database.db.select().from(uploads)).length;

  const atUpload = cases.filter((c) => c.expect.at === "upload");
  const atProcessing = cases.filter((c) => c.expect.at === "processing");

  it.each(atUpload.map((c) => [c.file, c] as const))("refuses %s at upload", async (_name, c) => {
    if (c.expect.at !== "upload") throw new Error("unreachable");
    const before = await countUploads();
    const res = await post(c);
    expect(res.status).toBe(c.expect.status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const problem = problemSchema.parse(await res.json());
    expect(problem.code).toBe(c.expect.code);
    expect(problem.status).toBe(c.expect.status);
    expect(problem.detail?.trim().length ?? 0).toBeGreaterThan(10);
    if (c.expect.status === 415) expect(problem.detail).toMatch(/Supported formats: WAV/);
    expect(await countUploads()).toBe(before);
  });

  it.each(atProcessing.map((c) => [c.file, c] as const))(
    "accepts %s, then processing decides its fate",
    async (_name, c) => {
      if (c.expect.at !== "processing") throw new Error("unreachable");
      const res = await post(c);
      expect(res.status).toBe(202);
      const { id } = UploadAccepted.parse(await res.json());
      await worker.idle();
      const got = await app.request(`/v1/uploads/${id}`, { headers: auth });
      expect(got.status).toBe(200);
      const record = UploadRecord.parse(await got.json());
      if (c.expect.status === "decided") {
        expect(record.failure).toBeNull();
        expect(record.status).toBe("decided");
        expect(record.signals.decode?.data.frames).toBeGreaterThan(0);
        return;
      }
      expect(record.status).toBe("failed");
      expect(record.failure?.code).toBe(c.expect.code);
      expect(record.failure?.stage).toBe("decode");
      expect(record.failure?.detail).toMatch(DETAIL_NAMES[c.expect.code]!);
      expect(record.decision).toBeNull();
    },
  );

  it("still accepts and decides a good WAV after all of that", async () => {
    const wav = encodeWav(makeSignal({ seconds: 1, sampleRate: 16000, channels: 1 }));
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(wav, { filename: "after.wav", type: "audio/wav" }),
      headers: auth,
    });
    expect(res.status).toBe(202);
    const { id } = UploadAccepted.parse(await res.json());
    await worker.idle();
    const record = UploadRecord.parse(
      await (await app.request(`/v1/uploads/${id}`, { headers: auth })).json(),
    );
    expect(record.status).toBe("decided");
    expect(record.signals.decode?.data).toMatchObject({ format: "wav", sampleRate: 16000, frames: 16000 });
  });
});

/** What a failure's detail must talk about, per code: it has to name the problem, not just fail. */
const DETAIL_NAMES: Record<string, RegExp> = {
  "audio-corrupt": /corrupt|checksum|missing|not (an MPEG audio frame|a page|a frame)/i,
  "audio-truncated": /truncated|cut off|ends|declares/i,
  "duration-too-long": /longer than|limit/i,
  "no-audio": /no audio/i,
};
