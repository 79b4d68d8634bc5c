import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audioIn, devTrust, simpleManifest } from "../../test/harness/c2pa.js";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { uploadAndDecide } from "../../test/harness/http.js";
import { createApp } from "../app.js";
import { bufferSource } from "../audio/bytes.js";
import { openAudio } from "../audio/open.js";
import { watermarks } from "../db/schema/index.js";
import { startWorker } from "../jobs/kinds.js";
import type { Worker } from "../jobs/worker.js";
import type { Decision } from "../pipeline/decide.js";
import { noPolicyBundle } from "../pipeline/decide.js";
import { WATERMARK_ALGORITHM } from "../watermark/index.js";
import { type ManifestStoreJson, readProvenance } from "./c2pa/read.js";
import { WATERMARK_SOFT_BINDING } from "./c2pa/settings.js";
import { signAudio } from "./c2pa/sign.js";
import type { Disclosure } from "./disclosure.js";
import { DISCLOSURE_ASSERTION, manifestToDisclosure } from "./mapping.js";
import {
  c2paSigningStep,
  DECISION_ASSERTION,
  FINGERPRINT_SOFT_BINDING,
  sealStreamedWav,
} from "./render-step.js";
import { provenanceWith } from "./service.js";

interface Manifest {
  title: string;
  assertions: { label: string; data: unknown }[];
  ingredients?: { relationship: string; title: string; active_manifest?: string; format?: string }[];
}
const activeOf = (store: ManifestStoreJson) =>
  store.manifests?.[store.active_manifest ?? ""] as unknown as Manifest;
const assertion = (m: Manifest, label: string) => m.assertions.find((a) => a.label === label)?.data;

describe.each(DRIVERS)("C2PA-signed renditions (%s)", (driver) => {
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

  async function uploadAndWait(body: Uint8Array, metadata: Record<string, unknown>) {
    const record = await uploadAndDecide(app, worker, auth, body, metadata);
    const rendition = await app.request(`/v1/uploads/${record.id}/rendition`, { headers: auth });
    return { record, rendition: new Uint8Array(await rendition.arrayBuffer()) };
  }

  it("signs a labelled MP3 with the disclosure, the decision, training-mining, the soft binding and the upload's own manifest", async () => {
    const { signer, trust } = t.deps.provenance;
    const incoming = await signAudio(
      await audioIn("mp3"),
      "mp3",
      simpleManifest("mp3", "from the generator"),
      signer,
      trust,
    );
    const disclosure: Disclosure = {
      roles: { voice: "generated", lyrics: "generated" },
      tools: [{ name: "SomeTTS", version: "2" }],
      trainingMining: "notAllowed",
    };
    const { record, rendition } = await uploadAndWait(incoming.bytes, { title: "Episode 9", disclosure });
    expect(record.decision?.action).toBe("label");
    expect(record.rendition?.steps).toEqual([
      { name: "watermark", version: WATERMARK_ALGORITHM },
      { name: "c2pa-sign", version: "c2pa-sign-1" },
    ]);

    const { signal, store } = await readProvenance(rendition, "mp3", trust);
    expect(signal).toMatchObject({ present: true, state: "trusted", statusCodes: [] });
    expect(signal.activeManifest?.claimGenerator).toMatch(/^Earmark\/\d+\.\d+\.\d+/);
    const active = activeOf(store!);
    expect(active.title).toBe("Episode 9");
    expect(Object.keys(store!.manifests ?? {})).toHaveLength(2);
    expect(active.ingredients).toEqual([
      expect.objectContaining({ relationship: "parentOf", title: "Episode 9 (as uploaded)" }),
    ]);
    expect(activeOf({ ...store!, active_manifest: active.ingredients?.[0]?.active_manifest }).title).toBe(
      "from the generator",
    );
    expect(assertion(active, "c2pa.actions.v2")).toMatchObject({
      actions: [
        {
          action: "c2pa.opened",
          digitalSourceType: "http://cv.iptc.org/newscodes/digitalsourcetype/trainedAlgorithmicMedia",
        },
      ],
      softwareAgents: [{ name: "SomeTTS", version: "2" }],
    });
    expect(assertion(active, DISCLOSURE_ASSERTION)).toEqual(disclosure);
    expect(assertion(active, DECISION_ASSERTION)).toEqual({
      uploadId: record.id,
      action: "label",
      labels: expect.arrayContaining([
        { label: "ai-generated-voice", text: "AI-generated voice" },
        { label: "ai-generated", text: "AI-generated" },
      ]),
      policyRevision: t.deps.policy.revision,
    });
    // One soft binding per mark: the watermark's id (as the watermarks table has it) and the fingerprint's.
    const [mark] = await t.deps.database.db
      .select()
      .from(watermarks)
      .where(eq(watermarks.uploadId, record.id));
    expect(
      active.assertions.filter((a) => a.label.startsWith("c2pa.soft-binding")).map((a) => a.data),
    ).toEqual([
      {
        alg: WATERMARK_SOFT_BINDING,
        blocks: [{ scope: {}, value: Buffer.from(mark!.payload, "hex").toString("base64") }],
      },
      {
        alg: FINGERPRINT_SOFT_BINDING,
        blocks: [{ scope: {}, value: Buffer.from(record.id).toString("base64") }],
      },
    ]);
    expect(manifestToDisclosure(active)).toMatchObject({
      aiUse: "generated",
      disclosure,
      trainingMining: "notAllowed",
    });
    // Still the same kind of audio to a player.
    expect((await openAudio(bufferSource(rendition), { maxDurationS: 60 })).format).toBe("mp3");
  });

  it("signs a plain WAV with the upload as an ingredient and no AI claim", async () => {
    const original = await audioIn("wav");
    const { record, rendition } = await uploadAndWait(original, { title: "Field recording" });
    expect(record.decision?.action).toBe("allow");
    const { signal, store } = await readProvenance(rendition, "wav", t.deps.provenance.trust);
    expect(signal.state).toBe("trusted");
    const active = activeOf(store!);
    expect(Object.keys(store!.manifests ?? {})).toHaveLength(1);
    expect(active.ingredients).toEqual([expect.objectContaining({ relationship: "parentOf" })]);
    expect(assertion(active, "c2pa.actions.v2")).toEqual({
      actions: [expect.not.objectContaining({ digitalSourceType: expect.anything() })],
    });
    expect(signal.activeManifest?.actions).toEqual(["c2pa.opened"]);
    expect(assertion(active, DISCLOSURE_ASSERTION)).toBeUndefined();
    expect(rendition.length).toBeGreaterThan(original.length);
  });

  it("sends Ogg out as signed FLAC, the Ogg upload described as its parent by its SHA-256", async () => {
    const ogg = await audioIn("ogg-vorbis");
    const { record, rendition } = await uploadAndWait(ogg, { title: "Ogg" });
    expect(record.status).toBe("decided");
    expect(record.rendition).toMatchObject({ format: "flac", contentType: "audio/flac" });
    const { signal, store } = await readProvenance(rendition, "flac", t.deps.provenance.trust);
    expect(signal.state).toBe("trusted");
    expect(activeOf(store!).ingredients).toEqual([
      expect.objectContaining({
        relationship: "parentOf",
        title: "Ogg (as uploaded)",
        format: "audio/ogg",
        instance_id: `sha256:${createHash("sha256").update(ogg).digest("hex")}`,
      }),
    ]);
  });
});

