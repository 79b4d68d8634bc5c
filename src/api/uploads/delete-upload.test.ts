import { rm } from "node:fs/promises";
import { and, count, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { corruptMp3, encodeWav, makeMusic } from "../../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../../test/harness/deps.js";
import { multipart } from "../../../test/harness/http.js";
import { HOLD_RULE, shippedBundleWith } from "../../../test/harness/policy.js";
import { createApp } from "../../app.js";
import {
  decisions,
  fingerprintHashes,
  fingerprints,
  renditions,
  reviewTasks,
  signals,
  uploads,
} from "../../db/schema/index.js";
import { startWorker } from "../../jobs/kinds.js";
import type { Worker } from "../../jobs/worker.js";
import { processUpload } from "../../pipeline/orchestrator.js";
import { renditionKey } from "../../pipeline/render.js";
import { loadPolicyBundle } from "../../policy/bundle.js";
import { replayPolicy } from "../../policy/replay.js";
import { originalKey } from "../../uploads/receive.js";
import { removeUpload } from "../../uploads/remove.js";
import { problemSchema } from "../problem.js";
import { UploadRecord, UploadSummary } from "./schemas.js";

describe.each(DRIVERS)("removing an upload (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let policyDir: string;
  let alice: Awaited<ReturnType<TestContext["account"]>>;
  let bob: Awaited<ReturnType<TestContext["account"]>>;
  let seed = 1000;

  beforeAll(async () => {
    // The shipped bundle plus a rule that holds uploads for review on request.
    policyDir = await shippedBundleWith({ "test-hold.yaml": HOLD_RULE });
    t = await createTestContext(driver, { env: { EARMARK_POLICY_DIR: policyDir } });
    app = createApp(t.deps);
    alice = await t.account("alice");
    bob = await t.account("bob");
    worker = startWorker(t.deps, 1, { pollMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    if (policyDir) await rm(policyDir, { recursive: true, force: true });
  });

  const db = () => t.deps.database.db;

  async function upload(
    auth: { authorization: string },
    title: string,
    body: Uint8Array = encodeWav(makeMusic({ seconds: 3, seed: seed++ })),
  ): Promise<string> {
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(body, { metadata: { title } }),
      headers: auth,
    });
    expect(res.status).toBe(202);
    return ((await res.json()) as { id: string }).id;
  }

  async function record(auth: { authorization: string }, id: string) {
    const res = await app.request(`/v1/uploads/${id}`, { headers: auth });
    expect(res.status).toBe(200);
    return UploadRecord.parse(await res.json());
  }

  const remove = (auth: { authorization: string }, id: string, init: RequestInit & { query?: string } = {}) =>
    app.request(`/v1/uploads/${id}${init.query ?? ""}`, {
      ...init,
      method: "DELETE",
      headers: { ...auth, ...(init.headers as Record<string, string> | undefined) },
    });

  const rowCount = async (table: typeof decisions | typeof signals, id: string) =>
    (await db().select({ n: count() }).from(table).where(eq(table.uploadId, id)))[0]!.n;

  it("takes a decided upload down: 204, status removed, audio and fingerprint gone, record kept", async () => {
    const id = await upload(alice.auth, "Take me down");
    await worker.idle();
    const before = await record(alice.auth, id);
    expect(before).toMatchObject({ status: "decided", decision: { action: "allow", decidedBy: "policy" } });
    expect(before.rendition).not.toBeNull();
    const [fp] = await db()
      .select({ id: fingerprints.id })
      .from(fingerprints)
      .where(eq(fingerprints.uploadId, id));
    expect(fp).toBeDefined();
    const hashRows = async () =>
      (
        await db()
          .select({ n: count() })
          .from(fingerprintHashes)
          .where(eq(fingerprintHashes.fingerprintId, fp!.id))
      )[0]!.n;
    expect(await hashRows()).toBeGreaterThan(0);
    expect(await t.deps.blobs.open(originalKey(id))).not.toBeNull();
    expect(await t.deps.blobs.open(renditionKey(id))).not.toBeNull();
    const signalsBefore = await rowCount(signals, id);
    const decisionsBefore = await rowCount(decisions, id);

    const res = await remove(alice.auth, id, { query: "?reason=Released%20by%20mistake" });
    expect(res.status).toBe(204);
    expect(await res.text()).toBe("");

    const after = await record(alice.auth, id);
    expect(after.status).toBe("removed");
    expect(after.decision).toEqual({
      action: "reject",
      labels: [],
      reasons: [{ ruleId: "takedown", message: "Released by mistake" }],
      policyRevision: before.decision!.policyRevision,
      decidedBy: `takedown:account:${alice.id}`,
      decidedAt: expect.any(String),
    });
    expect(after.rendition).toBeNull();
    expect(after.links.rendition).toBeNull();
    // The audit trail stays: the upload's signals and every decision, the takedown appended.
    expect(Object.keys(after.signals).sort()).toEqual(Object.keys(before.signals).sort());
    expect(await rowCount(signals, id)).toBe(signalsBefore);
    expect(await rowCount(decisions, id)).toBe(decisionsBefore + 1);

    const rendition = await app.request(`/v1/uploads/${id}/rendition`, { headers: alice.auth });
    expect(rendition.status).toBe(410);
    expect(rendition.headers.get("content-type")).toBe("application/problem+json");
    expect(problemSchema.parse(await rendition.json())).toMatchObject({
      code: "upload-removed",
      status: 410,
      uploadStatus: "removed",
    });

    // Out of the match index, fingerprint and index rows alike.
    expect(await db().select().from(fingerprints).where(eq(fingerprints.uploadId, id))).toEqual([]);
    expect(await hashRows()).toBe(0);
    expect(await db().select().from(renditions).where(eq(renditions.uploadId, id))).toEqual([]);
    expect(await t.deps.blobs.open(originalKey(id))).toBeNull();
    expect(await t.deps.blobs.open(renditionKey(id))).toBeNull();

    // Listed, and found by the status filter.
    const list = (await (
      await app.request("/v1/uploads?status=removed", { headers: alice.auth })
    ).json()) as {
      data: unknown[];
    };
    expect(list.data.map((d) => UploadSummary.parse(d))).toContainEqual(
      expect.objectContaining({ id, status: "removed", action: "reject" }),
    );

    // A second DELETE succeeds the same way and records nothing more.
    const again = await remove(alice.auth, id);
    expect(again.status).toBe(204);
    expect(await rowCount(decisions, id)).toBe(decisionsBefore + 1);

    // The pipeline leaves a removed upload alone, also when its job runs again.
    await processUpload(t.deps, id, { signal: new AbortController().signal, attempt: 2 });
    expect((await record(alice.auth, id)).status).toBe("removed");
    expect(await rowCount(decisions, id)).toBe(decisionsBefore + 1);
    expect(await db().select().from(fingerprints).where(eq(fingerprints.uploadId, id))).toEqual([]);
  });

  it("answers 404 for another account's upload (and leaves it alone), and for ids that do not exist", async () => {
    const id = await upload(alice.auth, "Alice only");
    await worker.idle();
    const res = await remove(bob.auth, id);
    expect(res.status).toBe(404);
    expect(problemSchema.parse(await res.json()).code).toBe("not-found");
    expect((await record(alice.auth, id)).status).toBe("decided");
    expect(await t.deps.blobs.open(originalKey(id))).not.toBeNull();
    for (const missing of ["upl_01JD3Q4Z8N6W0K2M5R7T9V1X3Y", "nope"]) {
      const r = await remove(alice.auth, missing);
      expect(r.status, missing).toBe(404);
      expect(problemSchema.parse(await r.json()).code).toBe("not-found");
    }
  });

  it("answers 409 upload-in-progress while the pipeline has the upload, and removes it once decided", async () => {
    await worker.stop();
    let restarted = false;
    try {
      const id = await upload(alice.auth, "Still running");
      const received = await remove(alice.auth, id);
      expect(received.status).toBe(409);
      expect(received.headers.get("retry-after")).toBe("5");
      expect(problemSchema.parse(await received.json())).toMatchObject({
        code: "upload-in-progress",
        status: 409,
        uploadStatus: "received",
      });
      await db().update(uploads).set({ status: "processing" }).where(eq(uploads.id, id));
      const processing = await remove(alice.auth, id);
      expect(processing.status).toBe(409);
      expect(problemSchema.parse(await processing.json())).toMatchObject({
        code: "upload-in-progress",
        uploadStatus: "processing",
      });
      // Nothing was touched.
      expect(await rowCount(decisions, id)).toBe(0);
      expect(await t.deps.blobs.open(originalKey(id))).not.toBeNull();

      worker = startWorker(t.deps, 1, { pollMs: 50 });
      restarted = true;
      await worker.idle();
      expect((await record(alice.auth, id)).status).toBe("decided");
      expect((await remove(alice.auth, id)).status).toBe(204);
      expect((await record(alice.auth, id)).status).toBe("removed");
    } finally {
      if (!restarted) worker = startWorker(t.deps, 1, { pollMs: 50 });
    }
  });

  it("removes a held upload with a reason in the body, closing its review task", async () => {
    const id = await upload(alice.auth, "Please hold me");
    await worker.idle();
    expect((await record(alice.auth, id)).status).toBe("held");
    const [open] = await db().select().from(reviewTasks).where(eq(reviewTasks.uploadId, id));
    expect(open).toMatchObject({ status: "open", closedAt: null });

    const res = await remove(alice.auth, id, {
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ reason: "  Wrong master.  " }),
    });
    expect(res.status).toBe(204);
    const after = await record(alice.auth, id);
    expect(after).toMatchObject({
      status: "removed",
      decision: { action: "reject", reasons: [{ ruleId: "takedown", message: "Wrong master." }] },
    });
    const [closed] = await db().select().from(reviewTasks).where(eq(reviewTasks.uploadId, id));
    expect(closed?.status).toBe("closed");
    expect(closed?.closedAt).toBeInstanceOf(Date);
    // Left the review queue.
    const queue = await db()
      .select()
      .from(reviewTasks)
      .where(and(eq(reviewTasks.uploadId, id), eq(reviewTasks.status, "open")));
    expect(queue).toEqual([]);
  });

  it("removes a failed upload, with the default reason", async () => {
    const id = await upload(alice.auth, "Broken", await corruptMp3());
    await worker.idle();
    const failed = await record(alice.auth, id);
    expect(failed.status).toBe("failed");
    expect((await remove(alice.auth, id)).status).toBe(204);
    const after = await record(alice.auth, id);
    expect(after.status).toBe("removed");
    expect(after.failure).toEqual(failed.failure); // kept
    expect(after.decision).toMatchObject({
      action: "reject",
      reasons: [{ ruleId: "takedown", message: "Removed by the account." }],
      // No decision before it to take the revision from.
      policyRevision: "takedown",
    });
    expect(await t.deps.blobs.open(originalKey(id))).toBeNull();
    const rendition = await app.request(`/v1/uploads/${id}/rendition`, { headers: alice.auth });
    expect(problemSchema.parse(await rendition.json()).code).toBe("upload-removed");
  });

  it("validates the reason", async () => {
    const id = await upload(alice.auth, "Validated");
    await worker.idle();
    for (const init of [
      { query: `?reason=${"x".repeat(501)}` },
      { query: "?reason=%20%20" },
      { headers: { "content-type": "application/json" }, body: JSON.stringify({ reason: 7 }) },
      { headers: { "content-type": "application/json" }, body: JSON.stringify({ why: "unknown field" }) },
    ]) {
      const res = await remove(alice.auth, id, init);
      expect(res.status, JSON.stringify(init)).toBe(422);
      const p = problemSchema.parse(await res.json());
      expect(p.code).toBe("validation-failed");
      expect(p.errors?.[0]?.pointer).toMatch(/^\/(query|body)\//);
    }
    const text = await remove(alice.auth, id, { headers: { "content-type": "text/plain" }, body: "because" });
    expect(text.status).toBe(415);
    expect((await record(alice.auth, id)).status).toBe("decided");
    expect((await remove(alice.auth, id, { query: `?reason=${"x".repeat(500)}` })).status).toBe(204);
  });

  it("takes the recording out of matching: after a takedown the same audio is no longer a re-upload", async () => {
    const carol = await t.account();
    const dave = await t.account();
    const wav = encodeWav(makeMusic({ seconds: 3, seed: 7 }));
    const original = await upload(alice.auth, "Original", wav);
    await worker.idle();
    expect((await record(alice.auth, original)).decision?.action).toBe("allow");
    // While it is in the index, another account's copy is rejected.
    const copy = await upload(bob.auth, "Copy", wav);
    await worker.idle();
    expect((await record(bob.auth, copy)).decision).toMatchObject({
      action: "reject",
      reasons: [expect.objectContaining({ ruleId: "cross-account-reupload" })],
    });
    // Both taken down (the rejected copy was fingerprinted too), a third account's upload matches neither.
    expect((await remove(alice.auth, original)).status).toBe(204);
    const operator = await removeUpload(t.deps, copy, { reason: "Rights claim", by: "operator" });
    expect(operator.outcome).toBe("removed");
    const later = await upload(carol.auth, "Later", wav);
    await worker.idle();
    const r = await record(carol.auth, later);
    expect(r.decision?.action).toBe("allow");
    const matched = (r.signals.fingerprint?.data.matches ?? []).map((m) => m.uploadId);
    expect(matched).not.toContain(original);
    expect(matched).not.toContain(copy);
    // The domain function: account isolation, and in-progress uploads refused.
    expect(
      await removeUpload(t.deps, later, { accountId: dave.id, reason: "x", by: `account:${dave.id}` }),
    ).toEqual({
      outcome: "not-found",
      uploadId: later,
    });
    const [bobs] = await db()
      .select()
      .from(decisions)
      .where(and(eq(decisions.uploadId, copy), sql`${decisions.decidedBy} like 'takedown:%'`));
    expect(bobs).toMatchObject({
      decidedBy: "takedown:operator",
      reasons: [{ ruleId: "takedown", message: "Rights claim" }],
    });
  });

  it("does not count a takedown among the account's past rejections", async () => {
    const carol = await t.account("carol");
    const first = await upload(carol.auth, "Released by mistake");
    await worker.idle();
    expect((await remove(carol.auth, first)).status).toBe(204);
    const next = await upload(carol.auth, "The real release");
    await worker.idle();
    // The takedown appended a `reject` decision; the upload itself was allowed.
    expect((await record(carol.auth, next)).signals.account?.data.pastRejections).toBe(0);
  });

  it("does not count a takedown as a reviewer's decision in a policy replay", async () => {
    const bundle = await loadPolicyBundle(policyDir, { git: false });
    const report = await replayPolicy(db(), bundle);
    expect(report.replayed).toBeGreaterThan(0);
    // Every removed upload of this suite has a takedown decision after the policy's; none is a reviewer's.
    expect(report.reviewers).toEqual({ decided: 0, overrides: 0, candidateAgrees: 0, currentAgreed: 0 });
  });
});
