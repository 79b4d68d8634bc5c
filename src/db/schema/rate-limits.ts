import { integer, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";

/**
 * Fixed-window counters, shared by every API node through the database so a limit holds across a cluster.
 * Old windows are swept by the worker's maintenance tick.
 */
export const rateLimitWindows = pgTable(
  "rate_limit_windows",
  {
    accountId: text("account_id").notNull(),
    bucket: text("bucket").notNull(),
    windowStart: timestamp("window_start", { withTimezone: true }).notNull(),
    count: integer("count").notNull(),
  },
  (t) => [primaryKey({ columns: [t.accountId, t.bucket, t.windowStart] })],
);
