import { createRoute, z } from "@hono/zod-openapi";
import { eq } from "drizzle-orm";
import { policyRuleHits } from "../../db/schema/index.js";
import { ApiError } from "../../errors.js";
import { ACTIONS } from "../../pipeline/decide.js";
import { BundlePolicyEngine, describeBundle } from "../../policy/engine.js";
import type { App } from "../context.js";
import { problemResponses } from "../problem.js";

const PolicyRuleView = z
  .object({
    id: z.string(),
    description: z.string(),
    when: z.string(),
    action: z.enum(ACTIONS),
    labels: z.array(z.string()),
    reason: z.string(),
    priority: z.number().int(),
    mode: z.enum(["enforce", "shadow"]),
    owner: z.string(),
    file: z.string(),
    hits: z.number().int().describe("Decisions of this revision in which the rule matched."),
  })
  .openapi("PolicyRule");

const ActivePolicy = z
  .object({
    revision: z.string().describe("Content hash of the bundle; stored with every decision."),
    gitCommit: z.string().nullable(),
    enabled: z.boolean().describe("False when policies are switched off (everything is allowed)."),
    rules: z.array(PolicyRuleView),
    labels: z.record(z.string(), z.string()).describe("Label id → the text listeners see."),
    constants: z.record(z.string(), z.unknown()),
  })
  .openapi("ActivePolicy");

export const getPoliciesRoute = createRoute({
  method: "get",
  path: "/v1/policies",
  tags: ["Policies"],
  summary: "The active policy bundle, its rules and how often each matched",
  description:
    "Operators only (`earmark accounts create NAME --operator`): rules and thresholds are not shown to upload clients.",
  security: [{ apiKey: [] }],
  responses: {
    200: { description: "The active bundle.", content: { "application/json": { schema: ActivePolicy } } },
    ...problemResponses(401, 403, 429),
  },
});

export function registerPolicyRoutes(app: App) {
  app.openapi(getPoliciesRoute, async (c) => {
    if (!c.get("account").isOperator)
      throw new ApiError("forbidden", "Only operator accounts may read the policy bundle.");
    const deps = c.get("deps");
    const engine = deps.policy;
    if (!(engine instanceof BundlePolicyEngine))
      return c.json(
        { revision: engine.revision, gitCommit: null, enabled: false, rules: [], labels: {}, constants: {} },
        200,
      );
    const bundle = engine.bundle;
    const hits = await deps.database.db
      .select()
      .from(policyRuleHits)
      .where(eq(policyRuleHits.revision, bundle.revision));
    const hitsOf = new Map(hits.map((h) => [h.ruleId, h.hits]));
    const { revision, gitCommit, rules } = describeBundle(bundle);
    return c.json(
      {
        revision,
        gitCommit,
        enabled: true,
        rules: rules.map((r) => ({ ...r, hits: hitsOf.get(r.id) ?? 0 })),
        labels: bundle.labels,
        constants: Object.fromEntries(bundle.constants.map((k) => [k.name, k.value])),
      },
      200,
    );
  });
}
