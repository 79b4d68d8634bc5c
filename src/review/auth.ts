import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { and, eq, gt, isNull, lt, sql } from "drizzle-orm";
import type { Context, MiddlewareHandler } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Db } from "../db/client.js";
import { type Reviewer, reviewerLoginFailures, reviewerSessions, reviewers } from "../db/schema/index.js";
import { appendAudit } from "./audit.js";
import { type ReviewEnv, ReviewError } from "./http.js";
import { decoyHash, verifyPassword } from "./password.js";
import { normaliseEmail } from "./reviewers.js";

export const SESSION_COOKIE = "earmark_review";
/** Double-submit token of the sign-in form, which has no session yet to hold a CSRF secret. */
export const LOGIN_CSRF_COOKIE = "earmark_review_login";
export const CSRF_FIELD = "_csrf";

/** Sign-in throttling: this many failures for one email from one address lock that pair out. */
export const MAX_LOGIN_FAILURES = 5;
export const LOGIN_WINDOW_S = 15 * 60;
export const LOCKOUT_S = 15 * 60;

const sha256 = (s: string) => createHash("sha256").update(s).digest("hex");
const token = () => randomBytes(32).toString("base64url");

export function sameSecret(a: string | undefined, b: string): boolean {
  if (!a) return false;
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * Whether the browser reached us over TLS: the request URL says https (TLS terminated here), the configured
 * public URL is https, or a proxy in front says so in X-Forwarded-Proto. Trusting that header is safe here:
 * a forged one can only make the cookie stricter (Secure), never weaker.
 */
export function overTls(c: Context<ReviewEnv>): boolean {
  return (
    new URL(c.req.url).protocol === "https:" ||
    (c.get("deps").config.publicUrl ?? "").startsWith("https:") ||
    (c.req.header("x-forwarded-proto") ?? "").split(",")[0]?.trim() === "https"
  );
}

function cookieOptions(c: Context<ReviewEnv>, maxAgeS: number) {
  return {
    path: "/review",
    httpOnly: true,
    sameSite: "Lax" as const,
    secure: overTls(c),
    maxAge: Math.floor(maxAgeS),
  };
}

/** The address of the connected client (the socket's, not a header anyone could set). */
export function clientAddress(c: Context<ReviewEnv>): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? "unknown";
}

/** The sign-in form's CSRF token: the one in its cookie, or a new one set now. */
export function loginCsrfToken(c: Context<ReviewEnv>): string {
  const existing = getCookie(c, LOGIN_CSRF_COOKIE);
  if (existing && /^[A-Za-z0-9_-]{43}$/.test(existing)) return existing;
  const t = token();
  setCookie(c, LOGIN_CSRF_COOKIE, t, cookieOptions(c, 3600));
  return t;
}

export type LoginResult =
  | { ok: true; reviewer: Reviewer }
  | { ok: false; locked: false; remaining: number }
  | { ok: false; locked: true; retryAfterS: number };

/**
 * Checks a sign-in. Failures are counted per (email, address); the fifth within 15 minutes locks the pair out
 * for 15 minutes, during which even the right password is refused. Unknown emails cost as much as known ones.
 */
export async function attemptLogin(
  db: Db,
  input: { email: string; password: string; address: string },
): Promise<LoginResult> {
  const email = normaliseEmail(input.email);
  const key = `${email}|${input.address}`;
  const [lock] = await db
    .select({
      retryAfterS: sql<number>`ceil(extract(epoch from ${reviewerLoginFailures.lockedUntil} - now()))`,
    })
    .from(reviewerLoginFailures)
    .where(and(eq(reviewerLoginFailures.key, key), gt(reviewerLoginFailures.lockedUntil, sql`now()`)));
  if (lock) return { ok: false, locked: true, retryAfterS: Math.max(1, Number(lock.retryAfterS)) };

  const [reviewer] = await db
    .select()
    .from(reviewers)
    .where(and(eq(reviewers.email, email), isNull(reviewers.disabledAt)));
  const valid = await verifyPassword(reviewer?.passwordHash ?? (await decoyHash()), input.password);
  if (reviewer && valid) {
    await db.delete(reviewerLoginFailures).where(eq(reviewerLoginFailures.key, key));
    return { ok: true, reviewer };
  }
  const t = reviewerLoginFailures;
  const continues = sql`(${t.firstFailedAt} > now() - make_interval(secs => ${LOGIN_WINDOW_S}) and ${t.lockedUntil} is null)`;
  const failures = sql`(case when ${continues} then ${t.failures} + 1 else 1 end)`;
  const [row] = await db
    .insert(t)
    .values({ key, failures: 1, firstFailedAt: sql`now()` })
    .onConflictDoUpdate({
      target: t.key,
      set: {
        failures,
        firstFailedAt: sql`(case when ${continues} then ${t.firstFailedAt} else now() end)`,
        lockedUntil: sql`(case when ${failures} >= ${MAX_LOGIN_FAILURES} then now() + make_interval(secs => ${LOCKOUT_S}) else null end)`,
      },
    })
    .returning({ failures: t.failures });
  const n = row?.failures ?? 1;
  if (n >= MAX_LOGIN_FAILURES) return { ok: false, locked: true, retryAfterS: LOCKOUT_S };
  return { ok: false, locked: false, remaining: MAX_LOGIN_FAILURES - n };
}

