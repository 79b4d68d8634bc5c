import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeFlac, encodeMp3, encodeWav, makeSignal } from "../../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../../test/harness/deps.js";
import { multipart } from "../../../test/harness/http.js";
import { createApp } from "../../app.js";
import { jobs, uploads } from "../../db/schema/index.js";
import { problemSchema } from "../problem.js";
import { UploadAccepted } from "./schemas.js";

describe.each(DRIVERS)("POST /v1/uploads (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let auth: { authorization: string };
  const wav = encodeWav(makeSignal({ seconds: 2 }));

  beforeAll(async () => {
    t = await createTestContext(driver, {
      env: { EARMARK_MAX_UPLOAD_BYTES: "2MiB", EARMARK_MAX_DURATION: "60s" },
    });
    app = createApp(t.deps);
    auth = (await t.account()).auth;
  });
  afterAll(() => t?.close());

  const post = (body: BodyInit, headers: Record<string, string> = {}, query = "") =>
    app.request(`/v1/uploads${query}`, { method: "POST", body, headers: { ...auth, ...headers } });

  async function expectProblem(res: Response, status: number, code: string) {
    expect(res.status).toBe(status);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    const body = problemSchema.parse(await res.json());
    expect(body.code).toBe(code);
    expect(body.status).toBe(status);
    expect(body.requestId).not.toBe("");
    return body;
  }

  it("accepts a multipart upload, stores the exact bytes, and queues one job in the same commit", async () => {
    const res = await post(
      multipart(wav, {
        filename: "take1.wav",
        type: "audio/wav",
        metadata: { title: "Take 1", artist: "Ada", kind: "music" },
      }),
    );
    expect(res.status).toBe(202);
    const body = UploadAccepted.parse(await res.json());
    expect(body.status).toBe("received");
    expect(res.headers.get("location")).toBe(body.links.self);
    const db = t.deps.database.db;
    const [row] = await db.select().from(uploads).where(eq(uploads.id, body.id));
    expect(row?.metadata).toEqual({ title: "Take 1", artist: "Ada", kind: "music" });
    expect(row?.filename).toBe("take1.wav");
    expect(row?.sizeBytes).toBe(wav.length);
    expect(row?.probe).toMatchObject({ format: "wav", sampleRate: 44100, channels: 2, durationS: 2 });
    const blob = await t.deps.blobs.open(row!.blobKey);
    expect(Buffer.from(await blob!.read(0, blob!.size)).equals(wav)).toBe(true);
    const { createHash } = await import("node:crypto");
    expect(row?.sha256).toBe(createHash("sha256").update(wav).digest("hex"));
    const queued = (await db.select().from(jobs)).filter((j) => j.payload.uploadId === body.id);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({ kind: "process-upload", status: "queued" });
  });

  it("accepts a raw audio body with metadata in the query string", async () => {
    const mp3 = await encodeMp3(makeSignal({ seconds: 2 }));
    const res = await post(
      new Uint8Array(mp3),
      { "content-type": "audio/mpeg" },
      "?title=Episode%201&kind=podcast&filename=ep1.mp3",
    );
    expect(res.status).toBe(202);
    const { id } = UploadAccepted.parse(await res.json());
    const [row] = await t.deps.database.db.select().from(uploads).where(eq(uploads.id, id));
    expect(row?.metadata).toEqual({ title: "Episode 1", kind: "podcast" });
    expect(row?.probe.format).toBe("mp3");
    expect(row?.filename).toBe("ep1.mp3");
  });

  it("accepts the creator's AI disclosure in an Earmark-Metadata header and stores it validated", async () => {
    const disclosure = {
      roles: { voice: "generated", lyrics: "assisted" },
      tools: [{ name: "SomeTTS", version: "2" }],
      voiceClone: { isClone: true, of: "the narrator", consentRef: "contract-17" },
      trainingMining: "notAllowed",
    };
    const res = await post(new Uint8Array(wav), {
      "content-type": "application/octet-stream",
      "earmark-metadata": JSON.stringify({ kind: "podcast", disclosure }),
    });
    expect(res.status).toBe(202);
    const { id } = UploadAccepted.parse(await res.json());
    const [row] = await t.deps.database.db.select().from(uploads).where(eq(uploads.id, id));
    expect(row?.metadata.disclosure).toEqual(disclosure);
  });

  it("sniffs the format from content, not from the declared type or name", async () => {
    const flac = await encodeFlac(makeSignal({ seconds: 1 }));
    const res = await post(multipart(flac, { filename: "song.mp3", type: "audio/mpeg" }));
    expect(res.status).toBe(202);
    const { id } = UploadAccepted.parse(await res.json());
    const [row] = await t.deps.database.db.select().from(uploads).where(eq(uploads.id, id));
    expect(row?.probe.format).toBe("flac");
    expect(row?.declaredContentType).toBe("audio/mpeg");
  });

  it("refuses a text file named .mp3 with 415 and stores nothing", async () => {
    const before = await t.deps.database.db.select().from(uploads);
    const res = await post(
      multipart(new TextEncoder().encode("not audio\n"), { filename: "x.mp3", type: "audio/mpeg" }),
    );
    const problem = await expectProblem(res, 415, "unsupported-media-type");
    expect(problem.detail).toMatch(/text/);
    expect(problem.detail).toMatch(/MP3/);
    expect(await t.deps.database.db.select().from(uploads)).toHaveLength(before.length);
  });

  it("refuses an empty file with 422 empty-upload", async () => {
    await expectProblem(await post(multipart(new Uint8Array(0))), 422, "empty-upload");
  });

  it("refuses a request body that is neither multipart nor audio with 415", async () => {
    await expectProblem(
      await post(JSON.stringify({ a: 1 }), { "content-type": "application/json" }),
      415,
      "unsupported-content-type",
    );
  });

  it("refuses a multipart body without a file part", async () => {
    await expectProblem(await post(multipart(null, { metadata: { title: "x" } })), 422, "missing-file");
  });

  it("refuses unknown parts and a second file", async () => {
    await expectProblem(await post(multipart(wav, { extra: { note: "hi" } })), 400, "bad-request");
  });

  it("names every invalid metadata field, including unknown keys, with JSON pointers", async () => {
    const res = await post(
      multipart(wav, {
        metadata: { title: "", kind: "song", disclosure: { roles: { voice: "maybe" }, mood: 1 } },
      }),
    );
    const problem = await expectProblem(res, 422, "invalid-metadata");
    const pointers = problem.errors?.map((e) => e.pointer).sort();
    expect(pointers).toEqual([
      "/metadata/disclosure/mood",
      "/metadata/disclosure/roles/voice",
      "/metadata/kind",
      "/metadata/title",
    ]);
    expect(problem.errors?.find((e) => e.pointer === "/metadata/disclosure/mood")?.detail).toBe(
      "unknown key",
    );
  });

  it("refuses metadata that is not JSON", async () => {
    const problem = await expectProblem(
      await post(multipart(wav, { metadata: "{title:" })),
      422,
      "invalid-metadata",
    );
    expect(problem.detail).toMatch(/not valid JSON/);
  });

  it("refuses a body over the size limit with 413, by Content-Length before reading and by counting while streaming", async () => {
    const big = new Uint8Array(3 * 1024 * 1024);
    big.set(wav.subarray(0, 44));
    await expectProblem(
      await post(big, { "content-type": "audio/wav", "content-length": String(big.length) }),
      413,
      "upload-too-large",
    );
    // Without a usable Content-Length (a chunked stream), the count while streaming catches it.
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(big);
        c.close();
      },
    });
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: stream,
      headers: { ...auth, "content-type": "audio/wav" },
      duplex: "half",
    } as RequestInit);
    await expectProblem(res, 413, "upload-too-large");
  });

  it("refuses audio whose header declares more than the duration limit, before decoding", async () => {
    const long = encodeWav({ sampleRate: 8000, channels: [new Float32Array(8000 * 61)] });
    const problem = await expectProblem(await post(multipart(long)), 422, "duration-too-long");
    expect(problem.detail).toMatch(/1 min 1 s/);
  });

  describe("Idempotency-Key", () => {
    it("returns the same upload for the same key and body", async () => {
      const first = await post(multipart(wav, { metadata: { title: "Same" } }), { "idempotency-key": "k-1" });
      const again = await post(multipart(wav, { metadata: { title: "Same" } }), { "idempotency-key": "k-1" });
      expect(first.status).toBe(202);
      expect(again.status).toBe(202);
      expect(again.headers.get("idempotent-replayed")).toBe("true");
      const a = UploadAccepted.parse(await first.json());
      const b = UploadAccepted.parse(await again.json());
      expect(b.id).toBe(a.id);
      const rows = await t.deps.database.db.select().from(uploads).where(eq(uploads.idempotencyKey, "k-1"));
      expect(rows).toHaveLength(1);
    });

    it("refuses the same key with a different file or different metadata with 422", async () => {
      await post(multipart(wav, { metadata: { title: "A" } }), { "idempotency-key": "k-2" });
      const otherMeta = await post(multipart(wav, { metadata: { title: "B" } }), {
        "idempotency-key": "k-2",
      });
      await expectProblem(otherMeta, 422, "idempotency-key-reused");
      const otherFile = encodeWav(makeSignal({ seconds: 2, seed: 9 }));
      await expectProblem(
        await post(multipart(otherFile, { metadata: { title: "A" } }), { "idempotency-key": "k-2" }),
        422,
        "idempotency-key-reused",
      );
    });

    it("treats metadata with keys in another order as the same request", async () => {
      const a = await post(multipart(wav, { metadata: '{"title":"T","kind":"music"}' }), {
        "idempotency-key": "k-3",
      });
      const b = await post(multipart(wav, { metadata: '{"kind":"music","title":"T"}' }), {
        "idempotency-key": "k-3",
      });
      expect((await b.json()).id).toBe((await a.json()).id);
    });

    it("scopes keys to the account", async () => {
      const other = await t.account();
      const mine = await post(multipart(wav), { "idempotency-key": "k-shared" });
      const theirs = await app.request("/v1/uploads", {
        method: "POST",
        body: multipart(wav),
        headers: { ...other.auth, "idempotency-key": "k-shared" },
      });
      expect(theirs.status).toBe(202);
      expect((await theirs.json()).id).not.toBe((await mine.json()).id);
    });

    it("gives one upload when the same request races itself", async () => {
      const results = await Promise.all(
        [1, 2, 3].map(() =>
          post(multipart(wav, { metadata: { title: "race" } }), { "idempotency-key": "k-race" }),
        ),
      );
      const ids = new Set(await Promise.all(results.map(async (r) => (await r.json()).id)));
      expect(results.map((r) => r.status)).toEqual([202, 202, 202]);
      expect(ids.size).toBe(1);
    });

    it("refuses a malformed key", async () => {
      await expectProblem(
        await post(multipart(wav), { "idempotency-key": "x".repeat(300) }),
        422,
        "validation-failed",
      );
    });
  });

  it("needs an API key", async () => {
    const res = await app.request("/v1/uploads", { method: "POST", body: multipart(wav) });
    await expectProblem(res, 401, "unauthorized");
    expect(res.headers.get("www-authenticate")).toMatch(/Bearer/);
    await expectProblem(
      await app.request("/v1/uploads", {
        method: "POST",
        body: multipart(wav),
        headers: { authorization: "Bearer em_nope" },
      }),
      401,
      "unauthorized",
    );
  });
});
