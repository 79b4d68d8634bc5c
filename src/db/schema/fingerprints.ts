import { customType, index, integer, pgTable, real, serial, text, timestamp } from "drizzle-orm/pg-core";
import { uploads } from "./uploads.js";

/** Raw bytes; PGlite returns a Uint8Array, postgres.js a Buffer (also a Uint8Array). */
const bytea = customType<{ data: Uint8Array; driverData: Uint8Array }>({
  dataType: () => "bytea",
});

/**
 * One fingerprint per upload: its full hash list (for alignment, phase 2 of a lookup) and what coverage
 * needs. `id` is a compact integer so that each of the many index rows below stays small.
 */
export const fingerprints = pgTable("fingerprints", {
  id: serial("id").primaryKey(),
  uploadId: text("upload_id")
    .notNull()
    .unique()
    .references(() => uploads.id, { onDelete: "cascade" }),
  accountId: text("account_id").notNull(),
  algorithm: text("algorithm").notNull(),
  durationS: real("duration_s").notNull(),
  hashCount: integer("hash_count").notNull(),
  /** Little-endian uint32 pairs: hash, packed time (src/fingerprint/extract.ts). */
  hashes: bytea("hashes").notNull(),
  createdAt: timestamp("created_at", { withTimezone: true }).notNull().defaultNow(),
});

/**
 * The inverted index for candidate lookup (phase 1): one row per distinct hash of each fingerprint.
 * The BRIN index serves the cascade when a fingerprint is removed (rows are written in id order).
 */
export const fingerprintHashes = pgTable(
  "fingerprint_hashes",
  {
    hash: integer("hash").notNull(),
    fingerprintId: integer("fingerprint_id")
      .notNull()
      .references(() => fingerprints.id, { onDelete: "cascade" }),
  },
  (t) => [
    index("fingerprint_hashes_hash_idx").on(t.hash, t.fingerprintId),
    index("fingerprint_hashes_fp_brin").using("brin", t.fingerprintId),
  ],
);

/**
 * How many fingerprints hold each hash: lets a lookup pick the query's rarest hashes (src/fingerprint/
 * index.ts rarestKeys) without reading their posting lists. Kept in step by store.ts in the same
 * transactions that add and remove index rows.
 */
export const fingerprintHashCounts = pgTable("fingerprint_hash_counts", {
  hash: integer("hash").primaryKey(),
  uploads: integer("uploads").notNull(),
});