describe("the c2pa-sign step on its own", () => {
  const decision: Decision = {
    action: "allow",
    labels: [],
    reasons: [],
    policyRevision: "none",
    priority: 0,
    trace: null,
  };
  const factsOf = async (bytes: Uint8Array) => ({
    id: "upl_step",
    accountId: "acc_step",
    metadata: { kind: "music" as const, title: "Step" },
    sha256: "",
    sizeBytes: bytes.length,
    probe: await openAudio(bufferSource(bytes), { maxDurationS: 60 }),
  });

  it("gives a WAV from a streaming recorder its real sizes, so c2pa-rs can sign it", async () => {
    const { signer, trust } = await devTrust();
    const streamed = (await audioIn("wav")).slice();
    const view = new DataView(streamed.buffer);
    expect(String.fromCharCode(...streamed.subarray(36, 40))).toBe("data");
    view.setUint32(4, 0xffffffff, true);
    view.setUint32(40, 0xffffffff, true);
    await expect(signAudio(streamed, "wav", simpleManifest("wav"), signer, trust)).rejects.toThrow(
      /could not sign the wav file: .*RIFF chunk declared size exceeds file size/,
    );

    const sealed = sealStreamedWav("wav", streamed);
    const sealedView = new DataView(sealed.buffer, sealed.byteOffset);
    expect(sealedView.getUint32(4, true)).toBe(streamed.length - 8);
    expect(sealedView.getUint32(40, true)).toBe(streamed.length - 44);
    const probe = (b: Uint8Array) => openAudio(bufferSource(b), { maxDurationS: 60 });
    expect((await probe(sealed)).audioBytes).toBe((await probe(streamed)).audioBytes);
    const signed = await signAudio(sealed, "wav", simpleManifest("wav"), signer, trust);
    expect(signed.readBack.state).toBe("trusted");

    const ordinary = await audioIn("wav");
    expect(sealStreamedWav("wav", ordinary)).toBe(ordinary);
  });

  it("refuses a rendition above EARMARK_C2PA_MAX_BYTES rather than distribute it unsigned", async () => {
    const { signer, trust } = await devTrust();
    const step = c2paSigningStep(
      provenanceWith({ signer, trust, maxBytes: 1000, development: true }),
      noPolicyBundle,
    );
    const wav = await audioIn("wav");
    const source = bufferSource(wav);
    await expect(
      step.apply(
        { upload: await factsOf(wav), source, original: source, format: "wav", decision, softBindings: [] },
        { signal: new AbortController().signal },
      ),
    ).rejects.toThrow(
      /the rendition is \d+ bytes; C2PA signing is bounded by EARMARK_C2PA_MAX_BYTES \(1000\)/,
    );
  });
});
