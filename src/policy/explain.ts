import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { decisions, policyRevisions, type StoredRule, uploads } from "../db/schema/index.js";
import type { PolicyTrace, RuleTrace } from "./evaluate.js";

const show = (v: unknown): string => {
  if (v === null || v === undefined) return "absent";
  if (typeof v === "string") return JSON.stringify(v);
  if (Array.isArray(v)) return v.length === 0 ? "[] (empty)" : JSON.stringify(v);
  if (typeof v === "object" && "count" in (v as object)) {
    const o = v as { count: number; first: unknown[] };
    return `${o.count} items, first ${JSON.stringify(o.first)}`;
  }
  return typeof v === "object" ? JSON.stringify(v) : String(v);
};

function ruleLines(r: RuleTrace, def: StoredRule | undefined, indent: string): string[] {
  const values = Object.entries(r.values).map(([k, v]) => `${k} = ${show(v)}`);
  return [
    `${indent}${r.id} (${r.mode}${def ? `, ${def.action}, priority ${def.priority}` : ""})`,
    ...(def ? [`${indent}  when: ${def.when.replace(/\s+/g, " ")}`] : []),
    ...(values.length ? [`${indent}  read: ${values.join("; ")}`] : []),
    ...(r.error ? [`${indent}  failed: ${r.error}`] : []),
  ];
}

/**
 * `earmark policy explain`: every decision taken on an upload, and for the policy's, which rules matched with
 * the values they read, in words. Works from the stored trace, so it explains decisions made by a bundle
 * revision that is no longer active.
 */
export async function explainUpload(db: Db, uploadId: string): Promise<string | null> {
  const [upload] = await db.select().from(uploads).where(eq(uploads.id, uploadId));
  if (!upload) return null;
  const history = await db
    .select()
    .from(decisions)
    .where(eq(decisions.uploadId, uploadId))
    .orderBy(asc(decisions.createdAt), asc(decisions.id));
  const title = upload.metadata.title ? ` "${upload.metadata.title}"` : "";
  const lines = [
    `Upload ${upload.id}${title} (${upload.metadata.kind}, ${upload.probe.format}) — status ${upload.status}`,
  ];
  if (history.length === 0) {
    lines.push(
      upload.failure
        ? `No decision: it failed (${upload.failure.code}: ${upload.failure.detail}).`
        : "No decision yet.",
    );
    return lines.join("\n");
  }
  for (const d of history) {
    lines.push("");
    const by = d.decidedBy === "policy" ? `the policy, revision ${d.policyRevision}` : d.decidedBy;
    lines.push(
      `${d.createdAt.toISOString()}  ${d.action.toUpperCase()} by ${by}${d.labels.length ? `, labels: ${d.labels.join(", ")}` : ""}`,
    );
    for (const r of d.reasons) lines.push(`  because (${r.ruleId}): ${r.message}`);
    const trace = d.trace as PolicyTrace | null;
    if (!trace) continue;
    const [rev] = await db
      .select()
      .from(policyRevisions)
      .where(eq(policyRevisions.revision, d.policyRevision));
    const defs = new Map((rev?.rules ?? []).map((r) => [r.id, r]));
    if (!rev)
      lines.push(`  (the rules of revision ${d.policyRevision} are not on record; showing the trace only)`);
    const enforced = trace.rules.filter((r) => r.matched && r.mode === "enforce");
    const shadow = trace.rules.filter((r) => r.matched && r.mode === "shadow");
    const failed = trace.rules.filter((r) => r.error);
    const missed = trace.rules.filter((r) => !r.matched && !r.error);
    lines.push(
      enforced.length ? "  Rules that matched:" : "  No enforced rule matched, so the upload is allowed.",
    );
    for (const r of enforced) lines.push(...ruleLines(r, defs.get(r.id), "    "));
    if (shadow.length) {
      lines.push("  Shadow rules that matched (traced, not enforced):");
      for (const r of shadow) lines.push(...ruleLines(r, defs.get(r.id), "    "));
    }
    if (failed.length) {
      lines.push("  Rules that failed to evaluate (counted as not matched):");
      for (const r of failed) lines.push(...ruleLines(r, defs.get(r.id), "    "));
    }
    lines.push(`  Rules that did not match (${missed.length}): ${missed.map((r) => r.id).join(", ")}`);
  }
  return lines.join("\n");
}
