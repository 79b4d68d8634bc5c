import { pgTable, text, timestamp } from "drizzle-orm/pg-core";
import { uploads } from "./uploads.js";

/**
 * The watermark id each distributed rendition carries, and the upload it leads back to. One per upload: a
 * retried or re-approved render embeds the same id again. The id is random (not derived from the upload id),
 * so the mark itself tells nothing without this table.
 */
export const watermarks = pgTable("watermarks", {
  /** The 64-bit payload, 16 lowercase hex digits. */
  payload: text("payload").primaryKey(),
  uploadId: text("upload_id")
    .notNull()
    .unique()
    .references(() => uploads.id, { onDelete: "cascade" }),
  accountId: text("account_id").notNull(),
  /** The watermark algorithm version that embedded it (src/watermark WATERMARK_ALGORITHM). */
  algorithm: text("algorithm").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

export type WatermarkRow = typeof watermarks.$inferSelect;
