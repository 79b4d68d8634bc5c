import { and, eq } from "drizzle-orm";
import { Hono } from "hono";
import { getCookie } from "hono/cookie";
import { rangedBody } from "../api/byte-range.js";
import { CONTENT_TYPES } from "../audio/format.js";
import { AUDIT_ACTIONS, type AuditAction, signals, uploads } from "../db/schema/index.js";
import { ID_PATTERN } from "../ids.js";
import { UPLOAD_KINDS } from "../uploads/metadata.js";
import { approveUpload, claimTask, escalateUpload, rejectReasons, rejectUpload } from "./actions.js";
import { type AuditFilter, auditCsv, listAudit } from "./audit.js";
import {
  attemptLogin,
  CSRF_FIELD,
  clientAddress,
  endSession,
  LOGIN_CSRF_COOKIE,
  loginCsrfToken,
  MAX_LOGIN_FAILURES,
  requireAdmin,
  requireReviewer,
  sameSecret,
  startSession,
} from "./auth.js";
import { recentDecisions, reviewerOverrides, ruleHitsByRevision } from "./decisions.js";
import { type ReviewEnv, ReviewError } from "./http.js";
import { loadItem } from "./item.js";
import { CONTENT_SECURITY_POLICY, ErrorPage, html } from "./layout.js";
import { AuditPage, DecisionsPage, ItemPage, LoginPage, QueuePage } from "./pages.js";
import { loadQueue, type QueueFilter } from "./queue.js";
import { waveformSvg } from "./waveform.js";

type Body = Record<string, string | File | (string | File)[]>;
const field = (body: Body, name: string): string | undefined => {
  const v = body[name];
  const s = Array.isArray(v) ? v[0] : v;
  return typeof s === "string" ? s : undefined;
};
const fields = (body: Body, name: string): string[] => {
  const v = body[name];
  return (Array.isArray(v) ? v : v === undefined ? [] : [v]).filter(
    (x): x is string => typeof x === "string",
  );
};
const note = (body: Body): string | null => {
  const n = field(body, "note")?.trim().slice(0, 1000);
  return n ? n : null;
};
const FLASH: Record<string, string> = {
  approved: "Approved: the upload is decided, its rendition made and the uploader notified.",
  rejected: "Rejected: the upload is decided and the uploader notified with your reason and note.",
  escalated: "Escalated: the item left the reviewers' queue and waits for an admin.",
};

/** Labels a reviewer may apply: those the active policy bundle declares. */
function safeNext(next: string | undefined): string {
  return next && /^\/review(\/|\?|$)/.test(next) && !next.startsWith("//") ? next : "/review";
}

function queueFilter(q: Record<string, string>, isAdmin: boolean): QueueFilter {
  const view = q.view === "escalated" ? "escalated" : "reviewers";
  if (view === "escalated" && !isAdmin)
    throw new ReviewError(403, "Admins only", "Escalated items are for reviewers with the admin role.");
  const age = q.age === "1h" || q.age === "4h" || q.age === "overdue" ? q.age : undefined;
  return {
    view,
    rule: q.rule || undefined,
    label: q.label || undefined,
    kind: (UPLOAD_KINDS as readonly string[]).includes(q.kind ?? "") ? q.kind : undefined,
    age,
  };
}

function auditFilter(q: Record<string, string>): AuditFilter {
  const date = (s: string | undefined, name: string) => {
    if (!s) return undefined;
    const d = new Date(`${s}T00:00:00Z`);
    if (Number.isNaN(d.getTime()))
      throw new ReviewError(400, "Bad date", `${name} must be a date such as 2026-11-21.`);
    return d;
  };
  if (q.action && !(AUDIT_ACTIONS as readonly string[]).includes(q.action))
    throw new ReviewError(
      400,
      "Unknown action",
      `"${q.action}" is not an audit action (${AUDIT_ACTIONS.join(", ")}).`,
    );
  return {
    actor: q.actor?.trim() || undefined,
    action: (q.action as AuditAction) || undefined,
    uploadId: q.upload?.trim() || undefined,
    since: date(q.since, "From"),
    until: date(q.until, "Until"),
  };
}

const AUDIT_PAGE_LIMIT = 500;
const AUDIT_CSV_LIMIT = 100_000;

/**
 * The trust-and-safety dashboard under /review: server-rendered pages, a session cookie, CSRF tokens on every
 * form. Errors are HTML pages, not problem documents: a person reads them.
 */
