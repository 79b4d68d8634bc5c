import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { eq } from "drizzle-orm";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav, makeSignal, rng } from "../../test/harness/audio.js";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { eventually, multipart, uploadAndDecide } from "../../test/harness/http.js";
import { HOLD_RULE, shippedBundleWith } from "../../test/harness/policy.js";
import { createAccount, createApiKey } from "../accounts/accounts.js";
import { UploadRecord } from "../api/uploads/schemas.js";
import { createApp } from "../app.js";
import { decisions, policyRevisions, reviewTasks, signals, webhookDeliveries } from "../db/schema/index.js";
import { newId } from "../ids.js";
import { startWorker } from "../jobs/kinds.js";
import type { Worker } from "../jobs/worker.js";
import type { RenderStep } from "../pipeline/render.js";
import type { UploadRecord as UploadRecordType } from "../uploads/record.js";
import { loadPolicyBundle } from "./bundle.js";
import { BundlePolicyEngine, watchPolicyBundle } from "./engine.js";
import { explainUpload } from "./explain.js";
import { formatReplay, replayPolicy } from "./replay.js";

describe.each(DRIVERS)("the policy in the pipeline (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let policyDir: string;
  let creator: Awaited<ReturnType<TestContext["account"]>>;
  const wav = encodeWav(makeSignal({ seconds: 2 }));

  beforeAll(async () => {
    // The shipped bundle plus one test rule, in a directory of its own.
    policyDir = await shippedBundleWith({ "test-hold.yaml": HOLD_RULE });
    t = await createTestContext(driver, { env: { EARMARK_POLICY_DIR: policyDir } });
    app = createApp(t.deps);
    creator = await t.account();
    worker = startWorker(t.deps, 1, { pollMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    await rm(policyDir, { recursive: true, force: true });
  });

  async function upload(
    auth: { authorization: string },
    metadata: object,
    body: Uint8Array = wav,
  ): Promise<UploadRecordType> {
    return uploadAndDecide(app, worker, auth, body, metadata as Record<string, unknown>);
  }

  it("labels what the creator disclosed, per role, and says which rule did", async () => {
    const r = await upload(creator.auth, {
      title: "Synthetic Choir",
      disclosure: { roles: { voice: "generated", production: "assisted" } },
    });
    expect(r.status).toBe("decided");
    expect(r.decision).toMatchObject({
      action: "label",
      labels: ["ai-assisted-production", "ai-generated-voice"],
      policyRevision: t.deps.policy.revision,
    });
    expect(r.decision?.reasons.map((x) => x.ruleId).sort()).toEqual([
      "disclosed-assisted-production",
      "disclosed-generated-voice",
    ]);
    expect(r.rendition).not.toBeNull();
  });

  it("stores the account context it decided on, and rejects the fourth copy of the same file", async () => {
    const copy = encodeWav(makeSignal({ seconds: 2, seed: 77 }));
    const results: UploadRecordType[] = [];
    for (let i = 0; i < 4; i++) results.push(await upload(creator.auth, { title: `Copy ${i}` }, copy));
    expect(results.map((r) => r.decision?.action)).toEqual(["allow", "allow", "allow", "reject"]);
    const last = results[3]!;
    expect(last.decision?.reasons[0]).toEqual({
      ruleId: "mass-reupload",
      message: "This account has already uploaded this recording several times.",
    });
    expect(last.signals.account?.data).toMatchObject({ sameFileUploads: 3 });
    expect(last.signals.account?.data.uploadsLastHour).toBeGreaterThanOrEqual(4);
    expect(last.rendition).toBeNull();
    expect((await app.request(`/v1/uploads/${last.id}/rendition`, { headers: creator.auth })).status).toBe(
      409,
    );
  });

  it("rejects silence and white noise decoded from real files, and allows music", async () => {
    const rate = 44100;
    const random = rng(5);
    const silence = { sampleRate: rate, channels: [new Float32Array(rate * 3)] };
    const noise = {
      sampleRate: rate,
      channels: [Float32Array.from({ length: rate * 3 }, () => 0.5 * (random() * 2 - 1))],
    };
    const results = [
      await upload(creator.auth, { title: "Nothing" }, encodeWav(silence)),
      await upload(creator.auth, { title: "Hiss" }, encodeWav(noise)),
      await upload(creator.auth, { title: "Tune" }, encodeWav(makeSignal({ seconds: 3, seed: 12 }))),
    ];
    expect(results.map((r) => [r.decision?.action, r.decision?.reasons.map((x) => x.ruleId)])).toEqual([
      ["reject", ["silence-only"]],
      ["reject", ["noise-only"]],
      ["allow", []],
    ]);
  });

  it("holds uploads the policy sends to review: a review task with the rule's priority, and an upload.held webhook", async () => {
    await app.request("/v1/webhooks", {
      method: "POST",
      headers: { ...creator.auth, "content-type": "application/json" },
      body: JSON.stringify({ url: "http://127.0.0.1:9/never" }),
    });
    const r = await upload(creator.auth, { title: "Please hold me" });
    expect(r.status).toBe("held");
    expect(r.decision).toMatchObject({
      action: "review",
      reasons: [{ ruleId: "hold-me", message: "Held for the test." }],
    });
    expect(r.rendition).toBeNull();
    const [task] = await t.deps.database.db.select().from(reviewTasks).where(eq(reviewTasks.uploadId, r.id));
    expect(task).toMatchObject({ status: "open", priority: 42 });
    const events = await t.deps.database.db.select().from(webhookDeliveries);
    expect(
      events.some((e) => e.eventType === "upload.held" && (e.payload.data as { id: string }).id === r.id),
    ).toBe(true);
  });

  it("shows operators the active bundle with hit counts, and no one else", async () => {
    const operator = await createAccount(t.deps.database.db, `ops-${newId("x").slice(-6)}`, {
      operator: true,
    });
    const key = (await createApiKey(t.deps.database.db, operator.id)).key;
    const res = await app.request("/v1/policies", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      revision: string;
      enabled: boolean;
      rules: { id: string; hits: number; mode: string }[];
    };
    expect(body.revision).toBe(t.deps.policy.revision);
    expect(body.enabled).toBe(true);
    const hits = Object.fromEntries(body.rules.map((r) => [r.id, r.hits]));
    expect(hits["disclosed-generated-voice"]).toBe(1);
    expect(hits["mass-reupload"]).toBe(1);
    expect(hits["hold-me"]).toBe(1);
    expect(hits["silence-only"]).toBe(1);
    expect(hits.impersonation).toBe(0);
    const denied = await app.request("/v1/policies", { headers: creator.auth });
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { code: string }).code).toBe("forbidden");
  });

  it("replays past uploads with a candidate bundle: flips with examples, rule deltas, reviewer agreement", async () => {
    const candidate = await mkdtemp(path.join(os.tmpdir(), "earmark-candidate-"));
    try {
      await cp(policyDir, candidate, { recursive: true });
      const spam = path.join(candidate, "spam.yaml");
      await writeFile(
        spam,
        (await readFile(spam, "utf8")).replace("MASS_REUPLOAD_MIN: 3 ", "MASS_REUPLOAD_MIN: 10 "),
      );
      await rm(path.join(candidate, "test-hold.yaml"));
      // A reviewer approved the held upload.
      const held = (await t.deps.database.db.select().from(reviewTasks))[0]!;
      await t.deps.database.db.insert(decisions).values({
        id: newId("dec"),
        uploadId: held.uploadId,
        action: "allow",
        labels: [],
        reasons: [{ ruleId: "reviewer", message: "Fine." }],
        policyRevision: t.deps.policy.revision,
        decidedBy: "reviewer:alice",
      });
      const bundle = await loadPolicyBundle(candidate, { git: false });
      const report = await replayPolicy(t.deps.database.db, bundle, {
        since: new Date(Date.now() - 3600_000),
      });
      // 1 labelled + 4 copies + 3 (silence, noise, music) + 1 held, so far in this suite.
      expect(report.replayed).toBe(9);
      expect(report.flips).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ from: "reject", to: "allow", count: 1 }),
          expect.objectContaining({ from: "review", to: "allow", count: 1, samples: [held.uploadId] }),
        ]),
      );
      expect(report.rules.find((r) => r.ruleId === "mass-reupload")).toMatchObject({ before: 1, after: 0 });
      expect(report.rules.find((r) => r.ruleId === "hold-me")).toMatchObject({ before: 1, after: 0 });
      expect(report.reviewers).toEqual({ decided: 1, overrides: 1, candidateAgrees: 1, currentAgreed: 0 });
      const md = formatReplay(report, "markdown");
      expect(md).toContain("| reject → allow | 1 |");
      expect(md).toContain("| `mass-reupload` | enforce | 1 | 0 | -1 |");
      expect(md).toMatch(/the candidate agrees with them on 1 \(100 %\)/);
      // Replay never writes.
      expect(
        await t.deps.database.db
          .select()
          .from(decisions)
          .where(eq(decisions.policyRevision, bundle.revision)),
      ).toEqual([]);
    } finally {
      await rm(candidate, { recursive: true, force: true });
    }
  });

  it("explains a decision in words, from the stored trace", async () => {
    const r = await upload(creator.auth, {
      title: "Explain me",
      disclosure: { roles: { voice: "generated" } },
    });
    const text = (await explainUpload(t.deps.database.db, r.id))!;
    expect(text).toContain(`Upload ${r.id} "Explain me"`);
    expect(text).toContain(
      `LABEL by the policy, revision ${t.deps.policy.revision}, labels: ai-generated-voice`,
    );
    expect(text).toContain("disclosed-generated-voice (enforce, label, priority 10)");
    expect(text).toContain('read: disclosure.roles.voice = "generated"');
    expect(text).toMatch(/Rules that did not match \(\d+\): .*silence-only/);
    expect(await explainUpload(t.deps.database.db, "upl_missing")).toBeNull();
  });

  it("stores the account signal with its version, so a retry decides on the same facts", async () => {
    const r = await upload(creator.auth, { title: "Versioned" });
    const rows = await t.deps.database.db.select().from(signals).where(eq(signals.uploadId, r.id));
    expect(rows.find((s) => s.stage === "account")?.version).toBe("account-1");
  });
});

