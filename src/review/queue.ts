import { and, asc, desc, eq, isNotNull, isNull, sql } from "drizzle-orm";
import { alias } from "drizzle-orm/pg-core";
import type { Db } from "../db/client.js";
import { accounts, type DecisionReason, reviewers, reviewTasks, uploads } from "../db/schema/index.js";

export const AGE_FILTERS = { "1h": 3600, "4h": 4 * 3600 } as const;

export interface QueueFilter {
  /** `reviewers`: the open queue; `escalated`: items sent to the admins. */
  view: "reviewers" | "escalated";
  rule?: string;
  label?: string;
  kind?: string;
  /** `1h` / `4h`: older than that; `overdue`: older than the SLA. */
  age?: "1h" | "4h" | "overdue";
}

export interface QueueItem {
  uploadId: string;
  title: string;
  artist: string | null;
  kind: string;
  accountName: string;
  /** Rejections the account had when this was uploaded. */
  pastRejections: number;
  priority: number;
  heldAt: Date;
  ageS: number;
  overdue: boolean;
  rules: DecisionReason[];
  labels: string[];
  claimedBy: string | null;
  claimExpiresAt: Date | null;
}

/** The most open tasks one page loads; the counts say how many there are in all. */
export const QUEUE_LIMIT = 500;

/**
 * Open review tasks, most urgent first: highest rule priority; within it, overdue items, then accounts with
 * past rejections, then the oldest. Filters narrow the list; the
 * counts (by rule, label, kind, overdue) are over the whole view so a reviewer sees what the filters hide.
 */
export async function loadQueue(db: Db, filter: QueueFilter, slaS: number) {
  const claimer = alias(reviewers, "claimer");
  const pastRejections = sql<number>`coalesce((select (s.data->>'pastRejections')::int from signals s
    where s.upload_id = ${reviewTasks.uploadId} and s.stage = 'account'), 0)`;
  const rows = await db
    .select({
      uploadId: reviewTasks.uploadId,
      priority: reviewTasks.priority,
      heldAt: reviewTasks.createdAt,
      ageS: sql<number>`extract(epoch from now() - ${reviewTasks.createdAt})::float8`,
      claimedBy: sql<
        string | null
      >`case when ${reviewTasks.claimExpiresAt} > now() then ${claimer.email} end`,
      claimExpiresAt: reviewTasks.claimExpiresAt,
      metadata: uploads.metadata,
      accountName: accounts.name,
      pastRejections,
      policy: sql<{ reasons: DecisionReason[]; labels: string[] } | null>`(
        select json_build_object('reasons', d.reasons, 'labels', d.labels) from decisions d
        where d.upload_id = ${reviewTasks.uploadId} and d.decided_by = 'policy'
        order by d.created_at desc, d.id desc limit 1)`,
    })
    .from(reviewTasks)
    .innerJoin(uploads, eq(uploads.id, reviewTasks.uploadId))
    .innerJoin(accounts, eq(accounts.id, uploads.accountId))
    .leftJoin(claimer, eq(claimer.id, reviewTasks.claimedBy))
    .where(
      and(
        eq(reviewTasks.status, "open"),
        filter.view === "escalated" ? isNotNull(reviewTasks.escalatedAt) : isNull(reviewTasks.escalatedAt),
      ),
    )
    // Rule priority first; within it, items past the SLA, then accounts with rejections behind them (the account
    // signal as it was at upload time), then the oldest.
    .orderBy(
      desc(reviewTasks.priority),
      desc(sql`${reviewTasks.createdAt} < now() - make_interval(secs => ${slaS})`),
      desc(pastRejections),
      asc(reviewTasks.createdAt),
      asc(reviewTasks.uploadId),
    )
    .limit(QUEUE_LIMIT);
  const all: QueueItem[] = rows.map((r) => ({
    uploadId: r.uploadId,
    title: r.metadata.title ?? `Untitled (${r.uploadId})`,
    artist: r.metadata.artist ?? null,
    kind: r.metadata.kind,
    accountName: r.accountName,
    pastRejections: Number(r.pastRejections),
    priority: r.priority,
    heldAt: new Date(r.heldAt),
    ageS: Number(r.ageS),
    overdue: Number(r.ageS) > slaS,
    rules: r.policy?.reasons ?? [],
    labels: r.policy?.labels ?? [],
    claimedBy: r.claimedBy,
    claimExpiresAt: r.claimExpiresAt ? new Date(r.claimExpiresAt) : null,
  }));
  const tally = (keys: (i: QueueItem) => string[]) => {
    const m = new Map<string, number>();
    for (const i of all) for (const k of new Set(keys(i))) m.set(k, (m.get(k) ?? 0) + 1);
    return [...m.entries()].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  };
  const items = all.filter(
    (i) =>
      (!filter.rule || i.rules.some((r) => r.ruleId === filter.rule)) &&
      (!filter.label || i.labels.includes(filter.label)) &&
      (!filter.kind || i.kind === filter.kind) &&
      (!filter.age || (filter.age === "overdue" ? i.overdue : i.ageS > AGE_FILTERS[filter.age])),
  );
  const [total] = await db
    .select({
      open: sql<number>`count(*)::int`,
      escalated: sql<number>`count(${reviewTasks.escalatedAt})::int`,
    })
    .from(reviewTasks)
    .where(eq(reviewTasks.status, "open"));
  return {
    items,
    counts: {
      inView: all.length,
      shown: items.length,
      overdue: all.filter((i) => i.overdue).length,
      open: Number(total?.open ?? 0),
      escalated: Number(total?.escalated ?? 0),
      byRule: tally((i) => i.rules.map((r) => r.ruleId)),
      byLabel: tally((i) => i.labels),
      byKind: tally((i) => [i.kind]),
    },
  };
}

/** "3 h 12 min", "45 min", "20 s". */
export function formatAge(s: number): string {
  if (s < 60) return `${Math.floor(s)} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 2 * 86400 && s % 3600 === 0) return `${s / 3600} h`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
}
