/**
 * Watermark ids in the database: the id a rendition carries is assigned once per upload, and a detected
 * payload leads back to its upload and account.
 *
 * @module
 */

import { randomBytes } from "node:crypto";
import { eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { watermarks } from "../db/schema/index.js";

export interface WatermarkLink {
  uploadId: string;
  accountId: string;
}

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

/**
 * The payload for an upload's rendition: the one stored earlier (a retried render, a reviewer's approval after
 * a crash) or a new random one. Random 64-bit ids collide with probability ~n²/2⁶⁵; a collision is retried.
 */
export async function assignWatermark(
  db: Db,
  upload: { id: string; accountId: string },
  algorithm: string,
  newPayload: () => Uint8Array = () => randomBytes(8),
): Promise<Uint8Array> {
  for (let attempt = 0; attempt < 5; attempt++) {
    const [existing] = await db
      .select({ payload: watermarks.payload })
      .from(watermarks)
      .where(eq(watermarks.uploadId, upload.id));
    if (existing) return Uint8Array.from(Buffer.from(existing.payload, "hex"));
    const payload = newPayload();
    const inserted = await db
      .insert(watermarks)
      .values({ payload: hex(payload), uploadId: upload.id, accountId: upload.accountId, algorithm })
      .onConflictDoNothing()
      .returning({ payload: watermarks.payload });
    if (inserted.length > 0) return Uint8Array.from(payload);
    // Either another worker assigned this upload's id meanwhile (read it next turn) or the id was taken.
  }
  throw new Error(`could not assign a watermark id to upload ${upload.id}`);
}

/** The upload a detected payload belongs to, or null when no rendition of this database carries it. */
export async function linkWatermark(db: Db, payload: Uint8Array): Promise<WatermarkLink | null> {
  const [row] = await db
    .select({ uploadId: watermarks.uploadId, accountId: watermarks.accountId })
    .from(watermarks)
    .where(eq(watermarks.payload, hex(payload)));
  return row ?? null;
}
