import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { audioIn } from "../../../test/harness/c2pa.js";
import { createTestContext, DRIVERS, type TestContext } from "../../../test/harness/deps.js";
import { postUpload } from "../../../test/harness/http.js";
import { createApp } from "../../app.js";
import { renditions, uploads } from "../../db/schema/index.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";
import { renditionManifestKey } from "../../pipeline/render.js";
import { loadC2pa } from "../../provenance/c2pa/wasm.js";
import { problemSchema } from "../problem.js";
import { ManifestResponse } from "./get-manifest.js";

describe.each(DRIVERS)("GET /v1/uploads/{id}/manifest (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let alice: Awaited<ReturnType<TestContext["account"]>>;

  beforeAll(async () => {
    t = await createTestContext(driver);
    app = createApp(t.deps);
    worker = startWorker(t.deps, 1, { pollMs: 50 });
    alice = await t.account();
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
  });

  const upload = (body: Uint8Array, title: string) => postUpload(app, alice.auth, body, { title });

  it("returns the rendition's manifest store, validated", async () => {
    const id = await upload(await audioIn("flac"), "Credited");
    await worker.idle();
    const res = await app.request(`/v1/uploads/${id}/manifest`, { headers: alice.auth });
    expect(res.status).toBe(200);
    const body = ManifestResponse.parse(await res.json());
    expect(body.uploadId).toBe(id);
    expect(body.validation).toMatchObject({ present: true, state: "trusted", statusCodes: [] });
    const store = body.manifestStore as {
      active_manifest: string;
      manifests: Record<string, { title: string }>;
    };
    expect(store.manifests[store.active_manifest]?.title).toBe("Credited");
  });

  it("returns a manifest for an Ogg upload: its rendition is signed FLAC", async () => {
    const id = await upload(await audioIn("ogg-vorbis"), "Ogg in");
    await worker.idle();
    const res = await app.request(`/v1/uploads/${id}/manifest`, { headers: alice.auth });
    expect(res.status).toBe(200);
    expect(ManifestResponse.parse(await res.json()).validation).toMatchObject({ state: "trusted" });
  });

  it("says there is no manifest for an Ogg rendition (made before renditions were re-encoded), as problem+json", async () => {
    const id = await upload(await audioIn("ogg-vorbis"), "Ogg");
    await worker.idle();
    const [row] = await t.deps.database.db.select().from(uploads).where(eq(uploads.id, id));
    await t.deps.database.db
      .update(renditions)
      .set({ blobKey: row!.blobKey, format: "ogg-vorbis", contentType: "audio/ogg", steps: [] })
      .where(eq(renditions.uploadId, id));
    const res = await app.request(`/v1/uploads/${id}/manifest`, { headers: alice.auth });
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(problemSchema.parse(await res.json())).toMatchObject({
      code: "no-manifest",
      format: "ogg-vorbis",
      detail: expect.stringContaining("cannot carry an embedded C2PA manifest"),
    });
  });

  it("answers 404 for another account's upload", async () => {
    const id = await upload(await audioIn("wav"), "Mine");
    await worker.idle();
    const bob = await t.account();
    const res = await app.request(`/v1/uploads/${id}/manifest`, { headers: bob.auth });
    expect(res.status).toBe(404);
    expect(problemSchema.parse(await res.json()).code).toBe("not-found");
  });

  it("serves the same manifest store as a sidecar .c2pa: the bytes embedded in the rendition", async () => {
    const id = await upload(await audioIn("wav"), "Sidecar");
    await worker.idle();
    const res = await app.request(`/v1/uploads/${id}/manifest.c2pa`, { headers: alice.auth });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/c2pa");
    const sidecar = new Uint8Array(await res.arrayBuffer());
    const rendition = Buffer.from(
      await (await app.request(`/v1/uploads/${id}/rendition`, { headers: alice.auth })).arrayBuffer(),
    );
    expect(sidecar.length).toBeGreaterThan(1000);
    expect(rendition.indexOf(Buffer.from(sidecar))).toBeGreaterThan(0);
    // c2pa-rs reads the sidecar on its own as the same store (its data hash needs the audio beside it).
    const { WasmReader } = loadC2pa();
    const alone = JSON.parse((await WasmReader.fromBytes("application/c2pa", sidecar)).json()) as {
      active_manifest: string;
    };
    const json = ManifestResponse.parse(
      await (await app.request(`/v1/uploads/${id}/manifest`, { headers: alice.auth })).json(),
    );
    expect(alone.active_manifest).toBe((json.manifestStore as { active_manifest: string }).active_manifest);
    const again = await app.request(`/v1/uploads/${id}/manifest.c2pa`, {
      headers: { ...alice.auth, "if-none-match": res.headers.get("etag") ?? "" },
    });
    expect(again.status).toBe(304);

    // Removing the upload removes its sidecar with the audio.
    expect(await t.deps.blobs.open(renditionManifestKey(id))).not.toBeNull();
    expect((await app.request(`/v1/uploads/${id}`, { method: "DELETE", headers: alice.auth })).status).toBe(
      204,
    );
    expect(await t.deps.blobs.open(renditionManifestKey(id))).toBeNull();
  });

  it("answers 404 no-manifest for a rendition without a sidecar, and 404 for another account", async () => {
    const id = await upload(await audioIn("flac"), "Older");
    await worker.idle();
    await t.deps.blobs.delete(renditionManifestKey(id));
    const res = await app.request(`/v1/uploads/${id}/manifest.c2pa`, { headers: alice.auth });
    expect(res.status).toBe(404);
    expect(problemSchema.parse(await res.json()).code).toBe("no-manifest");
    const bob = await t.account();
    const other = await app.request(`/v1/uploads/${id}/manifest.c2pa`, { headers: bob.auth });
    expect(problemSchema.parse(await other.json()).code).toBe("not-found");
  });
});
