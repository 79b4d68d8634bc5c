import { index, integer, jsonb, pgTable, text, timestamp } from "drizzle-orm/pg-core";

export const REVIEWER_ROLES = ["reviewer", "admin"] as const;
export type ReviewerRole = (typeof REVIEWER_ROLES)[number];

/** A person who works the review dashboard (/review). Not an account: reviewers never hold API keys. */
export const reviewers = pgTable("reviewers", {
  id: text("id").primaryKey(),
  /** Lower-cased; what the reviewer signs in with and what their decisions are recorded under. */
  email: text("email").notNull().unique(),
  role: text("role").$type<ReviewerRole>().notNull(),
  /** `scrypt$N=…,r=…,p=…$<salt>$<hash>` (src/review/password.ts): the parameters travel with the hash. */
  passwordHash: text("password_hash").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  disabledAt: timestamp("disabled_at", { withTimezone: true }),
});

/** A signed-in browser. The cookie holds a random token; only its SHA-256 is stored. */
export const reviewerSessions = pgTable(
  "reviewer_sessions",
  {
    tokenHash: text("token_hash").primaryKey(),
    reviewerId: text("reviewer_id")
      .notNull()
      .references(() => reviewers.id, { onDelete: "cascade" }),
    /** Per-session secret every dashboard form carries back (CSRF). */
    csrfSecret: text("csrf_secret").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp("expires_at", { withTimezone: true }).notNull(),
  },
  (t) => [index("reviewer_sessions_reviewer_idx").on(t.reviewerId)],
);

/** Failed sign-ins per (email, client address), for throttling. A success clears the row. */
export const reviewerLoginFailures = pgTable("reviewer_login_failures", {
  /** `<email>|<address>` */
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  firstFailedAt: timestamp("first_failed_at", { withTimezone: true }).notNull(),
  lockedUntil: timestamp("locked_until", { withTimezone: true }),
});

export const AUDIT_ACTIONS = [
  "reviewer-created",
  "reviewer-disabled",
  "login",
  "logout",
  "claim",
  "approve",
  "reject",
  "escalate",
] as const;
export type AuditAction = (typeof AUDIT_ACTIONS)[number];

/**
 * Everything done through the dashboard, written in the transaction of the action itself. Append-only: a
 * trigger (migration 0005) refuses UPDATE and DELETE. No foreign keys, so an entry outlives what it names.
 */
export const reviewAudit = pgTable(
  "review_audit",
  {
    id: text("id").primaryKey(),
    at: timestamp("at", { withTimezone: true }).notNull().defaultNow(),
    /** The reviewer's email, or `cli` for commands run on the server. */
    actor: text("actor").notNull(),
    reviewerId: text("reviewer_id"),
    action: text("action").$type<AuditAction>().notNull(),
    uploadId: text("upload_id"),
    reason: text("reason"),
    note: text("note"),
    fromState: text("from_state"),
    toState: text("to_state"),
    details: jsonb("details").$type<Record<string, unknown>>(),
  },
  (t) => [index("review_audit_at_idx").on(t.at), index("review_audit_upload_idx").on(t.uploadId)],
);

export type Reviewer = typeof reviewers.$inferSelect;
export type AuditRow = typeof reviewAudit.$inferSelect;
