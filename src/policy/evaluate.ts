import type { Action, Decision } from "../pipeline/decide.js";
import { type Mode, type PolicyBundle, SEVERITY } from "./bundle.js";
import { celActivation } from "./cel-schema.js";
import type { PolicyInput } from "./input.js";

/**
 * One rule's evaluation, as stored with every decision. The rule's definition (condition, action, priority)
 * is stored once per revision in `policy_revisions`, not repeated in every trace.
 */
export interface RuleTrace {
  id: string;
  mode: Mode;
  matched: boolean;
  /** Set when the expression failed at run time (the rule then counts as not matched). */
  error?: string;
  /** The input fields and constants the expression read, with their values. */
  values: Record<string, unknown>;
}

export interface PolicyTrace {
  revision: string;
  gitCommit: string | null;
  rules: RuleTrace[];
}

export interface PolicyDecision extends Decision {
  trace: PolicyTrace;
}

const MAX_LIST_IN_TRACE = 10;

function valueAt(input: PolicyInput, path: string): unknown {
  let v: unknown = input;
  for (const k of path.split("."))
    v = v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined;
  if (Array.isArray(v) && v.length > MAX_LIST_IN_TRACE)
    return { count: v.length, first: v.slice(0, MAX_LIST_IN_TRACE) };
  return v === undefined ? null : v;
}

/**
 * Evaluates every rule of the bundle on one input. The most severe *enforced* match decides the action
 * (reject > review > label > allow); labels are the union of the enforced matches' labels; shadow rules are
 * evaluated and traced but change nothing. Pure: same bundle and input, same decision.
 *
 * @example
 * const decision = evaluatePolicy(bundle, buildPolicyInput(facts));
 * decision.action // "review"
 */
export function evaluatePolicy(bundle: PolicyBundle, input: PolicyInput): PolicyDecision {
  const activation = celActivation(input);
  const constants = new Map(bundle.constants.map((c) => [c.name, c.value]));
  const traces: RuleTrace[] = [];
  let action: Action = "allow";
  const labels = new Set<string>();
  const matched: { id: string; reason: string; action: Action; priority: number }[] = [];
  for (const rule of bundle.rules) {
    let ok = false;
    let error: string | undefined;
    try {
      ok = rule.evaluate(activation) === true;
    } catch (err) {
      error = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    }
    const values: Record<string, unknown> = {};
    for (const p of rule.facts.reads) values[p] = valueAt(input, p);
    for (const c of rule.facts.constants) values[c] = constants.get(c) ?? null;
    traces.push({
      id: rule.id,
      mode: rule.mode,
      matched: ok,
      ...(error ? { error } : {}),
      values,
    });
    if (!ok || rule.mode !== "enforce") continue;
    if (SEVERITY[rule.action] > SEVERITY[action]) action = rule.action;
    for (const l of rule.labels) labels.add(l);
    matched.push({ id: rule.id, reason: rule.reason, action: rule.action, priority: rule.priority });
  }
  matched.sort((a, b) => SEVERITY[b.action] - SEVERITY[a.action] || b.priority - a.priority);
  return {
    action,
    priority: Math.max(0, ...matched.filter((m) => m.action === action).map((m) => m.priority)),
    labels: [...labels].sort(),
    reasons: matched.map((m) => ({ ruleId: m.id, message: m.reason })),
    policyRevision: bundle.revision,
    trace: { revision: bundle.revision, gitCommit: bundle.gitCommit, rules: traces },
  };
}
