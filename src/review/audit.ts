import { and, desc, eq, gte, lt, type SQL } from "drizzle-orm";
import type { Db, Tx } from "../db/client.js";
import { type AuditAction, type AuditRow, reviewAudit } from "../db/schema/index.js";
import { newId } from "../ids.js";

export interface AuditEntry {
  actor: string;
  reviewerId?: string | null;
  action: AuditAction;
  uploadId?: string | null;
  reason?: string | null;
  note?: string | null;
  fromState?: string | null;
  toState?: string | null;
  details?: Record<string, unknown> | null;
}

/** Appends one entry. Call it with the transaction of the action it records, so both commit or neither. */
export async function appendAudit(tx: Db | Tx, entry: AuditEntry): Promise<void> {
  await tx.insert(reviewAudit).values({
    id: newId("aud"),
    actor: entry.actor,
    reviewerId: entry.reviewerId ?? null,
    action: entry.action,
    uploadId: entry.uploadId ?? null,
    reason: entry.reason ?? null,
    note: entry.note ?? null,
    fromState: entry.fromState ?? null,
    toState: entry.toState ?? null,
    details: entry.details ?? null,
  });
}

export interface AuditFilter {
  actor?: string;
  action?: AuditAction;
  uploadId?: string;
  since?: Date;
  until?: Date;
}

/** Entries newest first, filtered. */
export async function listAudit(db: Db, filter: AuditFilter, limit: number): Promise<AuditRow[]> {
  const where: SQL[] = [];
  if (filter.actor) where.push(eq(reviewAudit.actor, filter.actor.toLowerCase()));
  if (filter.action) where.push(eq(reviewAudit.action, filter.action));
  if (filter.uploadId) where.push(eq(reviewAudit.uploadId, filter.uploadId));
  if (filter.since) where.push(gte(reviewAudit.at, filter.since));
  if (filter.until) where.push(lt(reviewAudit.at, filter.until));
  return db
    .select()
    .from(reviewAudit)
    .where(and(...where))
    .orderBy(desc(reviewAudit.at), desc(reviewAudit.id))
    .limit(limit);
}

const CSV_COLUMNS = [
  "at",
  "actor",
  "action",
  "uploadId",
  "reason",
  "note",
  "fromState",
  "toState",
  "details",
] as const;

/** RFC 4180 CSV; cells that a spreadsheet would run as a formula are prefixed with a quote. */
export function auditCsv(rows: AuditRow[]): string {
  const cell = (v: unknown): string => {
    let s = v === null || v === undefined ? "" : v instanceof Date ? v.toISOString() : String(v);
    if (typeof v === "object" && v !== null && !(v instanceof Date)) s = JSON.stringify(v);
    if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of rows) lines.push(CSV_COLUMNS.map((c) => cell(r[c])).join(","));
  return `${lines.join("\r\n")}\r\n`;
}
