import type { DecisionReason, StoredRule } from "../db/schema/index.js";
import type { DecisionFacts } from "../policy/input.js";

export const ACTIONS = ["allow", "label", "review", "reject"] as const;
export type Action = (typeof ACTIONS)[number];

/** What the policy decided about an upload, and why. */
export interface Decision {
  action: Action;
  labels: string[];
  reasons: DecisionReason[];
  /** Revision of the policy bundle that decided (content hash); `none` when no bundle is installed. */
  policyRevision: string;
  /** The highest priority among the enforced rules that produced `action` (orders the review queue). */
  priority: number;
  /** Every rule evaluated and the values it read; null when no bundle is installed. */
  trace: { rules: { id: string; mode: string; matched: boolean }[] } | null;
}

/** The policy engine as the orchestrator sees it: stored facts in, a decision with its trace out. */
export interface PolicyEngine {
  /** Revision of the active bundle, `none` without one. */
  readonly revision: string;
  decide(facts: DecisionFacts): Decision;
  /** The active revision's rules as stored with the decisions it makes; null without a bundle. */
  describe(): { revision: string; gitCommit: string | null; rules: StoredRule[] } | null;
  /** The listener-facing labels the active bundle declares (id → the text listeners see); empty without one. */
  labels(): Readonly<Record<string, string>>;
}

/**
 * With policies switched off (`EARMARK_POLICY_DIR=none`) every upload is allowed, and the decision says so
 * plainly rather than pretending a rule matched.
 */
export const noPolicyBundle: PolicyEngine = {
  revision: "none",
  decide: () => ({
    action: "allow",
    labels: [],
    reasons: [
      { ruleId: "no-policy-bundle", message: "No policy bundle is installed, so every upload is allowed." },
    ],
    policyRevision: "none",
    priority: 0,
    trace: null,
  }),
  describe: () => null,
  labels: () => ({}),
};