export function createReviewApp() {
  const review = new Hono<ReviewEnv>();

  review.onError((err, c) => {
    const reviewer = c.get("reviewer");
    const csrf = c.get("session")?.csrfSecret;
    if (err instanceof ReviewError) {
      return c.html(
        html(
          <ErrorPage
            status={err.status}
            title={err.title}
            message={err.message}
            reviewer={reviewer}
            csrf={csrf}
          />,
        ),
        err.status,
      );
    }
    c.get("deps").logger.error({ err, requestId: c.get("requestId"), path: c.req.path }, "unhandled error");
    return c.html(
      html(
        <ErrorPage
          status={500}
          title="Something went wrong"
          message={`Something went wrong on our side; nothing may have been saved. Quote request ${c.get("requestId")} if you report it.`}
          reviewer={reviewer}
          csrf={csrf}
        />,
      ),
      500,
    );
  });

  review.use("*", async (c, next) => {
    await next();
    c.header("content-security-policy", CONTENT_SECURITY_POLICY);
    c.header("x-frame-options", "DENY");
    c.header("x-content-type-options", "nosniff");
    c.header("referrer-policy", "same-origin");
  });

  review.get("/login", (c) => {
    const next = c.req.query("next");
    return c.html(html(<LoginPage csrf={loginCsrfToken(c)} next={next ? safeNext(next) : undefined} />));
  });

  review.post("/login", async (c) => {
    const body = (await c.req.parseBody({ all: true })) as Body;
    if (!sameSecret(field(body, CSRF_FIELD), getCookie(c, LOGIN_CSRF_COOKIE) ?? "\0"))
      throw new ReviewError(
        403,
        "Form refused",
        "The sign-in form did not carry its security token (CSRF). Open the sign-in page again and retry.",
      );
    const email = field(body, "email") ?? "";
    const next = field(body, "next");
    const result = await attemptLogin(c.get("deps").database.db, {
      email,
      password: field(body, "password") ?? "",
      address: clientAddress(c),
    });
    if (result.ok) {
      await startSession(c, result.reviewer);
      return c.redirect(safeNext(next), 303);
    }
    const error = result.locked
      ? `Too many failed sign-ins for this email from your address. Sign-in is locked for ${Math.ceil(result.retryAfterS / 60)} minutes.`
      : `Wrong email or password. ${result.remaining} more ${result.remaining === 1 ? "try" : "tries"} before sign-in is locked for 15 minutes (after ${MAX_LOGIN_FAILURES} failures).`;
    if (result.locked) c.header("retry-after", String(result.retryAfterS));
    return c.html(
      html(
        <LoginPage
          csrf={loginCsrfToken(c)}
          email={email}
          error={error}
          next={next ? safeNext(next) : undefined}
        />,
      ),
      result.locked ? 429 : 401,
    );
  });

  review.use("*", requireReviewer);

  review.post("/logout", async (c) => {
    await endSession(c);
    return c.redirect("/review/login", 303);
  });

  review.get("/", async (c) => {
    const deps = c.get("deps");
    const reviewer = c.get("reviewer");
    const filter = queueFilter(c.req.query(), reviewer.role === "admin");
    const queue = await loadQueue(deps.database.db, filter, deps.config.review.slaS);
    return c.html(
      html(
        <QueuePage
          reviewer={reviewer}
          csrf={c.get("session").csrfSecret}
          queue={queue}
          filter={filter}
          slaS={deps.config.review.slaS}
          flash={FLASH[c.req.query("done") ?? ""]}
        />,
      ),
    );
  });

  const uploadIdOf = (id: string) => {
    if (!ID_PATTERN.test(id) || !id.startsWith("upl_"))
      throw new ReviewError(404, "No such upload", `"${id}" is not an upload id (they start with upl_).`);
    return id;
  };

  review.get("/items/:id", async (c) => {
    const deps = c.get("deps");
    const reviewer = c.get("reviewer");
    const id = uploadIdOf(c.req.param("id"));
    const item = await loadItem(deps.database.db, id);
    if (!item) throw new ReviewError(404, "No such upload", `There is no upload ${id}.`);
    const claim = await claimTask(deps, reviewer, id);
    if (claim.task?.status === "open" && claim.task.escalatedAt && reviewer.role !== "admin")
      throw new ReviewError(
        403,
        "Escalated to admins",
        "This item was escalated; only admins can open it now.",
      );
    const view = claim.task?.escalatedAt ? "escalated" : "reviewers";
    const { items } = await loadQueue(deps.database.db, { view }, deps.config.review.slaS);
    // Outside the queue (decided, or another view), "next" is the head of the queue.
    const at = items.findIndex((i) => i.uploadId === id);
    const prev = at > 0 ? items[at - 1]!.uploadId : null;
    const next = items[at + 1]?.uploadId ?? null;
    return c.html(
      html(
        <ItemPage
          reviewer={reviewer}
          csrf={c.get("session").csrfSecret}
          item={item}
          claim={claim}
          labels={deps.policy.labels()}
          reasons={rejectReasons(deps)}
          prev={prev}
          next={next}
          slaS={deps.config.review.slaS}
          flash={FLASH[c.req.query("done") ?? ""]}
        />,
      ),
    );
  });

  // The original audio, for reviewers only (API keys never reach here). Range requests let the player seek.
  review.get("/items/:id/audio", async (c) => {
    const deps = c.get("deps");
    const id = uploadIdOf(c.req.param("id"));
    const [row] = await deps.database.db.select().from(uploads).where(eq(uploads.id, id));
    if (!row) throw new ReviewError(404, "No such upload", `There is no upload ${id}.`);
    const source = row.status === "removed" ? null : await deps.blobs.open(row.blobKey);
    if (!source)
      throw new ReviewError(404, "Audio gone", "This upload was taken down; its audio was deleted.");
    const headers: Record<string, string> = {
      "content-type": CONTENT_TYPES[row.probe.format],
      "accept-ranges": "bytes",
      "content-disposition": "inline",
      "cache-control": "private, no-store",
    };
    const out = rangedBody(source, c.req.header("range"), headers);
    if (out === "invalid")
      return c.body(null, 416, { ...headers, "content-range": `bytes */${source.size}` });
    return c.body(out.body, out.status, out.headers);
  });

  // The peak envelope of the original, drawn once per upload and kept (it never changes) in a small cache.
  const waveforms = new Map<string, string>();
  review.get("/items/:id/waveform.svg", async (c) => {
    const deps = c.get("deps");
    const id = uploadIdOf(c.req.param("id"));
    let svg = waveforms.get(id);
    if (!svg) {
      const [row] = await deps.database.db.select().from(uploads).where(eq(uploads.id, id));
      if (!row) throw new ReviewError(404, "No such upload", `There is no upload ${id}.`);
      const [decoded] = await deps.database.db
        .select({ data: signals.data })
        .from(signals)
        .where(and(eq(signals.uploadId, id), eq(signals.stage, "decode")));
      const source = row.status === "removed" ? null : await deps.blobs.open(row.blobKey);
      const facts = decoded?.data as { frames: number; durationS: number } | undefined;
      if (!source || !facts)
        throw new ReviewError(404, "No waveform", "This upload has no decoded audio to draw.");
      svg = await waveformSvg(source, row.probe, { ...facts, maxDurationS: deps.config.limits.maxDurationS });
      if (waveforms.size >= 64) waveforms.delete(waveforms.keys().next().value!);
      waveforms.set(id, svg);
    }
    return c.body(svg, 200, { "content-type": "image/svg+xml", "cache-control": "private, max-age=3600" });
  });

  review.post("/items/:id/approve", async (c) => {
    const deps = c.get("deps");
    const id = uploadIdOf(c.req.param("id"));
    const body = (await c.req.parseBody({ all: true })) as Body;
    const catalogue = deps.policy.labels();
    const labels = [...new Set(fields(body, "labels"))];
    const unknown = labels.filter((l) => !(l in catalogue));
    if (unknown.length)
      throw new ReviewError(
        422,
        "Unknown label",
        `The policy bundle declares no label ${unknown.join(", ")}.`,
      );
    await approveUpload(deps, c.get("reviewer"), id, { labels, note: note(body) });
    return c.redirect(`/review/items/${id}?done=approved`, 303);
  });

  review.post("/items/:id/reject", async (c) => {
    const id = uploadIdOf(c.req.param("id"));
    const body = (await c.req.parseBody({ all: true })) as Body;
    await rejectUpload(c.get("deps"), c.get("reviewer"), id, {
      reasonId: field(body, "reason") ?? "",
      note: note(body),
    });
    return c.redirect(`/review/items/${id}?done=rejected`, 303);
  });

  review.post("/items/:id/escalate", async (c) => {
    const id = uploadIdOf(c.req.param("id"));
    const body = (await c.req.parseBody({ all: true })) as Body;
    await escalateUpload(c.get("deps"), c.get("reviewer"), id, { note: note(body) });
    return c.redirect("/review?done=escalated", 303);
  });

  review.get("/decisions", async (c) => {
    const deps = c.get("deps");
    const db = deps.database.db;
    const q = c.req.query();
    const filter = {
      rule: q.rule?.trim() || undefined,
      revision: q.revision?.trim() || undefined,
      by: q.by === "policy" || q.by === "reviewer" ? q.by : undefined,
    } as const;
    const [hits, recent, overrides] = await Promise.all([
      ruleHitsByRevision(db),
      recentDecisions(db, filter, 100),
      reviewerOverrides(db, { limit: 100 }),
    ]);
    return c.html(
      html(
        <DecisionsPage
          reviewer={c.get("reviewer")}
          csrf={c.get("session").csrfSecret}
          hits={hits}
          recent={recent}
          overrides={overrides}
          filter={filter}
          activeRevision={deps.policy.revision}
        />,
      ),
    );
  });

  review.get("/audit", requireAdmin, async (c) => {
    const filter = auditFilter(c.req.query());
    const rows = await listAudit(c.get("deps").database.db, filter, AUDIT_PAGE_LIMIT);
    const url = new URL(c.req.url);
    return c.html(
      html(
        <AuditPage
          reviewer={c.get("reviewer")}
          csrf={c.get("session").csrfSecret}
          rows={rows}
          filter={filter}
          query={url.search}
          limit={AUDIT_PAGE_LIMIT}
        />,
      ),
    );
  });

  review.get("/audit.csv", requireAdmin, async (c) => {
    const rows = await listAudit(c.get("deps").database.db, auditFilter(c.req.query()), AUDIT_CSV_LIMIT);
    return c.body(auditCsv(rows), 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="earmark-review-audit.csv"`,
    });
  });

  review.all("*", (c) => {
    throw new ReviewError(404, "Not found", `There is no dashboard page at ${c.req.method} ${c.req.path}.`);
  });

  return review;
}
