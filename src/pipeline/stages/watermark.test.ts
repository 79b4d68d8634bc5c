import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  decodeFile,
  encodeMp3,
  encodeOggVorbis,
  encodeWav,
  excerpt,
  makeMix,
} from "../../../test/harness/audio.js";
import {
  createTestContext,
  DRIVERS,
  type TestContext,
  testWatermarking,
} from "../../../test/harness/deps.js";
import { uploadAndDecide } from "../../../test/harness/http.js";
import { createApp } from "../../app.js";
import { bufferSource } from "../../audio/bytes.js";
import { decodeAudio } from "../../audio/decode/index.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";
import { readProvenance } from "../../provenance/c2pa/read.js";
import { WATERMARK_SOFT_BINDING } from "../../provenance/c2pa/settings.js";
import { detectWatermark } from "../../watermark/index.js";
import { assignWatermark, linkWatermark } from "../../watermark/store.js";

const LIMITS = { maxDurationS: 3600 };

describe.each(DRIVERS)("watermark: render step and stage (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  const original = makeMix({ seconds: 40, seed: 5150 });

  beforeAll(async () => {
    t = await createTestContext(driver, { deps: { watermarking: testWatermarking() } });
    app = createApp(t.deps);
    worker = startWorker(t.deps, 1, { pollMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  const uploadAndWait = (auth: { authorization: string }, body: Uint8Array, title: string) =>
    uploadAndDecide(app, worker, auth, body, { title });

  async function renditionOf(id: string, auth: { authorization: string }) {
    const res = await app.request(`/v1/uploads/${id}/rendition`, { headers: auth });
    expect(res.status).toBe(200);
    return new Uint8Array(await res.arrayBuffer());
  }

  it("marks the rendition with an id that leads back to the upload, named in its signed manifest", async () => {
    const alice = await t.account("alice");
    const first = await uploadAndWait(alice.auth, encodeWav(original), "Marked");
    expect(first.decision?.action).toBe("allow");
    expect(first.signals.watermark?.data).toMatchObject({
      found: false,
      payload: null,
      linkedUploadId: null,
    });

    const rendition = await renditionOf(first.id, alice.auth);
    const { probe, ...signal } = await decodeFile(rendition);
    expect(probe).toMatchObject({ format: "wav", sampleRate: 44100, channels: 2 });
    expect(signal.channels[0]!.length).toBe(original.channels[0]!.length);
    const found = await detectWatermark(decodeAudio(bufferSource(rendition), probe, LIMITS), {
      key: t.deps.watermarking.key,
    });
    expect(found.found).toBe(true);
    expect(await linkWatermark(t.deps.database.db, found.payload!)).toEqual({
      uploadId: first.id,
      accountId: alice.id,
    });
    // The same id again for the same upload (a retried render, an approval after a crash).
    const again = await assignWatermark(t.deps.database.db, { id: first.id, accountId: alice.id }, "x");
    expect(Buffer.from(again).equals(Buffer.from(found.payload!))).toBe(true);

    const { signal: c2pa, store } = await readProvenance(rendition, "wav", t.deps.provenance.trust);
    expect(c2pa.state).toBe("trusted");
    const active = store?.manifests?.[store.active_manifest ?? ""] as {
      assertions?: { label: string; data: unknown }[];
    };
    const bindings = (active.assertions ?? []).filter((a) => a.label.startsWith("c2pa.soft-binding"));
    expect(bindings.map((b) => b.data)).toContainEqual({
      alg: WATERMARK_SOFT_BINDING,
      blocks: [{ scope: {}, value: Buffer.from(found.payload!).toString("base64") }],
    });
  });

  it("finds another account's mark in a re-encoded excerpt of the rendition, and the policy rejects it", async () => {
    const carol = await t.account("carol");
    const mallory = await t.account("mallory");
    const first = await uploadAndWait(carol.auth, encodeWav(makeMix({ seconds: 40, seed: 5151 })), "Carol's");
    const signal = await decodeFile(await renditionOf(first.id, carol.auth));
    const copy = await uploadAndWait(mallory.auth, await encodeMp3(excerpt(signal, 8, 30), 64), "Mine now");
    expect(copy.signals.watermark?.data).toMatchObject({
      found: true,
      linkedUploadId: first.id,
      linkedAccountId: carol.id,
    });
    expect(copy.decision?.action).toBe("reject");
    expect(copy.decision?.reasons.map((r) => r.ruleId)).toContain("watermark-from-other-account");

    // The same account re-releasing its own distributed audio is not a re-upload of someone else's.
    const own = await uploadAndWait(
      carol.auth,
      await encodeMp3(excerpt(signal, 2, 36), 128),
      "Carol's, again",
    );
    expect(own.signals.watermark?.data).toMatchObject({ found: true, linkedAccountId: carol.id });
    expect(own.decision?.reasons.map((r) => r.ruleId) ?? []).not.toContain("watermark-from-other-account");
  });

  it("writes an MP3 upload's rendition as MP3 and an Ogg upload's as FLAC, both marked", async () => {
    const dave = await t.account("dave");
    const mp3 = await uploadAndWait(
      dave.auth,
      await encodeMp3(makeMix({ seconds: 30, seed: 5152 }), 192),
      "MP3 in",
    );
    const ogg = await uploadAndWait(
      dave.auth,
      await encodeOggVorbis(makeMix({ seconds: 30, seed: 5153 })),
      "Ogg in",
    );
    for (const [upload, format] of [
      [mp3, "mp3"],
      [ogg, "flac"],
    ] as const) {
      expect(upload.rendition).toMatchObject({ format });
      const out = await renditionOf(upload.id, dave.auth);
      const { probe } = await decodeFile(out);
      expect(probe).toMatchObject({ format, channels: 2 });
      if (format === "mp3") expect(probe.details.bitrateKbps).toBe(192);
      const found = await detectWatermark(decodeAudio(bufferSource(out), probe, LIMITS), {
        key: t.deps.watermarking.key,
      });
      expect(found.found, format).toBe(true);
      expect(await linkWatermark(t.deps.database.db, found.payload!)).toMatchObject({ uploadId: upload.id });
      expect((await readProvenance(out, format, t.deps.provenance.trust)).signal.state).toBe("trusted");
    }
  });
});
