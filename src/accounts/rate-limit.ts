import { sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { rateLimitWindows } from "../db/schema/index.js";

export interface RateLimitResult {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetS: number;
}

export interface RateLimiter {
  /** Counts one hit in the account's current window for `bucket`. */
  hit(accountId: string, bucket: string, limit: number, windowS: number): Promise<RateLimitResult>;
}

/**
 * Fixed-window counters in the database: one upsert per hit, shared by every API node, so a limit holds for
 * the whole cluster. (A fixed window lets a burst of up to twice the limit straddle a boundary; for abuse
 * protection that is accepted in exchange for one round trip.)
 */
export class DbRateLimiter implements RateLimiter {
  constructor(private readonly db: Db) {}

  async hit(accountId: string, bucket: string, limit: number, windowS: number): Promise<RateLimitResult> {
    const windowStart = sql`to_timestamp(floor(extract(epoch from now()) / ${windowS}) * ${windowS})`;
    const [row] = await this.db
      .insert(rateLimitWindows)
      .values({ accountId, bucket, windowStart, count: 1 })
      .onConflictDoUpdate({
        target: [rateLimitWindows.accountId, rateLimitWindows.bucket, rateLimitWindows.windowStart],
        set: { count: sql`${rateLimitWindows.count} + 1` },
      })
      .returning({
        count: rateLimitWindows.count,
        resetS: sql<number>`extract(epoch from (${rateLimitWindows.windowStart} + make_interval(secs => ${windowS}) - now()))::float8`,
      });
    const count = row?.count ?? 1;
    return {
      allowed: count <= limit,
      limit,
      remaining: Math.max(0, limit - count),
      resetS: Math.max(1, Math.ceil(Number(row?.resetS ?? windowS))),
    };
  }
}

/** Deletes windows that ended more than a day ago. */
export async function pruneRateLimitWindows(db: Db): Promise<void> {
  await db.delete(rateLimitWindows).where(sql`${rateLimitWindows.windowStart} < now() - interval '1 day'`);
}
