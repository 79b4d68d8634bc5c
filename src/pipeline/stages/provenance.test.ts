import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audioIn, simpleManifest } from "../../../test/harness/c2pa.js";
import { createTestContext, DRIVERS, type TestContext } from "../../../test/harness/deps.js";
import { uploadAndDecide } from "../../../test/harness/http.js";
import { createApp } from "../../app.js";
import { bufferSource } from "../../audio/bytes.js";
import { openAudio } from "../../audio/open.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";
import { generateChain } from "../../provenance/c2pa/certs.js";
import { signAudio } from "../../provenance/c2pa/sign.js";
import { localKeySigner } from "../../provenance/c2pa/signer.js";

describe.each(DRIVERS)("provenance stage (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let auth: { authorization: string };

  beforeAll(async () => {
    t = await createTestContext(driver);
    app = createApp(t.deps);
    worker = startWorker(t.deps, 1, { pollMs: 50 });
    auth = (await t.account()).auth;
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  const uploadAndWait = (body: Uint8Array, title: string) =>
    uploadAndDecide(app, worker, auth, body, { title });

  it("reads a trusted manifest from an uploaded MP3; the policy labels what it declares", async () => {
    const { signer, trust } = t.deps.provenance;
    const signed = await signAudio(await audioIn("mp3"), "mp3", simpleManifest("mp3"), signer, trust);
    const record = await uploadAndWait(signed.bytes, "Signed elsewhere");
    expect(record.signals.provenance).toMatchObject({
      version: "c2pa-1",
      data: {
        present: true,
        state: "trusted",
        statusCodes: [],
        problem: null,
        activeManifest: {
          signer: "Earmark development signer",
          actions: ["c2pa.created"],
          digitalSourceTypes: ["http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia"],
        },
      },
    });
    // policies/ai.yaml: trusted credentials declaring AI generation are labelled.
    expect(record.decision).toMatchObject({ action: "label", labels: ["ai-generated"] });
  });

  it("says valid, not trusted, for a signer outside the trust anchors", async () => {
    const other = await generateChain({ name: "Unknown studio" });
    const signer = localKeySigner({ chainPem: other.chainPem, keyPem: other.keyPem, source: "other" });
    const signed = await signAudio(await audioIn("flac"), "flac", simpleManifest("flac"), signer, {
      anchorsPem: other.rootPem,
    });
    const record = await uploadAndWait(signed.bytes, "Unknown signer");
    expect(record.signals.provenance?.data).toMatchObject({
      present: true,
      state: "valid",
      statusCodes: ["signingCredential.untrusted"],
      activeManifest: { signer: "Unknown studio signer" },
    });
    expect(record.decision?.action).toBe("allow");
  });

  it("finds changed audio under a manifest invalid, and the policy holds it for review", async () => {
    const { signer, trust } = t.deps.provenance;
    const signed = await signAudio(await audioIn("wav"), "wav", simpleManifest("wav"), signer, trust);
    const probe = await openAudio(bufferSource(signed.bytes), { maxDurationS: 60 });
    const tampered = signed.bytes.slice();
    const at = probe.audioOffset + 1000;
    tampered[at] = tampered[at]! ^ 0x40;
    const record = await uploadAndWait(tampered, "Tampered");
    expect(record.signals.provenance?.data).toMatchObject({ present: true, state: "invalid" });
    expect(record.signals.provenance?.data.statusCodes).toContain("assertion.dataHash.mismatch");
    expect(record.status).toBe("held");
    expect(record.decision?.reasons.map((r) => r.ruleId)).toContain("tampered-credentials");
  });

  it("reports no manifest for plain uploads, and Ogg as a format that cannot carry one", async () => {
    const plain = await uploadAndWait(await audioIn("m4a"), "Plain");
    expect(plain.signals.provenance?.data).toEqual({
      present: false,
      state: null,
      statusCodes: [],
      activeManifest: null,
      problem: null,
    });
    const ogg = await uploadAndWait(await audioIn("ogg-vorbis"), "Ogg");
    expect(ogg.status).toBe("decided");
    expect(ogg.signals.provenance?.data).toMatchObject({
      present: false,
      problem: { code: "unsupported-format" },
    });
  });
});
