import { bigint, index, jsonb, pgTable, text, timestamp, uniqueIndex } from "drizzle-orm/pg-core";
import type { AudioProbe } from "../../audio/format.js";
import type { UploadMetadata } from "../../uploads/metadata.js";
import { accounts } from "./accounts.js";

/** `removed`: taken down (src/uploads/remove.ts); the row, its signals and decisions stay as the audit trail. */
export const UPLOAD_STATUSES = ["received", "processing", "held", "decided", "failed", "removed"] as const;
export type UploadStatus = (typeof UPLOAD_STATUSES)[number];

export interface UploadFailure {
  code: string;
  detail: string;
  stage: string | null;
  attempts: number;
  at: string;
}

/** One imported track or episode, from the moment it is acknowledged. */
export const uploads = pgTable(
  "uploads",
  {
    id: text("id").primaryKey(),
    accountId: text("account_id")
      .notNull()
      .references(() => accounts.id),
    status: text("status").$type<UploadStatus>().notNull().default("received"),
    metadata: jsonb("metadata").$type<UploadMetadata>().notNull(),
    blobKey: text("blob_key").notNull(),
    sha256: text("sha256").notNull(),
    sizeBytes: bigint("size_bytes", { mode: "number" }).notNull(),
    filename: text("filename"),
    declaredContentType: text("declared_content_type"),
    /** What probing the stored bytes found: format, codec, rate, channels, declared duration. */
    probe: jsonb("probe").$type<AudioProbe>().notNull(),
    idempotencyKey: text("idempotency_key"),
    /** SHA-256 over the file hash and the canonical metadata: same key + different request → 422. */
    requestHash: text("request_hash"),
    failure: jsonb("failure").$type<UploadFailure>(),
    createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp("updated_at", { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex("uploads_idempotency_idx").on(t.accountId, t.idempotencyKey),
    index("uploads_account_idx").on(t.accountId, t.id),
    // Account context at decision time: recent uploads of the account, same-file re-uploads.
    index("uploads_account_created_idx").on(t.accountId, t.createdAt),
    index("uploads_account_sha_idx").on(t.accountId, t.sha256),
    index("uploads_status_idx").on(t.status),
  ],
);

export type UploadRow = typeof uploads.$inferSelect;
