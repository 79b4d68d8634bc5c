import { sql } from "drizzle-orm";
import { type Db, rowsOf } from "../db/client.js";
import type { Action } from "../pipeline/decide.js";
import { TAKEDOWN_PREFIX } from "../uploads/remove.js";

export interface RuleHits {
  revision: string;
  revisionCreatedAt: Date | null;
  gitCommit: string | null;
  rules: { ruleId: string; mode: "enforce" | "shadow"; hits: number }[];
}

/** How often each rule matched, per bundle revision (newest revision first), enforced and shadow apart. */
export async function ruleHitsByRevision(db: Db): Promise<RuleHits[]> {
  const rows = rowsOf<{
    revision: string;
    rule_id: string;
    mode: "enforce" | "shadow";
    hits: number;
    created_at: string | Date | null;
    git_commit: string | null;
  }>(
    await db.execute(sql`
      select h.revision, h.rule_id, h.mode, h.hits, r.created_at, r.git_commit
      from policy_rule_hits h left join policy_revisions r on r.revision = h.revision
      order by r.created_at desc nulls last, h.revision, h.hits desc, h.rule_id`),
  );
  const out: RuleHits[] = [];
  for (const r of rows) {
    let rev = out.at(-1);
    if (rev?.revision !== r.revision) {
      rev = {
        revision: r.revision,
        revisionCreatedAt: r.created_at ? new Date(r.created_at) : null,
        gitCommit: r.git_commit,
        rules: [],
      };
      out.push(rev);
    }
    rev.rules.push({ ruleId: r.rule_id, mode: r.mode, hits: Number(r.hits) });
  }
  return out;
}

export interface RecentDecision {
  uploadId: string;
  title: string | null;
  action: Action;
  labels: string[];
  decidedBy: string;
  policyRevision: string;
  matched: string[];
  createdAt: Date;
}

/** The newest decisions, optionally only those in which `rule` matched or of one `revision`. */
export async function recentDecisions(
  db: Db,
  filter: { rule?: string; revision?: string; by?: "policy" | "reviewer" },
  limit: number,
): Promise<RecentDecision[]> {
  const rows = rowsOf<{
    upload_id: string;
    title: string | null;
    action: Action;
    labels: string[];
    decided_by: string;
    policy_revision: string;
    matched: string[] | null;
    created_at: string | Date;
  }>(
    await db.execute(sql`
      select d.upload_id, u.metadata->>'title' as title, d.action, d.labels, d.decided_by, d.policy_revision,
             jsonb_path_query_array(d.trace, '$.rules[*] ? (@.matched == true).id') as matched, d.created_at
      from decisions d join uploads u on u.id = d.upload_id
      where true
        ${filter.revision ? sql`and d.policy_revision = ${filter.revision}` : sql``}
        ${filter.rule ? sql`and (jsonb_path_query_array(d.trace, '$.rules[*] ? (@.matched == true).id') ? ${filter.rule} or d.reasons @> ${JSON.stringify([{ ruleId: filter.rule }])}::jsonb)` : sql``}
        ${filter.by === "policy" ? sql`and d.decided_by = 'policy'` : filter.by === "reviewer" ? sql`and d.decided_by like 'reviewer:%'` : sql``}
      order by d.created_at desc, d.id desc
      limit ${limit}`),
  );
  return rows.map((r) => ({
    uploadId: r.upload_id,
    title: r.title,
    action: r.action,
    labels: r.labels,
    decidedBy: r.decided_by,
    policyRevision: r.policy_revision,
    matched: r.matched ?? [],
    createdAt: new Date(r.created_at),
  }));
}

export interface Override {
  uploadId: string;
  title: string | null;
  policyAction: Action;
  policyRevision: string;
  policyRules: string[];
  reviewerAction: Action;
  reviewerLabels: string[];
  decidedBy: string;
  decidedAt: Date;
}

/**
 * Uploads a person decided after the policy: the policy's latest decision beside the latest decision that is
 * neither the policy's nor a takedown — the same pairing `earmark policy replay` counts agreement on.
 */
export async function reviewerOverrides(db: Db, opts: { since?: Date; limit: number }): Promise<Override[]> {
  const rows = rowsOf<{
    upload_id: string;
    title: string | null;
    policy_action: Action;
    policy_revision: string;
    policy_rules: string[] | null;
    reviewer_action: Action;
    reviewer_labels: string[];
    decided_by: string;
    decided_at: string | Date;
  }>(
    await db.execute(sql`
      select u.id as upload_id, u.metadata->>'title' as title,
             p.action as policy_action, p.policy_revision,
             coalesce((select jsonb_agg(x->>'ruleId') from jsonb_array_elements(p.reasons) x), '[]'::jsonb) as policy_rules,
             r.action as reviewer_action, r.labels as reviewer_labels, r.decided_by, r.created_at as decided_at
      from uploads u
      join lateral (select * from decisions d where d.upload_id = u.id and d.decided_by = 'policy'
                    order by d.created_at desc, d.id desc limit 1) p on true
      join lateral (select * from decisions d where d.upload_id = u.id and d.decided_by <> 'policy'
                      and d.decided_by not like ${`${TAKEDOWN_PREFIX}%`}
                    order by d.created_at desc, d.id desc limit 1) r on true
      where true ${opts.since ? sql`and r.created_at >= ${opts.since.toISOString()}` : sql``}
      order by r.created_at desc, u.id
      limit ${opts.limit}`),
  );
  return rows.map((r) => ({
    uploadId: r.upload_id,
    title: r.title,
    policyAction: r.policy_action,
    policyRevision: r.policy_revision,
    policyRules: r.policy_rules ?? [],
    reviewerAction: r.reviewer_action,
    reviewerLabels: r.reviewer_labels,
    decidedBy: r.decided_by,
    decidedAt: new Date(r.decided_at),
  }));
}
