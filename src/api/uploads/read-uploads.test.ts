import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corruptMp3, encodeWav, makeSignal } from "../../../test/harness/audio.js";
import { expectRenditionOf } from "../../../test/harness/c2pa.js";
import { createTestContext, DRIVERS, type TestContext } from "../../../test/harness/deps.js";
import { multipart } from "../../../test/harness/http.js";
import { createApp } from "../../app.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";
import { WATERMARK_ALGORITHM } from "../../watermark/index.js";
import { problemSchema } from "../problem.js";
import { UploadRecord, UploadSummary } from "./schemas.js";

describe.each(DRIVERS)("reading uploads (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let alice: Awaited<ReturnType<TestContext["account"]>>;
  let bob: Awaited<ReturnType<TestContext["account"]>>;
  const signal = makeSignal({ seconds: 3 });
  const wav = encodeWav(signal);
  // Expected from the samples themselves (as quantised to 16 bits), not from the implementation.
  const peak = Math.max(
    ...signal.channels.map((c) =>
      c.reduce((m, x) => Math.max(m, Math.abs(Math.round(x * 32768) / 32768)), 0),
    ),
  );

  beforeAll(async () => {
    t = await createTestContext(driver);
    app = createApp(t.deps);
    alice = await t.account("alice");
    bob = await t.account("bob");
    worker = startWorker(t.deps, 1, { pollMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  async function upload(
    auth: { authorization: string },
    title: string,
    body: Uint8Array = wav,
  ): Promise<string> {
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(body, { metadata: { title } }),
      headers: auth,
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  it("shows a processed upload with its decision, typed signals and rendition link", async () => {
    const id = await upload(alice.auth, "Decided");
    await worker.idle();
    const res = await app.request(`/v1/uploads/${id}`, { headers: alice.auth });
    expect(res.status).toBe(200);
    const record = UploadRecord.parse(await res.json());
    expect(record.status).toBe("decided");
    expect(record.decision).toMatchObject({
      action: "allow",
      labels: [],
      // The default bundle: a clean upload matches no rule.
      reasons: [],
      policyRevision: t.deps.policy.revision,
      decidedBy: "policy",
    });
    expect(record.signals.decode?.data).toMatchObject({
      format: "wav",
      sampleRate: 44100,
      channels: 2,
      frames: 3 * 44100,
    });
    expect(record.signals.decode?.version).toBe("decode-1");
    const stats = record.signals.stats!.data;
    expect(stats.durationS).toBeCloseTo(3, 5);
    expect(stats.samplePeakDbfs).toBeCloseTo(20 * Math.log10(peak), 6);
    expect(stats.integratedLoudnessLufs).toBeGreaterThan(-30);
    expect(stats.silenceRatio).toBe(0);
    expect(record.failure).toBeNull();
    expect(record.rendition).toMatchObject({
      format: "wav",
      contentType: "audio/wav",
      steps: [
        { name: "watermark", version: WATERMARK_ALGORITHM },
        { name: "c2pa-sign", version: "c2pa-sign-1" },
      ],
    });
    expect(record.signals.watermark).toMatchObject({ version: WATERMARK_ALGORITHM, data: { found: false } });
    // The marked audio plus Earmark's C2PA manifest.
    expect(record.rendition?.sizeBytes).toBeGreaterThan(wav.length);
    expect(record.links.rendition).toBe(`http://localhost/v1/uploads/${id}/rendition`);
  });

  it("serves the rendition with ETag, ranges and conditional requests", async () => {
    const id = await upload(alice.auth, "Rendition");
    await worker.idle();
    const res = await app.request(`/v1/uploads/${id}/rendition`, { headers: alice.auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="Rendition.wav"');
    const bytes = Buffer.from(await res.arrayBuffer());
    await expectRenditionOf(bytes, wav, "wav", t.dir);
    const etag = res.headers.get("etag")!;
    const ranged = await app.request(`/v1/uploads/${id}/rendition`, {
      headers: { ...alice.auth, range: "bytes=0-3" },
    });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-range")).toBe(`bytes 0-3/${bytes.length}`);
    expect(Buffer.from(await ranged.arrayBuffer()).toString()).toBe("RIFF");
    const suffix = await app.request(`/v1/uploads/${id}/rendition`, {
      headers: { ...alice.auth, range: "bytes=-2" },
    });
    expect(Buffer.from(await suffix.arrayBuffer()).equals(bytes.subarray(bytes.length - 2))).toBe(true);
    const beyond = await app.request(`/v1/uploads/${id}/rendition`, {
      headers: { ...alice.auth, range: `bytes=${bytes.length}-` },
    });
    expect(beyond.status).toBe(416);
    expect(problemSchema.parse(await beyond.json()).code).toBe("range-not-satisfiable");
    const cached = await app.request(`/v1/uploads/${id}/rendition`, {
      headers: { ...alice.auth, "if-none-match": etag },
    });
    expect(cached.status).toBe(304);
  });

  it("answers 409 rendition-not-ready while an upload waits, and 409 no-rendition once it failed", async () => {
    await worker.stop();
    let restarted = false;
    try {
      const waiting = await upload(alice.auth, "Waiting");
      const res = await app.request(`/v1/uploads/${waiting}/rendition`, { headers: alice.auth });
      expect(res.status).toBe(409);
      const problem = problemSchema.parse(await res.json());
      expect(problem).toMatchObject({ code: "rendition-not-ready", status: 409, uploadStatus: "received" });
      expect(res.headers.get("retry-after")).toBe("5");
      // Corrupt in the middle: accepted at upload (the headers are fine), failed by the decoder.
      const mp3ish = await upload(alice.auth, "Corrupt", await corruptMp3());
      worker = startWorker(t.deps, 1, { pollMs: 50 });
      restarted = true;
      await worker.idle();
      expect((await app.request(`/v1/uploads/${waiting}/rendition`, { headers: alice.auth })).status).toBe(
        200,
      );
      const failed = await app.request(`/v1/uploads/${mp3ish}/rendition`, { headers: alice.auth });
      expect(failed.status).toBe(409);
      expect(problemSchema.parse(await failed.json())).toMatchObject({
        code: "no-rendition",
        uploadStatus: "failed",
      });
    } finally {
      if (!restarted) worker = startWorker(t.deps, 1, { pollMs: 50 });
    }
  });

  it("never shows one account's uploads to another", async () => {
    const id = await upload(alice.auth, "Alice only");
    await worker.idle();
    for (const path of [`/v1/uploads/${id}`, `/v1/uploads/${id}/rendition`]) {
      const res = await app.request(path, { headers: bob.auth });
      expect(res.status).toBe(404);
      expect(problemSchema.parse(await res.json()).code).toBe("not-found");
    }
    const list = (await (await app.request("/v1/uploads?limit=200", { headers: bob.auth })).json()) as {
      data: { id: string }[];
    };
    expect(list.data.map((u) => u.id)).not.toContain(id);
  });

  it("lists own uploads newest first with cursor pagination and a status filter", async () => {
    const carol = await t.account();
    const ids: string[] = [];
    // Distinct recordings: five copies of one file would (rightly) be rejected as mass re-uploads.
    for (let i = 0; i < 5; i++)
      ids.push(await upload(carol.auth, `Track ${i}`, encodeWav(makeSignal({ seconds: 1, seed: 100 + i }))));
    await worker.idle();
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await app.request(`/v1/uploads?limit=2${cursor ? `&cursor=${cursor}` : ""}`, {
        headers: carol.auth,
      });
      expect(res.status).toBe(200);
      const page = (await res.json()) as { data: unknown[]; nextCursor: string | null };
      const rows = page.data.map((d) => UploadSummary.parse(d));
      expect(rows.length).toBeLessThanOrEqual(2);
      seen.push(...rows.map((r) => r.id));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...ids].reverse());
    const decided = (await (
      await app.request("/v1/uploads?status=decided", { headers: carol.auth })
    ).json()) as {
      data: { status: string; action: string }[];
    };
    expect(decided.data).toHaveLength(5);
    expect(decided.data.every((d) => d.status === "decided" && d.action === "allow")).toBe(true);
    const failed = (await (
      await app.request("/v1/uploads?status=failed", { headers: carol.auth })
    ).json()) as { data: unknown[] };
    expect(failed.data).toHaveLength(0);
  });

  it("validates list parameters", async () => {
    for (const q of ["status=done", "limit=0", "limit=500", "cursor=nonsense"]) {
      const res = await app.request(`/v1/uploads?${q}`, { headers: alice.auth });
      expect(res.status, q).toBe(422);
      const p = problemSchema.parse(await res.json());
      expect(p.code).toBe("validation-failed");
      expect(p.errors?.[0]?.pointer).toMatch(/^\/query\//);
    }
  });

  it("answers 404 for ids that do not exist or are malformed", async () => {
    for (const id of ["upl_01JD3Q4Z8N6W0K2M5R7T9V1X3Y", "nope", "upl_%27%3B"]) {
      const res = await app.request(`/v1/uploads/${id}`, { headers: alice.auth });
      expect(res.status).toBe(404);
    }
  });
});
