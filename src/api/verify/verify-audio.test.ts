import { rm } from "node:fs/promises";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeFile,
  encodeMp3,
  encodeWav,
  excerpt,
  makeMix,
  makeMusic,
  playFaster,
} from "../../../test/harness/audio.js";
import {
  createTestContext,
  DRIVERS,
  type TestContext,
  testWatermarking,
} from "../../../test/harness/deps.js";
import { multipart } from "../../../test/harness/http.js";
import { HOLD_RULE, shippedBundleWith } from "../../../test/harness/policy.js";
import { createApp } from "../../app.js";
import { watermarks } from "../../db/schema/index.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";
import type { VerifyResponse } from "./verify-audio.js";

describe.each(DRIVERS)("POST /v1/verify (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let policyDir: string;
  let creator: Awaited<ReturnType<TestContext["account"]>>;
  let stranger: Awaited<ReturnType<TestContext["account"]>>;
  const music = makeMix({ seconds: 40, seed: 7101 });
  let distributedId: string;

  beforeAll(async () => {
    policyDir = await shippedBundleWith({ "test-hold.yaml": HOLD_RULE });
    t = await createTestContext(driver, {
      env: { EARMARK_POLICY_DIR: policyDir, EARMARK_C2PA_MAX_BYTES: "8MiB" },
      // A fixed key and a reproducible sequence of ids: some ids do not decode from short test audio.
      deps: { watermarking: testWatermarking() },
    });
    app = createApp(t.deps);
    creator = await t.account("creator");
    stranger = await t.account("stranger");
    worker = startWorker(t.deps, 1, { pollMs: 50 });
    distributedId = await upload(encodeWav(music), "Night drive", creator.auth);
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    if (policyDir) await rm(policyDir, { recursive: true, force: true });
  });

  async function upload(bytes: Buffer, title: string, auth: Record<string, string>): Promise<string> {
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(bytes, { metadata: { title } }),
      headers: auth,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await worker.idle();
    return id;
  }

  async function verify(bytes: Uint8Array, contentType = "application/octet-stream") {
    const res = await app.request("/v1/verify", {
      method: "POST",
      body: Buffer.from(bytes),
      headers: { ...stranger.auth, "content-type": contentType },
    });
    return { res, body: (await res.json()) as VerifyResponse & { code?: string; detail?: string } };
  }

  it("leads a stripped, re-encoded and sped-up copy back to the distributed upload and its signed credentials", async () => {
    // What a re-post elsewhere looks like: the rendition 3 % fast, as MP3 — no manifest left. (A 30 s excerpt
    // of it decoded in 11 of 12 trials with random payloads; the whole 40 s in 12 of 12.)
    const rendition = await app.request(`/v1/uploads/${distributedId}/rendition`, { headers: creator.auth });
    const marked = await decodeFile(new Uint8Array(await rendition.arrayBuffer()));
    const copy = await encodeMp3(playFaster(marked, 1.03));
    const { res, body } = await verify(copy, "audio/mpeg");
    expect(res.status).toBe(200);
    expect(body.c2pa.present).toBe(false);
    // The watermark names the rendition's id exactly; the fingerprint finds the same recording.
    const [mark] = await t.deps.database.db
      .select()
      .from(watermarks)
      .where(eq(watermarks.uploadId, distributedId));
    expect(body.watermark).toMatchObject({ found: true, payload: mark!.payload });
    expect(body.watermark.speedRatio).toBeCloseTo(1.03, 2);
    expect(body.watermark.ranges.length).toBeGreaterThan(0);
    expect(body.fingerprint.matches[0]).toMatchObject({ uploadId: distributedId, verdict: "same-recording" });
    // Another account's upload is named by id only.
    expect(body.fingerprint.matches[0]).not.toHaveProperty("accountId");
    expect(body.upload).toMatchObject({
      uploadId: distributedId,
      foundBy: "watermark",
      decision: { action: "allow", labels: [] },
    });
    expect(body.upload!.match!.speedRatio).toBeCloseTo(1.03, 2);
    // The credentials Earmark signed for the rendition, validated now under this server's trust anchors.
    expect(body.upload!.manifest!.validation.state).toBe("trusted");
    const store = body.upload!.manifest!.manifestStore as {
      active_manifest: string;
      manifests: Record<string, { assertions: { label: string; data: { uploadId?: string } }[] }>;
    };
    const decision = store.manifests[store.active_manifest]!.assertions.find(
      (a) => a.label === "org.earmark.decision",
    );
    expect(decision?.data.uploadId).toBe(distributedId);
  });

  it("finds a clip too short for the watermark by its fingerprint", async () => {
    // 5 s is less than one 6.4 s watermark block: the mark cannot be read, the fingerprint still matches.
    const { body } = await verify(await encodeMp3(excerpt(music, 20, 5)), "audio/mpeg");
    expect(body.watermark).toEqual({
      found: false,
      payload: null,
      confidence: 0,
      ranges: [],
      speedRatio: null,
    });
    expect(body.upload).toMatchObject({
      uploadId: distributedId,
      foundBy: "fingerprint",
      match: { verdict: "same-recording" },
    });
  });

  it("reads the manifest of the distributed rendition itself as trusted", async () => {
    const rendition = await app.request(`/v1/uploads/${distributedId}/rendition`, { headers: creator.auth });
    expect(rendition.status).toBe(200);
    const { res, body } = await verify(new Uint8Array(await rendition.arrayBuffer()));
    expect(res.status).toBe(200);
    expect(body.c2pa).toMatchObject({ present: true, state: "trusted" });
    expect(body.upload?.uploadId).toBe(distributedId);
  });

  it("recovers nothing for audio Earmark never distributed: unknown, or held for review", async () => {
    const unknown = await verify(new Uint8Array(encodeWav(makeMusic({ seconds: 20, seed: 7102 }))));
    expect(unknown.res.status).toBe(200);
    expect(unknown.body.fingerprint.matches).toEqual([]);
    expect(unknown.body.upload).toBeNull();

    const heldMusic = makeMusic({ seconds: 30, seed: 7103 });
    const heldId = await upload(encodeWav(heldMusic), "hold me: not yet public", creator.auth);
    const copy = await verify(await encodeMp3(heldMusic));
    expect(copy.body.fingerprint.matches[0]).toMatchObject({ uploadId: heldId, verdict: "same-recording" });
    expect(copy.body.upload).toBeNull();
  });

  it("answers bad input with problems", async () => {
    const text = await verify(
      new TextEncoder().encode("this is not audio at all, just some text\n".repeat(20)),
    );
    expect(text.res.status).toBe(415);
    expect(text.res.headers.get("content-type")).toMatch(/^application\/problem\+json/);
    expect(text.body.code).toBe("unsupported-media-type");
    const empty = await verify(new Uint8Array(0));
    expect(empty.res.status).toBe(422);
    expect(empty.body.code).toBe("empty-upload");
    const large = await verify(new Uint8Array(8 * 1024 * 1024 + 1));
    expect(large.res.status).toBe(413);
    expect(large.body.code).toBe("upload-too-large");
    // A body that declares no length is cut off as it arrives.
    const chunked = await app.request("/v1/verify", {
      method: "POST",
      body: new ReadableStream({
        start(controller) {
          for (let i = 0; i < 9; i++) controller.enqueue(new Uint8Array(1024 * 1024));
          controller.close();
        },
      }),
      headers: { ...stranger.auth, "content-type": "application/octet-stream" },
      duplex: "half",
    } as RequestInit);
    expect(chunked.status).toBe(413);
    const anonymous = await app.request("/v1/verify", { method: "POST", body: Buffer.alloc(10) });
    expect(anonymous.status).toBe(401);
  });
});
