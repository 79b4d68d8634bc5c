import { and, asc, gt, gte, inArray, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { decisions, signals, uploads } from "../db/schema/index.js";
import type { Action } from "../pipeline/decide.js";
import { isTakedown } from "../uploads/remove.js";
import type { PolicyBundle } from "./bundle.js";
import { evaluatePolicy } from "./evaluate.js";
import { buildPolicyInput, decisionFacts } from "./input.js";

export interface ReplayReport {
  candidate: { revision: string; gitCommit: string | null; dir: string };
  /** Revisions that decided the replayed uploads, with how many each. */
  previous: Record<string, number>;
  since: string | null;
  /** Uploads with a policy decision that were re-evaluated. */
  replayed: number;
  /** Uploads in the window without a policy decision yet (still processing, or failed). */
  skipped: number;
  unchanged: number;
  flips: { from: Action; to: Action; count: number; samples: string[] }[];
  /** Matches per rule before (stored traces) and after (candidate). */
  rules: { ruleId: string; mode: string; before: number; after: number }[];
  /** Uploads a reviewer decided: how often each policy agrees with the reviewer. */
  reviewers: { decided: number; overrides: number; candidateAgrees: number; currentAgreed: number };
  /** Rules that failed at run time on some input (counted as not matched). */
  errors: { ruleId: string; count: number; sample: { uploadId: string; error: string } }[];
  durationMs: number;
}

interface StoredDecision {
  uploadId: string;
  action: Action;
  decidedBy: string;
  policyRevision: string;
  matchedIds: string[] | null;
  matchedModes: string[] | null;
  createdAt: Date;
  id: string;
}

const BATCH = 1000;

/** The upload columns the policy's facts are built from (the full rows would be read and mapped for nothing). */
export const UPLOAD_FACT_COLUMNS = {
  id: uploads.id,
  accountId: uploads.accountId,
  metadata: uploads.metadata,
  sizeBytes: uploads.sizeBytes,
  probe: uploads.probe,
};

/**
 * Re-evaluates the stored facts of past uploads (their signals, including the account context as it was) with
 * a candidate bundle and says what would change. Reads in batches of 1000 uploads; never writes.
 *
 * @example
 * const report = await replayPolicy(db, await loadPolicyBundle("policies"), { since: new Date(Date.now() - 30 * 864e5) });
 */
export async function replayPolicy(
  db: Db,
  bundle: PolicyBundle,
  opts: { since?: Date | null; limit?: number; samples?: number } = {},
): Promise<ReplayReport> {
  const started = performance.now();
  const samples = opts.samples ?? 5;
  const flips = new Map<string, { from: Action; to: Action; count: number; samples: string[] }>();
  const before = new Map<string, { mode: string; n: number }>();
  const after = new Map<string, { mode: string; n: number }>();
  const errors = new Map<string, { count: number; sample: { uploadId: string; error: string } }>();
  const previous: Record<string, number> = {};
  const reviewers = { decided: 0, overrides: 0, candidateAgrees: 0, currentAgreed: 0 };
  let replayed = 0;
  let skipped = 0;
  let unchanged = 0;
  let cursor = "";
  const limit = opts.limit ?? Number.POSITIVE_INFINITY;

  while (replayed + skipped < limit) {
    const rows = await db
      .select(UPLOAD_FACT_COLUMNS)
      .from(uploads)
      .where(and(gt(uploads.id, cursor), opts.since ? gte(uploads.createdAt, opts.since) : undefined))
      .orderBy(asc(uploads.id))
      .limit(Math.min(BATCH, limit - replayed - skipped));
    if (rows.length === 0) break;
    cursor = rows[rows.length - 1]!.id;
    const ids = rows.map((r) => r.id);
    const sigRows = await db
      .select({ uploadId: signals.uploadId, stage: signals.stage, data: signals.data })
      .from(signals)
      .where(inArray(signals.uploadId, ids));
    const decRows = (await db
      .select({
        uploadId: decisions.uploadId,
        action: decisions.action,
        decidedBy: decisions.decidedBy,
        policyRevision: decisions.policyRevision,
        // The matched rules (and their modes) out of the stored trace, in the database: the traces themselves
        // carry every rule's values and would be most of what is read.
        matchedIds: sql<
          string[] | null
        >`jsonb_path_query_array(${decisions.trace}, '$.rules[*] ? (@.matched == true).id')`,
        matchedModes: sql<
          string[] | null
        >`jsonb_path_query_array(${decisions.trace}, '$.rules[*] ? (@.matched == true).mode')`,
        createdAt: decisions.createdAt,
        id: decisions.id,
      })
      .from(decisions)
      .where(inArray(decisions.uploadId, ids))) as StoredDecision[];
    const sigBy = new Map<string, Record<string, unknown>>();
    for (const s of sigRows) {
      const m = sigBy.get(s.uploadId) ?? {};
      m[s.stage] = s.data;
      sigBy.set(s.uploadId, m);
    }
    const decBy = new Map<string, StoredDecision[]>();
    for (const d of decRows) decBy.set(d.uploadId, [...(decBy.get(d.uploadId) ?? []), d]);

    for (const row of rows) {
      const history = (decBy.get(row.id) ?? []).sort(
        (a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id),
      );
      const policyDecision = history.filter((d) => d.decidedBy === "policy").at(-1);
      if (!policyDecision) {
        skipped++;
        continue;
      }
      replayed++;
      previous[policyDecision.policyRevision] = (previous[policyDecision.policyRevision] ?? 0) + 1;
      const candidate = evaluatePolicy(bundle, buildPolicyInput(decisionFacts(row, sigBy.get(row.id) ?? {})));

      if (candidate.action === policyDecision.action) unchanged++;
      else {
        const key = `${policyDecision.action}→${candidate.action}`;
        const f = flips.get(key) ?? {
          from: policyDecision.action,
          to: candidate.action,
          count: 0,
          samples: [],
        };
        f.count++;
        if (f.samples.length < samples) f.samples.push(row.id);
        flips.set(key, f);
      }
      for (const [k, id] of (policyDecision.matchedIds ?? []).entries()) {
        const b = before.get(id) ?? { mode: policyDecision.matchedModes?.[k] ?? "enforce", n: 0 };
        b.n++;
        before.set(id, b);
      }
      for (const r of candidate.trace.rules) {
        const a = after.get(r.id) ?? { mode: r.mode, n: 0 };
        if (r.matched) a.n++;
        after.set(r.id, a);
        if (r.error) {
          const e = errors.get(r.id) ?? { count: 0, sample: { uploadId: row.id, error: r.error } };
          e.count++;
          errors.set(r.id, e);
        }
      }
      // A takedown (uploads/remove.ts) records a removal, not a judgement of the audio: not a reviewer's.
      const reviewer = history.filter((d) => d.decidedBy !== "policy" && !isTakedown(d.decidedBy)).at(-1);
      if (reviewer) {
        reviewers.decided++;
        if (reviewer.action !== policyDecision.action) reviewers.overrides++;
        if (candidate.action === reviewer.action) reviewers.candidateAgrees++;
        if (policyDecision.action === reviewer.action) reviewers.currentAgreed++;
      }
    }
  }

  const ruleIds = [...new Set([...after.keys(), ...before.keys()])];
  return {
    candidate: { revision: bundle.revision, gitCommit: bundle.gitCommit, dir: bundle.dir },
    previous,
    since: opts.since?.toISOString() ?? null,
    replayed,
    skipped,
    unchanged,
    flips: [...flips.values()].sort((a, b) => b.count - a.count),
    rules: ruleIds
      .map((id) => ({
        ruleId: id,
        mode: after.get(id)?.mode ?? before.get(id)?.mode ?? "enforce",
        before: before.get(id)?.n ?? 0,
        after: after.get(id)?.n ?? 0,
      }))
      .sort(
        (a, b) =>
          Math.abs(b.after - b.before) - Math.abs(a.after - a.before) || a.ruleId.localeCompare(b.ruleId),
      ),
    reviewers,
    errors: [...errors.entries()].map(([ruleId, e]) => ({ ruleId, ...e })),
    durationMs: performance.now() - started,
  };
}

const pct = (n: number, d: number) => (d === 0 ? "–" : `${Math.round((n / d) * 100)} %`);
const num = (n: number) => n.toLocaleString("en-US");

/** The report as Markdown (ready for a pull-request comment), plain text, or JSON. */
export function formatReplay(r: ReplayReport, format: "markdown" | "text" | "json"): string {
  if (format === "json") return JSON.stringify(r, null, 2);
  const md = format === "markdown";
  const prev = Object.entries(r.previous)
    .sort((a, b) => b[1] - a[1])
    .map(([rev, n]) => `${md ? `\`${rev}\`` : rev} (${num(n)})`)
    .join(", ");
  const lines: string[] = [];
  const title = `Policy replay: candidate ${md ? `\`${r.candidate.revision}\`` : r.candidate.revision}${r.candidate.gitCommit ? ` (git ${r.candidate.gitCommit.slice(0, 7)})` : ""}`;
  lines.push(md ? `### ${title}` : title, "");
  lines.push(
    `Replayed ${num(r.replayed)} uploads${r.since ? ` since ${r.since.slice(0, 10)}` : ""} in ${(r.durationMs / 1000).toFixed(1)} s` +
      `${prev ? `, decided before by ${prev}` : ""}.${r.skipped ? ` ${num(r.skipped)} uploads without a policy decision were skipped.` : ""}`,
    "",
  );
  if (r.flips.length === 0) lines.push(`No decision would change (${num(r.unchanged)} unchanged).`, "");
  else {
    lines.push(`${num(r.replayed - r.unchanged)} decisions would change; ${num(r.unchanged)} would not.`, "");
    if (md) {
      lines.push("| change | uploads | examples |", "|---|---:|---|");
      for (const f of r.flips)
        lines.push(
          `| ${f.from} → ${f.to} | ${num(f.count)} | ${f.samples.map((s) => `\`${s}\``).join(", ")} |`,
        );
    } else
      for (const f of r.flips)
        lines.push(`  ${f.from} → ${f.to}: ${num(f.count)}   e.g. ${f.samples.join(", ")}`);
    lines.push("");
  }
  const changed = r.rules.filter((x) => x.before !== x.after);
  if (changed.length > 0) {
    lines.push(md ? "#### Rule matches" : "Rule matches (before → after):", "");
    if (md) {
      lines.push("| rule | mode | before | after | change |", "|---|---|---:|---:|---:|");
      for (const x of changed)
        lines.push(
          `| \`${x.ruleId}\` | ${x.mode} | ${num(x.before)} | ${num(x.after)} | ${x.after - x.before > 0 ? "+" : ""}${num(x.after - x.before)} |`,
        );
    } else
      for (const x of changed) lines.push(`  ${x.ruleId} (${x.mode}): ${num(x.before)} → ${num(x.after)}`);
    lines.push("");
  }
  const rv = r.reviewers;
  lines.push(
    rv.decided === 0
      ? "No replayed upload has a reviewer's decision to compare with."
      : `Reviewers decided ${num(rv.decided)} of these uploads (overriding the policy on ${num(rv.overrides)}): the candidate agrees with them on ${num(rv.candidateAgrees)} (${pct(rv.candidateAgrees, rv.decided)}), the decisions on record on ${num(rv.currentAgreed)} (${pct(rv.currentAgreed, rv.decided)}).`,
  );
  for (const e of r.errors)
    lines.push(
      "",
      `${md ? "**Warning:** " : "Warning: "}rule ${e.ruleId} failed on ${num(e.count)} uploads (e.g. ${e.sample.uploadId}: ${e.sample.error}).`,
    );
  return lines.join("\n");
}
