import { integer, jsonb, pgTable, primaryKey, text, timestamp } from "drizzle-orm/pg-core";
import { uploads } from "./uploads.js";

/** How often each rule of each bundle revision matched, counted when decisions are recorded. */
export const policyRuleHits = pgTable(
  "policy_rule_hits",
  {
    revision: text("revision").notNull(),
    ruleId: text("rule_id").notNull(),
    mode: text("mode").$type<"enforce" | "shadow">().notNull(),
    hits: integer("hits").notNull().default(0),
  },
  (t) => [primaryKey({ columns: [t.revision, t.ruleId] })],
);

/**
 * An upload the policy sent to a person. The review dashboard builds its queue, claims and SLA on these;
 * the decision that closes a task is recorded in `decisions` like any other.
 */
export const reviewTasks = pgTable("review_tasks", {
  uploadId: text("upload_id")
    .primaryKey()
    .references(() => uploads.id, { onDelete: "cascade" }),
  /** The highest priority among the enforced rules that asked for review. */
  priority: integer("priority").notNull(),
  status: text("status").$type<"open" | "closed">().notNull().default("open"),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  closedAt: timestamp("closed_at", { withTimezone: true }),
  /** The reviewer (id) working on it until `claimExpiresAt`; an expired claim is nobody's. */
  claimedBy: text("claimed_by"),
  claimExpiresAt: timestamp("claim_expires_at", { withTimezone: true }),
  /** Sent on to admins: only admins see and decide it from then on. */
  escalatedAt: timestamp("escalated_at", { withTimezone: true }),
});

/** Every bundle revision that decided something, with its rules as they were: what explain and replay read. */
export const policyRevisions = pgTable("policy_revisions", {
  revision: text("revision").primaryKey(),
  gitCommit: text("git_commit"),
  rules: jsonb("rules").$type<StoredRule[]>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export interface StoredRule {
  id: string;
  description: string;
  when: string;
  action: "allow" | "label" | "review" | "reject";
  labels: string[];
  reason: string;
  priority: number;
  mode: "enforce" | "shadow";
  owner: string;
  file: string;
}