describe("reloading the bundle while running", () => {
  it("stores the rules of the revision that decided, even when a reload lands while the rendition is made", async () => {
    const dirs = await Promise.all([0, 1].map(() => mkdtemp(path.join(os.tmpdir(), "earmark-rev-"))));
    const [a, b] = dirs as [string, string];
    await writeFile(path.join(a, "r.yaml"), HOLD_RULE);
    await writeFile(path.join(b, "r.yaml"), HOLD_RULE.replace("priority: 42", "priority: 43"));
    const engine = new BundlePolicyEngine(await loadPolicyBundle(a, { git: false }));
    const before = engine.revision;
    const next = await loadPolicyBundle(b, { git: false });
    // A render step during which the bundle is replaced, as a SIGHUP or file change would do.
    const reloadWhileRendering: RenderStep = {
      name: "reload",
      version: "t",
      async apply({ source, format }) {
        engine.replace(next);
        return { bytes: source.stream(), format };
      },
    };
    const t = await createTestContext("pglite", {
      deps: { policy: engine, renderSteps: [reloadWhileRendering] },
    });
    const worker = startWorker(t.deps, 1, { pollMs: 50 });
    try {
      const app = createApp(t.deps);
      const { auth } = await t.account();
      const res = await app.request("/v1/uploads", {
        method: "POST",
        body: multipart(encodeWav(makeSignal({ seconds: 2 })), { metadata: { title: "Allowed" } }),
        headers: auth,
      });
      const { id } = (await res.json()) as { id: string };
      await eventually(async () => {
        const r = await app.request(`/v1/uploads/${id}`, { headers: auth });
        return ((await r.json()) as { status: string }).status === "decided" ? true : undefined;
      }, "the decision");
      expect(engine.revision).toBe(next.revision);
      const [decided] = await t.deps.database.db.select().from(decisions).where(eq(decisions.uploadId, id));
      expect(decided!.policyRevision).toBe(before);
      const stored = await t.deps.database.db
        .select()
        .from(policyRevisions)
        .where(eq(policyRevisions.revision, before));
      expect(stored[0]?.rules.map((r) => [r.id, r.priority])).toEqual([["hold-me", 42]]);
    } finally {
      await worker.stop();
      await t.close();
      await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
    }
  });

  it("takes a valid change, refuses an invalid one and keeps the active revision", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-reload-"));
    const logs: { level: number; msg: string; problems?: string[] }[] = [];
    const logger = pino({ level: "info" }, { write: (line: string) => logs.push(JSON.parse(line)) });
    try {
      await writeFile(path.join(dir, "r.yaml"), HOLD_RULE);
      const engine = new BundlePolicyEngine(await loadPolicyBundle(dir, { git: false }));
      const first = engine.revision;
      const stop = watchPolicyBundle(engine, dir, logger, { debounceMs: 20 });
      try {
        await writeFile(path.join(dir, "r.yaml"), HOLD_RULE.replace("priority: 42", "priority: 43"));
        const second = await eventually(
          async () => (engine.revision !== first ? engine.revision : undefined),
          "the reload",
        );
        expect(engine.bundle.rules[0]?.priority).toBe(43);
        await writeFile(path.join(dir, "r.yaml"), HOLD_RULE.replace("upload.title", "upload.titel"));
        const refusal = await eventually(
          async () => logs.find((l) => l.msg.startsWith("policy bundle refused")),
          "the refusal",
        );
        expect(refusal.problems?.[0]).toMatch(/r\.yaml:5:\d+: rule hold-me: when: No such key: titel/);
        expect(engine.revision).toBe(second);
        process.kill(process.pid, "SIGHUP");
        await writeFile(path.join(dir, "r.yaml"), HOLD_RULE);
        await eventually(async () => (engine.revision === first ? true : undefined), "the reload back");
      } finally {
        stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("with policies switched off", () => {
  let t: TestContext;
  beforeAll(async () => {
    t = await createTestContext("pglite", { env: { EARMARK_POLICY_DIR: "none" } });
  });
  afterAll(() => t?.close());

  it("allows everything and says that no bundle is installed", async () => {
    const app = createApp(t.deps);
    const { auth } = await t.account();
    const worker = startWorker(t.deps, 1, { pollMs: 50 });
    try {
      const res = await app.request("/v1/uploads", {
        method: "POST",
        body: multipart(encodeWav(makeSignal({ seconds: 1 }))),
        headers: auth,
      });
      const { id } = (await res.json()) as { id: string };
      await worker.idle();
      const r = UploadRecord.parse(await (await app.request(`/v1/uploads/${id}`, { headers: auth })).json());
      expect(r.decision).toMatchObject({
        action: "allow",
        reasons: [{ ruleId: "no-policy-bundle" }],
        policyRevision: "none",
      });
    } finally {
      await worker.stop();
    }
  });
});
