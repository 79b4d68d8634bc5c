import { boolean, index, integer, pgTable, text, timestamp } from "drizzle-orm/pg-core";

/** An uploading party (a creator app, a distributor). Everything an API key can see belongs to one account. */
export const accounts = pgTable("accounts", {
  id: text("id").primaryKey(),
  name: text("name").notNull().unique(),
  /** Overrides of the deployment's rate limits for this account; null means the default. */
  rateLimitPerMinute: integer("rate_limit_per_minute"),
  uploadsPerHour: integer("uploads_per_hour"),
  /** Operators run the platform: their keys may read the policy bundle and its hit counts. */
  isOperator: boolean("is_operator").notNull().default(false),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/** API keys are stored as SHA-256 hashes; the key itself is shown once, when created. */
export const apiKeys = pgTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id, { onDelete: "cascade" }),
    /** First characters of the key, shown in listings so a key can be recognised without revealing it. */
    prefix: text("prefix").notNull(),
    hash: text("hash").notNull().unique(),
    name: text("name"),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp("last_used_at", { withTimezone: true }),
    revokedAt: timestamp("revoked_at", { withTimezone: true }),
  },
  (t) => [index("api_keys_account_idx").on(t.accountId)],
);

export type Account = typeof accounts.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
