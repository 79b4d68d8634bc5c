import { eq, inArray } from "drizzle-orm";
import { stringify } from "yaml";
import type { Db } from "../db/client.js";
import { signals, uploads } from "../db/schema/index.js";
import type { Action } from "../pipeline/decide.js";
import { reviewerOverrides } from "../review/decisions.js";
import { buildPolicyInput, decisionFacts, type PolicyInput } from "./input.js";
import { UPLOAD_FACT_COLUMNS } from "./replay.js";

export interface OverrideCase {
  name: string;
  input: PolicyInput;
  expect: { action: Action; labels?: string[] };
}

/**
 * Every upload a reviewer decided differently from the policy, as a policy test case: the stored facts as the
 * policy saw them (signals and account context included) and the reviewer's decision as the expectation.
 * Against the bundle that was overridden such a case fails — which is the point: the next policy pull request
 * makes it pass, or says why not.
 *
 * @example
 * const cases = await overrideCases(db, { since: new Date(Date.now() - 30 * 864e5) });
 * await writeFile("policies/overrides.yaml", formatCases(cases));
 */
export async function overrideCases(
  db: Db,
  opts: { since?: Date; limit?: number } = {},
): Promise<OverrideCase[]> {
  const overrides = (await reviewerOverrides(db, { since: opts.since, limit: opts.limit ?? 1000 })).filter(
    (o) => o.policyAction !== o.reviewerAction,
  );
  if (overrides.length === 0) return [];
  const ids = overrides.map((o) => o.uploadId);
  const rows = await db.select(UPLOAD_FACT_COLUMNS).from(uploads).where(inArray(uploads.id, ids));
  const cases: OverrideCase[] = [];
  for (const o of overrides) {
    const row = rows.find((r) => r.id === o.uploadId);
    if (!row) continue;
    const stored = await db
      .select({ stage: signals.stage, data: signals.data })
      .from(signals)
      .where(eq(signals.uploadId, o.uploadId));
    const input = buildPolicyInput(
      decisionFacts(row, Object.fromEntries(stored.map((s) => [s.stage, s.data]))),
    );
    cases.push({
      name: `${o.decidedBy} decided ${o.reviewerAction} where policy ${o.policyRevision} decided ${o.policyAction} (${o.uploadId}${o.title ? `, "${o.title}"` : ""})`,
      input,
      expect: {
        action: o.reviewerAction,
        ...(o.reviewerAction === "label" ? { labels: o.reviewerLabels } : {}),
      },
    });
  }
  return cases;
}

/** The cases as a bundle file (`tests:` only), ready to drop into a policy directory. */
export function formatCases(cases: OverrideCase[], generatedAt = new Date()): string {
  return `# Reviewer overrides as policy test cases: \`earmark policy cases --from-overrides\`, ${generatedAt.toISOString()}.\n${stringify({ tests: cases })}`;
}
