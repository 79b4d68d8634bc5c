import { bigint, index, jsonb, pgTable, primaryKey, real, text, timestamp } from "drizzle-orm/pg-core";
import { uploads } from "./uploads.js";

/**
 * One row per (upload, stage): the typed signal a pipeline stage produced, with the version of the code or
 * model that produced it, so any decision can be replayed and explained later.
 */
export const signals = pgTable(
  "signals",
  {
    uploadId: text("upload_id")
      .notNull()
      .references(() => uploads.id, { onDelete: "cascade" }),
    stage: text("stage").notNull(),
    version: text("version").notNull(),
    data: jsonb("data").notNull(),
    durationMs: real("duration_ms").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.uploadId, t.stage] })],
);

export interface DecisionReason {
  ruleId: string;
  message: string;
}

/** Every decision taken on an upload, newest last: the policy's, then any reviewer's. */
export const decisions = pgTable(
  "decisions",
  {
    id: text("id").primaryKey(),
    uploadId: text("upload_id")
      .notNull()
      .references(() => uploads.id, { onDelete: "cascade" }),
    action: text("action").$type<"allow" | "label" | "review" | "reject">().notNull(),
    labels: jsonb("labels").$type<string[]>().notNull(),
    reasons: jsonb("reasons").$type<DecisionReason[]>().notNull(),
    policyRevision: text("policy_revision").notNull(),
    trace: jsonb("trace"),
    decidedBy: text("decided_by").notNull(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index("decisions_upload_idx").on(t.uploadId, t.createdAt)],
);

/** The distributed audio of an upload. */
export const renditions = pgTable("renditions", {
  uploadId: text("upload_id")
    .primaryKey()
    .references(() => uploads.id, { onDelete: "cascade" }),
  blobKey: text("blob_key").notNull(),
  format: text("format").notNull(),
  contentType: text("content_type").notNull(),
  sha256: text("sha256").notNull(),
  sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
  /** Render steps applied, in order, with their versions; empty means the original bytes. */
  steps: jsonb("steps").$type<{ name: string; version: string }[]>().notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export type SignalRow = typeof signals.$inferSelect;
export type DecisionRow = typeof decisions.$inferSelect;
export type RenditionRow = typeof renditions.$inferSelect;
