import { readFileSync } from "node:fs";
import { rm } from "node:fs/promises";
import { and, eq, sql } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav, makeMusic } from "../../test/harness/audio.js";
import { devTrust, simpleManifest } from "../../test/harness/c2pa.js";
import { createTestContext, DRIVERS, type TestContext } from "../../test/harness/deps.js";
import { multipart } from "../../test/harness/http.js";
import { HOLD_RULE, shippedBundleWith } from "../../test/harness/policy.js";
import { makeReviewer, PASSWORD, ReviewSession } from "../../test/harness/review.js";
import { UploadRecord } from "../api/uploads/schemas.js";
import { createApp } from "../app.js";
import { reviewAudit, reviewTasks, webhookDeliveries } from "../db/schema/index.js";
import { startWorker } from "../jobs/kinds.js";
import type { Worker } from "../jobs/worker.js";
import { loadPolicyBundle } from "../policy/bundle.js";
import { formatCases, overrideCases } from "../policy/cases.js";
import { runPolicyTests } from "../policy/test-runner.js";
import { signAudio } from "../provenance/c2pa/sign.js";
import { createEndpoint } from "../webhooks/endpoints.js";

describe.each(DRIVERS)("review dashboard (%s)", (driver) => {
  let t: TestContext;
  let app: ReturnType<typeof createApp>;
  let worker: Worker;
  let policyDir: string;
  let creator: Awaited<ReturnType<TestContext["account"]>>;
  let seed = 500;

  beforeAll(async () => {
    policyDir = await shippedBundleWith({ "test-hold.yaml": HOLD_RULE });
    t = await createTestContext(driver, { env: { EARMARK_POLICY_DIR: policyDir, EARMARK_REVIEW_SLA: "1h" } });
    app = createApp(t.deps);
    creator = await t.account("creator");
    await createEndpoint(
      t.deps.database.db,
      creator.id,
      { url: "http://127.0.0.1:9/hook" },
      { allowPrivate: true },
    );
    const db = t.deps.database.db;
    await makeReviewer(db, "alice@example.org");
    await makeReviewer(db, "bob@example.org");
    await makeReviewer(db, "root@example.org", "admin");
    worker = startWorker(t.deps, 1, { pollMs: 50 });
  });
  afterAll(async () => {
    await worker?.stop();
    await t?.close();
    if (policyDir) await rm(policyDir, { recursive: true, force: true });
  });

  const db = () => t.deps.database.db;
  const session = () => new ReviewSession((p, init) => app.request(p, init));
  async function signedIn(email: string) {
    const s = session();
    expect((await s.login(email)).status).toBe(303);
    return s;
  }

  /** Uploads music with a "hold me" title and waits until the policy held it. */
  async function held(title: string, auth = creator.auth): Promise<string> {
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(encodeWav(makeMusic({ seconds: 3, seed: seed++ })), {
        metadata: { title: `hold me: ${title}` },
      }),
      headers: auth,
    });
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    await worker.idle();
    expect((await record(id, auth)).status).toBe("held");
    return id;
  }
  async function record(id: string, auth = creator.auth) {
    const res = await app.request(`/v1/uploads/${id}`, { headers: auth });
    expect(res.status).toBe(200);
    return UploadRecord.parse(await res.json());
  }
  const audit = (uploadId: string) =>
    db()
      .select()
      .from(reviewAudit)
      .where(eq(reviewAudit.uploadId, uploadId))
      .orderBy(reviewAudit.at, reviewAudit.id);

  it("signs in with Email and Password: an HttpOnly, SameSite=Lax session cookie, Secure only over TLS", async () => {
    const s = session();
    const redirect = await s.request("/review");
    expect(redirect.status).toBe(303);
    expect(redirect.headers.get("location")).toBe("/review/login?next=%2Freview");
    const { html } = await s.get("/review/login");
    expect(html).toMatch(/<label for="email">Email<\/label>/);
    expect(html).toMatch(/<label for="password">Password<\/label>/);
    expect(html).toMatch(/<button[^>]*type="submit"[^>]*>\s*Sign in\s*<\/button>/);

    const ok = await s.post("/review/login", {
      email: "Alice@Example.org",
      password: PASSWORD,
      next: "/review?kind=music",
    });
    expect(ok.status).toBe(303);
    expect(ok.headers.get("location")).toBe("/review?kind=music");
    const cookie = ok.headers.getSetCookie().find((c) => c.startsWith("earmark_review="))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Lax/);
    expect(cookie).toMatch(/Path=\/review/);
    expect(cookie).not.toMatch(/Secure/);
    const queue = await s.get("/review");
    expect(queue.res.status).toBe(200);
    expect(queue.html).toContain("<h1>Review queue</h1>");
    expect(queue.html).toContain("alice@example.org");
    expect(queue.res.headers.get("x-frame-options")).toBe("DENY");
    expect(queue.res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(queue.res.headers.get("cache-control")).toBe("no-store");

    // Behind a TLS-terminating proxy the cookie is Secure.
    const tls = session();
    await tls.get("/review/login");
    const viaProxy = await tls.request("/review/login", {
      method: "POST",
      headers: { "x-forwarded-proto": "https" },
      body: new URLSearchParams({ _csrf: tls.csrf, email: "bob@example.org", password: PASSWORD }),
    });
    expect(viaProxy.status).toBe(303);
    expect(viaProxy.headers.getSetCookie().find((c) => c.startsWith("earmark_review="))).toMatch(/Secure/);
  });

  it("refuses a sign-in form without its CSRF token, and a wrong password with the tries left", async () => {
    const s = session();
    await s.get("/review/login");
    const noToken = await s.post(
      "/review/login",
      { email: "alice@example.org", password: PASSWORD },
      { csrf: null },
    );
    expect(noToken.status).toBe(403);
    expect(await noToken.text()).toContain("security token (CSRF)");
    const wrong = await s.post("/review/login", { email: "alice@example.org", password: "not the password" });
    expect(wrong.status).toBe(401);
    expect(await wrong.text()).toContain("Wrong email or password. 4 more tries");
  });

  it("locks an email out after 5 failed sign-ins, even with the right password then", async () => {
    await makeReviewer(db(), "carol@example.org");
    const s = session();
    await s.get("/review/login");
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++)
      statuses.push(
        (await s.post("/review/login", { email: "carol@example.org", password: `guess ${i}` })).status,
      );
    expect(statuses).toEqual([401, 401, 401, 401, 429]);
    const right = await s.post("/review/login", { email: "carol@example.org", password: PASSWORD });
    expect(right.status).toBe(429);
    expect(right.headers.get("retry-after")).toMatch(/^\d+$/);
    expect(await right.text()).toContain("Too many failed sign-ins");
    // Another reviewer from the same address is not locked out.
    expect((await session().login("bob@example.org")).status).toBe(303);
    // Once the lock has passed, the right password works and clears the count.
    await db().execute(sql`update reviewer_login_failures set locked_until = now() - interval '1 second'`);
    expect((await session().login("carol@example.org")).status).toBe(303);
  });

  it("keeps API keys and reviewer sessions apart", async () => {
    const byKey = await app.request("/review", { headers: creator.auth });
    expect(byKey.status).toBe(303);
    expect(byKey.headers.get("location")).toMatch(/^\/review\/login/);
    const s = await signedIn("alice@example.org");
    const api = await s.request("/v1/uploads");
    expect(api.status).toBe(401);
    expect(api.headers.get("content-type")).toBe("application/problem+json");
  });

  it("lists held uploads by priority and age, each a link named by its title, and refuses CSRF-less posts", async () => {
    const id = await held("Queue song");
    const s = await signedIn("alice@example.org");
    const { html } = await s.get("/review");
    expect(html).toContain(`<a href="/review/items/${id}" data-queue-item="true">hold me: Queue song</a>`);
    expect(html).toContain("hold-me (");
    const filtered = await s.get("/review?rule=no-such-rule");
    expect(filtered.html).not.toContain(id);
    expect(filtered.html).toContain("Nothing to review with these filters");

    const forged = await s.post(`/review/items/${id}/approve`, {}, { csrf: null });
    expect(forged.status).toBe(403);
    expect(await forged.text()).toContain("security token (CSRF)");
    const otherSession = await signedIn("bob@example.org");
    const crossSession = await s.post(
      `/review/items/${id}/reject`,
      { reason: "hold-me" },
      { csrf: otherSession.csrf },
    );
    expect(crossSession.status).toBe(403);
    expect((await record(id)).status).toBe("held");
  });

  it("orders the queue by rule priority, then overdue items, then accounts with past rejections, then age", async () => {
    const repeat = await t.account();
    const clean = await t.account();
    const bob = await signedIn("bob@example.org");
    const first = await held("Repeat one", repeat.auth);
    await bob.get(`/review/items/${first}`);
    expect((await bob.post(`/review/items/${first}/reject`, { reason: "hold-me" })).status).toBe(303);
    const older = await held("Clean one", clean.auth);
    const newer = await held("Repeat two", repeat.auth); // its account had a rejection when it came in
    const position = async () => {
      const { html } = await bob.get("/review");
      return {
        older: html.indexOf(`/review/items/${older}"`),
        newer: html.indexOf(`/review/items/${newer}"`),
      };
    };
    let p = await position();
    expect(p.newer).toBeGreaterThan(0);
    expect(p.newer).toBeLessThan(p.older);
    expect((await bob.get("/review")).html).toContain("1 earlier rejection");
    // Past the SLA (1 h in this suite), the clean account's item comes first.
    await db()
      .update(reviewTasks)
      .set({ createdAt: sql`now() - interval '2 hours'` })
      .where(eq(reviewTasks.uploadId, older));
    p = await position();
    expect(p.older).toBeLessThan(p.newer);
  });

  it("claims an item for the reviewer who opens it; another sees who has it; claims expire", async () => {
    const id = await held("Claimed song");
    const alice = await signedIn("alice@example.org");
    const bob = await signedIn("bob@example.org");
    const a = await alice.get(`/review/items/${id}`);
    expect(a.html).toContain("Claimed by you until");
    const b = await bob.get(`/review/items/${id}`);
    expect(b.html).toContain("Claimed by alice@example.org until");
    expect((await bob.get("/review")).html).toContain("claimed by alice@example.org");
    const refused = await bob.post(`/review/items/${id}/approve`, {});
    expect(refused.status).toBe(409);
    expect(await refused.text()).toContain("claimed by alice@example.org");

    await db()
      .update(reviewTasks)
      .set({ claimExpiresAt: sql`now() - interval '1 second'` })
      .where(eq(reviewTasks.uploadId, id));
    expect((await bob.get(`/review/items/${id}`)).html).toContain("Claimed by you until");
    const claims = (await audit(id)).filter((e) => e.action === "claim");
    expect(claims.map((e) => [e.actor, e.fromState])).toEqual([
      ["alice@example.org", "open, unclaimed"],
      ["bob@example.org", "open, claim of alice@example.org expired"],
    ]);
  });

  it("shows the AI-likeness score with its per-window strip, and the watermark finding", async () => {
    const speech = readFileSync("detectors/ai-likeness/fixtures/synthetic-speech.wav");
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(speech, { metadata: { title: "hold me: Synthetic voice", kind: "podcast" } }),
      headers: creator.auth,
    });
    const { id } = (await res.json()) as { id: string };
    await worker.idle();
    const scored = (await record(id)).signals.classifier!.data;
    expect(scored.applicable).toBe(true);
    const page = (await (await signedIn("alice@example.org")).get(`/review/items/${id}`)).html;
    expect(page).toContain("<h2>AI-likeness</h2>");
    expect(page).toContain(`<dt>Model</dt><dd>${scored.modelVersion}</dd>`);
    expect(page).toMatch(
      /<svg class="heat" role="img" aria-label="AI-likeness per 2 s window; highest \d+(\.\d)?\s?% at/,
    );
    expect(page.match(/<rect x="[\d.]+" y="0" width="[\d.]+" height="1" fill="#c0392b"/g)).toHaveLength(
      scored.segments.length,
    );
    expect(page).toContain("<h2>Watermark</h2>");
    expect(page).toContain("No Earmark watermark");
  });

  it("approves with labels like a policy label decision: rendition, webhook, closed task, audit", async () => {
    const id = await held("Approved song");
    const s = await signedIn("alice@example.org");
    const page = await s.get(`/review/items/${id}`);
    expect(page.html).toContain(`<audio controls="" preload="none" src="/review/items/${id}/audio"`);
    expect(page.html).not.toContain("autoplay");
    expect(page.html).toContain("hold-me");
    const res = await s.post(`/review/items/${id}/approve`, {
      labels: ["ai-assisted-voice"],
      note: "Checked the voice.",
    });
    expect(res.status).toBe(303);
    expect((await s.get(res.headers.get("location")!)).html).toContain("Approved: the upload is decided");

    const r = await record(id);
    expect(r.status).toBe("decided");
    expect(r.decision).toMatchObject({
      action: "label",
      labels: ["ai-assisted-voice"],
      decidedBy: "reviewer:alice@example.org",
    });
    expect(r.rendition).not.toBeNull();
    const rendition = await app.request(`/v1/uploads/${id}/rendition`, { headers: creator.auth });
    expect(rendition.status).toBe(200);
    const [task] = await db().select().from(reviewTasks).where(eq(reviewTasks.uploadId, id));
    expect(task?.status).toBe("closed");
    const events = await db()
      .select()
      .from(webhookDeliveries)
      .where(
        and(
          eq(webhookDeliveries.eventType, "upload.decided"),
          sql`${webhookDeliveries.payload}->'data'->>'id' = ${id}`,
        ),
      );
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({
      data: { decision: { decidedBy: "reviewer:alice@example.org" } },
    });
    const entry = (await audit(id)).find((e) => e.action === "approve");
    expect(entry).toMatchObject({
      actor: "alice@example.org",
      note: "Checked the voice.",
      fromState: "held",
      toState: "decided: label (ai-assisted-voice)",
    });
    // Decided: nothing left to do, and a second approval is refused with a reason.
    const again = await s.post(`/review/items/${id}/approve`, {});
    expect(again.status).toBe(409);
    expect(await again.text()).toContain("there is nothing left to decide");
  });

  it("rejects with a reason from the policy and a note the creator sees", async () => {
    const id = await held("Rejected song");
    const s = await signedIn("bob@example.org");
    await s.get(`/review/items/${id}`);
    const unknown = await s.post(`/review/items/${id}/reject`, { reason: "made-up" });
    expect(unknown.status).toBe(422);
    const res = await s.post(`/review/items/${id}/reject`, {
      reason: "hold-me",
      note: "Please upload the final master.",
    });
    expect(res.status).toBe(303);
    const r = await record(id);
    expect(r.decision).toMatchObject({
      action: "reject",
      decidedBy: "reviewer:bob@example.org",
      reasons: [
        { ruleId: "hold-me", message: "Held for the test." },
        { ruleId: "reviewer-note", message: "Please upload the final master." },
      ],
    });
    expect(r.rendition).toBeNull();
  });

  it("escalates to admins: the item leaves the reviewers' queue and only admins can open and decide it", async () => {
    const id = await held("Escalated song");
    const alice = await signedIn("alice@example.org");
    await alice.get(`/review/items/${id}`);
    expect(
      (await alice.post(`/review/items/${id}/escalate`, { note: "Sounds like a famous singer." })).status,
    ).toBe(303);
    expect((await alice.get("/review")).html).not.toContain(id);
    expect((await alice.get(`/review/items/${id}`)).res.status).toBe(403);
    expect((await alice.get("/review?view=escalated")).res.status).toBe(403);

    const root = await signedIn("root@example.org");
    expect((await root.get("/review?view=escalated")).html).toContain(`/review/items/${id}`);
    await root.get(`/review/items/${id}`);
    expect((await root.post(`/review/items/${id}/approve`, {})).status).toBe(303);
    expect((await record(id)).decision).toMatchObject({
      action: "allow",
      decidedBy: "reviewer:root@example.org",
    });
    expect((await audit(id)).map((e) => e.action)).toEqual(["claim", "escalate", "claim", "approve"]);
  });

  it("shows the audit log to admins only, filterable and as CSV; the database refuses to change it", async () => {
    const id = await held("Audited song");
    const alice = await signedIn("alice@example.org");
    await alice.get(`/review/items/${id}`);
    await alice.post(`/review/items/${id}/reject`, { reason: "other", note: "Not music, a test tone." });
    const denied = await alice.get("/review/audit");
    expect(denied.res.status).toBe(403);
    expect(denied.html).toContain("Admins only");
    expect((await alice.request("/review/audit.csv")).status).toBe(403);

    const root = await signedIn("root@example.org");
    const page = await root.get(`/review/audit?upload=${id}`);
    expect(page.res.status).toBe(200);
    expect(page.html).toContain("Not music, a test tone.");
    const csv = await root.request(`/review/audit.csv?action=reject&upload=${id}`);
    expect(csv.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    const lines = (await csv.text()).trim().split("\r\n");
    expect(lines[0]).toBe("at,actor,action,uploadId,reason,note,fromState,toState,details");
    expect(lines).toHaveLength(2);
    expect(lines[1]).toContain(
      `,alice@example.org,reject,${id},other,"Not music, a test tone.",held,decided: reject,`,
    );

    await expect(db().execute(sql`update review_audit set actor = 'someone else'`)).rejects.toThrow();
    await expect(db().execute(sql`delete from review_audit`)).rejects.toThrow();
  });

  it("serves the original audio to reviewers only, with byte ranges, and its waveform", async () => {
    const id = await held("Audio song");
    const s = await signedIn("bob@example.org");
    const res = await s.request(`/review/items/${id}/audio`, { headers: { range: "bytes=0-11" } });
    expect(res.status).toBe(206);
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(new TextDecoder().decode((await res.arrayBuffer()).slice(0, 4))).toBe("RIFF");
    expect((await app.request(`/review/items/${id}/audio`, { headers: creator.auth })).status).toBe(303);

    // The waveform: one column per 1/800 of the recording, min to max of the mono mix; music is not flat.
    const wave = await s.request(`/review/items/${id}/waveform.svg`);
    expect(wave.status).toBe(200);
    expect(wave.headers.get("content-type")).toBe("image/svg+xml");
    const columns = [...(await wave.text()).matchAll(/M([\d.]+) ([\d.]+)V([\d.]+)/g)].map((m) => ({
      x: Number(m[1]),
      top: Number(m[2]),
      bottom: Number(m[3]),
    }));
    expect(columns).toHaveLength(800);
    expect(columns.every((c) => c.top <= 48 && c.bottom >= 48)).toBe(true);
    expect(columns.filter((c) => c.bottom - c.top > 10).length).toBeGreaterThan(400); // most of it is not silence
  });

  it("signs out: the session stops working", async () => {
    const s = await signedIn("alice@example.org");
    const cookie = s.cookieHeader();
    const out = await s.post("/review/logout");
    expect(out.status).toBe(303);
    expect((await app.request("/review", { headers: { cookie } })).status).toBe(303);
  });

  it("shows the creator's disclosure, the audio statistics and the account context in words", async () => {
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(encodeWav(makeMusic({ seconds: 3, seed: seed++ })), {
        metadata: {
          title: "hold me: Disclosed song",
          kind: "podcast",
          disclosure: {
            roles: { voice: "generated", lyrics: "assisted" },
            tools: [{ name: "SomeTTS", version: "2" }],
            voiceClone: { isClone: true, of: "Narrator X", consentRef: "contract-17" },
            trainingMining: "notAllowed",
          },
        },
      }),
      headers: creator.auth,
    });
    const { id } = (await res.json()) as { id: string };
    await worker.idle();
    const s = await signedIn("alice@example.org");
    const { html } = await s.get(`/review/items/${id}`);
    const text = html
      .replace(/<[^>]+>/g, " ")
      .replace(/&#39;/g, "'")
      .replace(/\s+/g, " ");
    // The labels the policy proposed are ticked on the approval form.
    for (const label of ["ai-generated-voice", "ai-assisted-lyrics", "voice-clone"])
      expect(html).toContain(`value="${label}" checked=""`);
    expect(text).toContain("Creator's AI disclosure voice generated lyrics assisted Tools SomeTTS 2");
    expect(text).toContain(
      "Voice clone yes, of Narrator X; consent: contract-17 Training / mining notAllowed",
    );
    const stats = (await record(id)).signals.stats!.data;
    expect(text).toContain(`Loudness ${stats.integratedLoudnessLufs!.toFixed(1)} LUFS`);
    expect(text).toMatch(/Account age \d+\.\d days Uploads in the hour \/ day \d+ \/ \d+/);
    expect(text).toContain("Kind podcast");
    expect(text).toContain("Content Credentials (C2PA) The upload carries no C2PA manifest.");
  });

  it("shows the C2PA report of an upload that arrived with a manifest", async () => {
    const { signer, trust } = await devTrust();
    const wav = new Uint8Array(encodeWav(makeMusic({ seconds: 3, seed: seed++ })));
    const signed = await signAudio(wav, "wav", simpleManifest("wav", "hold me: Signed"), signer, trust);
    const res = await app.request("/v1/uploads", {
      method: "POST",
      body: multipart(Buffer.from(signed.bytes), { metadata: { title: "hold me: Signed song" } }),
      headers: creator.auth,
    });
    const { id } = (await res.json()) as { id: string };
    await worker.idle();
    const s = await signedIn("alice@example.org");
    const { html } = await s.get(`/review/items/${id}`);
    const text = html.replace(/<[^>]+>/g, " ").replace(/\s+/g, " ");
    // Signed under a root the gateway does not trust: intact, but only valid.
    expect(text).toContain(
      "Content Credentials (C2PA) State valid Failures signingCredential.untrusted Made by Earmark test/1 " +
        "Signed by Earmark test signer Actions c2pa.created Source types trainedAlgorithmicMedia Stage version c2pa-1",
    );
  });

  it("answers unknown dashboard pages and ids with readable HTML", async () => {
    const s = await signedIn("alice@example.org");
    const missing = await s.get("/review/items/upl_00000000000000000000000000");
    expect(missing.res.status).toBe(404);
    expect(missing.res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(missing.html).toContain("There is no upload upl_00000000000000000000000000.");
    const nowhere = await s.get("/review/nowhere");
    expect(nowhere.res.status).toBe(404);
    expect(nowhere.html).toContain("There is no dashboard page at GET /review/nowhere.");
  });

  it("shows decisions by rule and revision and the reviewer overrides, which become policy test cases", async () => {
    const rejected = (await db().select().from(reviewAudit).where(eq(reviewAudit.action, "reject")))[0]!
      .uploadId!;
    const s = await signedIn("alice@example.org");
    const page = await s.get("/review/decisions");
    expect(page.res.status).toBe(200);
    expect(page.html).toMatch(/<b>\d+<\/b> review → reject/);
    expect(page.html).toContain('<a href="/review/decisions?rule=hold-me">hold-me</a>');
    expect(page.html).toContain("reviewer:alice@example.org");
    const byReviewers = await s.get("/review/decisions?by=reviewer");
    const recent = byReviewers.html.slice(byReviewers.html.indexOf("<h2>Recent decisions</h2>"));
    expect(recent).toContain("<td>reviewer:bob@example.org</td>");
    expect(recent).not.toContain("<td>policy</td>");

    const cases = await overrideCases(db());
    const reject = cases.find((c) => c.name.includes(rejected))!;
    expect(reject.expect).toEqual({ action: "reject" });
    expect(reject.input.upload.title).toMatch(/^hold me: /);
    const labelled = cases.find((c) => c.expect.action === "label")!;
    expect(labelled.expect.labels).toEqual(["ai-assisted-voice"]);

    // Against the bundle the reviewers overrode, the cases fail on the decision alone (their inputs are valid)…
    const file = formatCases(cases);
    const overridden = await shippedBundleWith({ "test-hold.yaml": HOLD_RULE, "overrides.yaml": file });
    const before = runPolicyTests(await loadPolicyBundle(overridden));
    const mine = (r: { test: { name: string } }) => r.test.name.startsWith("reviewer:");
    const results = before.results.filter(mine);
    expect(results).toHaveLength(cases.length);
    for (const r of results) {
      expect(r.failures[0]).toBe(`expected action ${r.test.expect.action}, got review`);
      expect(r.failures.slice(1).every((f) => f.startsWith("expected labels"))).toBe(true);
    }
    // …and without the rule that held them, the approval without labels passes.
    const without = await shippedBundleWith({ "overrides.yaml": file });
    const after = runPolicyTests(await loadPolicyBundle(without)).results.filter(mine);
    expect(after.find((r) => r.test.expect.action === "allow")?.passed).toBe(true);
    await rm(overridden, { recursive: true, force: true });
    await rm(without, { recursive: true, force: true });
  });
});
