import { and, desc, eq, sql } from "drizzle-orm";
import { decisions, renditions, reviewTasks, type UploadStatus, uploads } from "../db/schema/index.js";
import type { Deps } from "../deps.js";
import { removeFingerprint } from "../fingerprint/store.js";
import { newId } from "../ids.js";
import { renditionKey, renditionManifestKey } from "../pipeline/render.js";

/** Statuses an upload can be taken down from: the pipeline is done with it. */
export const REMOVABLE_STATUSES: readonly UploadStatus[] = ["decided", "held", "failed"];

/** `decidedBy` of a takedown decision starts with this (`takedown:account:acc_…`, `takedown:operator`). */
export const TAKEDOWN_PREFIX = "takedown:";

/** Whether a decision row records a takedown rather than a policy's or a reviewer's judgement. */
export const isTakedown = (decidedBy: string) => decidedBy.startsWith(TAKEDOWN_PREFIX);

/** The longest takedown reason stored (the API and the CLI refuse longer ones). */
export const MAX_REASON_LENGTH = 500;

export interface RemoveUploadOptions {
  /** Only an upload of this account (API callers); another account's upload is "not-found". */
  accountId?: string;
  /** Why, in words; stored in the takedown decision's reason. */
  reason: string;
  /** Who: `account:<id>` or `operator`. Stored as `decidedBy = "takedown:" + by`. */
  by: string;
}

/** `blobKeys`: the blob keys deleted (deleting one that is not there is not an error). */
export type RemoveUploadResult =
  | { outcome: "removed"; uploadId: string; from: UploadStatus; blobKeys: string[] }
  /** Removed before; its blobs were deleted again, in case an earlier attempt stopped before doing so. */
  | { outcome: "already-removed"; uploadId: string; blobKeys: string[] }
  | { outcome: "not-found"; uploadId: string }
  /** Still `received` or `processing`: the pipeline would race with the removal. Try again once decided. */
  | { outcome: "in-progress"; uploadId: string; status: UploadStatus };

/**
 * Takes an upload down. The upload row, its signals and decisions stay (the audit trail); its status becomes
 * `removed`, a takedown decision (`reject`, reason `takedown`) is appended, its fingerprint leaves the match
 * index, an open review task is closed and its rendition row is deleted — all in one transaction. The audio
 * (original and rendition blobs) is deleted after the commit.
 *
 * Repeating it is safe: an upload that is removed already only has its blobs deleted again (a crash between
 * the commit and the blob deletion leaves them behind otherwise). A blob store failure is thrown after the
 * commit; calling again finishes the job.
 */
export async function removeUpload(
  deps: Pick<Deps, "database" | "blobs">,
  uploadId: string,
  opts: RemoveUploadOptions,
): Promise<RemoveUploadResult> {
  const db = deps.database.db;
  const result = await db.transaction(async (tx) => {
    // Locked so that two removals (or a removal and anything else that updates the row) go one after the other.
    const [row] = await tx
      .select({
        id: uploads.id,
        accountId: uploads.accountId,
        status: uploads.status,
        blobKey: uploads.blobKey,
      })
      .from(uploads)
      .where(
        opts.accountId
          ? and(eq(uploads.id, uploadId), eq(uploads.accountId, opts.accountId))
          : eq(uploads.id, uploadId),
      )
      .for("update");
    if (!row) return { outcome: "not-found" as const, uploadId };
    const keys = [renditionKey(uploadId), renditionManifestKey(uploadId), row.blobKey];
    if (row.status === "removed") return { outcome: "already-removed" as const, uploadId, keys };
    if (!REMOVABLE_STATUSES.includes(row.status))
      return { outcome: "in-progress" as const, uploadId, status: row.status };

    const [last] = await tx
      .select({ policyRevision: decisions.policyRevision })
      .from(decisions)
      .where(eq(decisions.uploadId, uploadId))
      .orderBy(desc(decisions.createdAt), desc(decisions.id))
      .limit(1);
    await tx.insert(decisions).values({
      id: newId("dec"),
      uploadId,
      action: "reject",
      labels: [],
      reasons: [{ ruleId: "takedown", message: opts.reason }],
      policyRevision: last?.policyRevision ?? "takedown",
      trace: null,
      decidedBy: `${TAKEDOWN_PREFIX}${opts.by}`,
    });
    await removeFingerprint(tx, uploadId);
    await tx
      .update(reviewTasks)
      .set({ status: "closed", closedAt: sql`now()` })
      .where(and(eq(reviewTasks.uploadId, uploadId), eq(reviewTasks.status, "open")));
    const gone = await tx
      .delete(renditions)
      .where(eq(renditions.uploadId, uploadId))
      .returning({ blobKey: renditions.blobKey });
    await tx
      .update(uploads)
      .set({ status: "removed", updatedAt: sql`now()` })
      .where(eq(uploads.id, uploadId));
    return {
      outcome: "removed" as const,
      uploadId,
      from: row.status,
      keys: [...gone.map((r) => r.blobKey), ...keys],
    };
  });

  if (result.outcome === "not-found" || result.outcome === "in-progress") return result;
  // After the commit: a rollback must never leave an upload whose audio is gone. The rendition is a hard link
  // of the original today, possibly under the original's own key one day: each distinct key once.
  const { keys, ...rest } = result;
  const distinct = [...new Set(keys)];
  for (const key of distinct) await deps.blobs.delete(key);
  return { ...rest, blobKeys: distinct };
}
