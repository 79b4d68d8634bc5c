import { and, count, desc, eq, gt, lt, lte, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.js";
import { accounts, signals, type UploadRow, uploads } from "../db/schema/index.js";
import type { Signals } from "../pipeline/signals.js";
import { TAKEDOWN_PREFIX } from "../uploads/remove.js";

export const ACCOUNT_SIGNAL_VERSION = "account-1";

/**
 * The account's recent history as of the upload's own arrival time (not "now"), so the figures describe what
 * the platform knew when the upload came in.
 */
export async function loadAccountContext(
  db: Db | Tx,
  upload: Pick<UploadRow, "id" | "accountId" | "sha256" | "createdAt">,
): Promise<Signals["account"]> {
  const at = upload.createdAt;
  const hourAgo = new Date(at.getTime() - 3600_000);
  const dayAgo = new Date(at.getTime() - 86400_000);
  const mine = eq(uploads.accountId, upload.accountId);

  const [account] = await db
    .select({ createdAt: accounts.createdAt })
    .from(accounts)
    .where(eq(accounts.id, upload.accountId));
  const [hour] = await db
    .select({ n: count() })
    .from(uploads)
    .where(and(mine, gt(uploads.createdAt, hourAgo), lte(uploads.createdAt, at)));
  const recent = await db
    .select({
      durationS: sql<
        number | null
      >`coalesce((${signals.data}->>'durationS')::float8, (${uploads.probe}->>'durationS')::float8)`,
    })
    .from(uploads)
    .leftJoin(signals, and(eq(signals.uploadId, uploads.id), eq(signals.stage, "decode")))
    .where(and(mine, gt(uploads.createdAt, dayAgo), lte(uploads.createdAt, at)))
    .orderBy(desc(uploads.createdAt))
    .limit(1000);
  const [day] = await db
    .select({ n: count() })
    .from(uploads)
    .where(and(mine, gt(uploads.createdAt, dayAgo), lte(uploads.createdAt, at)));
  const [same] = await db
    .select({ n: count() })
    .from(uploads)
    .where(and(mine, eq(uploads.sha256, upload.sha256), lt(uploads.createdAt, at)));
  // Earlier uploads whose latest decision is a rejection (a reviewer's reversal counts, not the policy's first
  // word; a takedown is not a judgement of the upload and does not count).
  const [rejected] = await db
    .select({ n: count() })
    .from(uploads)
    .where(
      and(
        mine,
        lt(uploads.createdAt, at),
        sql`(select d.action from decisions d where d.upload_id = ${uploads.id} and d.decided_by not like ${`${TAKEDOWN_PREFIX}%`} order by d.created_at desc, d.id desc limit 1) = 'reject'`,
      ),
    );
  return {
    ageDays: account ? Math.max(0, (at.getTime() - account.createdAt.getTime()) / 86400_000) : 0,
    uploadsLastHour: hour?.n ?? 0,
    uploadsLastDay: day?.n ?? 0,
    recentDurationsS: recent.map((r) => r.durationS).filter((d): d is number => d !== null),
    sameFileUploads: same?.n ?? 0,
    pastRejections: rejected?.n ?? 0,
  };
}
