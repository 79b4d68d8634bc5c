import { randomUUID } from "node:crypto";
import type { MiddlewareHandler } from "hono";
import { routePath } from "hono/route";
import { authenticateApiKey } from "../accounts/accounts.js";
import type { RateLimitResult } from "../accounts/rate-limit.js";
import type { Deps } from "../deps.js";
import { ApiError } from "../errors.js";
import type { AppEnv } from "./context.js";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** Puts the deps and a request id on the context; logs the request and counts it in the metrics. */
export function requestContext(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    c.set("deps", deps);
    c.set("requestId", requestId);
    const started = performance.now();
    await next();
    c.header("x-request-id", requestId);
    const route = routePath(c, -1) || "unmatched";
    const seconds = (performance.now() - started) / 1000;
    const labels = { method: c.req.method, route };
    deps.metrics.httpRequests.inc({ ...labels, status: String(c.res.status) });
    deps.metrics.httpDuration.observe(labels, seconds);
    deps.logger.info(
      {
        requestId,
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round(seconds * 1000),
      },
      "request",
    );
  };
}

/** `Authorization: Bearer <api key>` → the account. Everything under /v1 requires it. */
export const requireApiKey: MiddlewareHandler<AppEnv> = async (c, next) => {
  const header = c.req.header("authorization") ?? "";
  const m = /^Bearer\s+(\S+)$/i.exec(header);
  if (!m) {
    throw new ApiError("unauthorized", "Send your API key as `Authorization: Bearer <key>`.", {
      headers: { "www-authenticate": 'Bearer realm="earmark"' },
    });
  }
  const account = await authenticateApiKey(c.get("deps").database.db, m[1]!);
  if (!account)
    throw new ApiError("unauthorized", "The API key is unknown or was revoked.", {
      headers: { "www-authenticate": 'Bearer realm="earmark", error="invalid_token"' },
    });
  c.set("account", account);
  await next();
};

/**
 * Per-account request limit (every /v1 call). Answers 429 with Retry-After when exceeded and reports the
 * window in RateLimit-* headers either way.
 */
export const rateLimit: MiddlewareHandler<AppEnv> = async (c, next) => {
  const deps = c.get("deps");
  const account = c.get("account");
  const limit = account.rateLimitPerMinute ?? deps.config.rateLimit.perMinute;
  const r = await enforce(deps, account.id, "requests", limit, 60, "requests per minute");
  await next();
  // A stricter limit hit inside the handler (uploads per hour) already described itself: its 429 must keep the
  // limit, remaining and reset that go with its Retry-After.
  if (c.res.headers.has("ratelimit-limit")) return;
  c.header("ratelimit-limit", String(r.limit));
  c.header("ratelimit-remaining", String(r.remaining));
  c.header("ratelimit-reset", String(r.resetS));
};

/** Counts one hit and throws 429 when the account is over `limit` in the window. */
export async function enforce(
  deps: Deps,
  accountId: string,
  bucket: string,
  limit: number,
  windowS: number,
  what: string,
): Promise<RateLimitResult> {
  const r = await deps.rateLimiter.hit(accountId, bucket, limit, windowS);
  if (!r.allowed) {
    throw new ApiError(
      "rate-limited",
      `This account is over its limit of ${limit} ${what}. Retry after ${r.resetS} s.`,
      {
        headers: {
          "retry-after": String(r.resetS),
          "ratelimit-limit": String(r.limit),
          "ratelimit-remaining": "0",
          "ratelimit-reset": String(r.resetS),
        },
        limit: r.limit,
        retryAfterS: r.resetS,
      },
    );
  }
  return r;
}