/** Starts a session (audited) and sets its cookie. */
export async function startSession(c: Context<ReviewEnv>, reviewer: Reviewer): Promise<void> {
  const deps = c.get("deps");
  const t = token();
  await deps.database.db.transaction(async (tx) => {
    // Housekeeping: sessions past their expiry are never accepted again; a sign-in clears them away.
    await tx.delete(reviewerSessions).where(lt(reviewerSessions.expiresAt, sql`now()`));
    await tx.insert(reviewerSessions).values({
      tokenHash: sha256(t),
      reviewerId: reviewer.id,
      csrfSecret: token(),
      expiresAt: sql`now() + make_interval(secs => ${deps.config.review.sessionS})`,
    });
    await appendAudit(tx, {
      actor: reviewer.email,
      reviewerId: reviewer.id,
      action: "login",
      details: { address: clientAddress(c) },
    });
  });
  setCookie(c, SESSION_COOKIE, t, cookieOptions(c, deps.config.review.sessionS));
  deleteCookie(c, LOGIN_CSRF_COOKIE, { path: "/review" });
}

/** Ends the current session (audited) and clears its cookie. */
export async function endSession(c: Context<ReviewEnv>): Promise<void> {
  const session = c.get("session");
  const reviewer = c.get("reviewer");
  await c.get("deps").database.db.transaction(async (tx) => {
    await tx.delete(reviewerSessions).where(eq(reviewerSessions.tokenHash, session.tokenHash));
    await appendAudit(tx, { actor: reviewer.email, reviewerId: reviewer.id, action: "logout" });
  });
  deleteCookie(c, SESSION_COOKIE, { path: "/review", secure: overTls(c), httpOnly: true });
}

/**
 * Every dashboard page but the sign-in form needs a session cookie. API keys (Authorization headers) are not
 * looked at here, so they never open the dashboard. Pages redirect to the sign-in form; every POST must carry
 * the session's CSRF token in the `_csrf` field (403 otherwise).
 */
export const requireReviewer: MiddlewareHandler<ReviewEnv> = async (c, next) => {
  const cookie = getCookie(c, SESSION_COOKIE);
  const db = c.get("deps").database.db;
  const [row] = cookie
    ? await db
        .select({ reviewer: reviewers, session: reviewerSessions })
        .from(reviewerSessions)
        .innerJoin(reviewers, eq(reviewers.id, reviewerSessions.reviewerId))
        .where(
          and(
            eq(reviewerSessions.tokenHash, sha256(cookie)),
            gt(reviewerSessions.expiresAt, sql`now()`),
            isNull(reviewers.disabledAt),
          ),
        )
    : [];
  if (!row) {
    if (c.req.method === "GET" || c.req.method === "HEAD") {
      const next = new URL(c.req.url);
      return c.redirect(`/review/login?next=${encodeURIComponent(next.pathname + next.search)}`, 303);
    }
    throw new ReviewError(
      401,
      "Signed out",
      "Your session has ended. Sign in again, then repeat the action.",
    );
  }
  c.set("reviewer", row.reviewer);
  c.set("session", row.session);
  if (c.req.method === "POST") {
    const body = await c.req.parseBody();
    const sent = typeof body[CSRF_FIELD] === "string" ? (body[CSRF_FIELD] as string) : undefined;
    if (!sameSecret(sent, row.session.csrfSecret))
      throw new ReviewError(
        403,
        "Form refused",
        "This form did not carry this session's security token (CSRF), so nothing was done. Reload the page and try again.",
      );
  }
  c.header("cache-control", "no-store");
  await next();
  return undefined;
};

export const requireAdmin: MiddlewareHandler<ReviewEnv> = async (c, next) => {
  if (c.get("reviewer").role !== "admin")
    throw new ReviewError(403, "Admins only", "This page is for reviewers with the admin role.");
  await next();
};
