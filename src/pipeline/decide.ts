import type { DecisionReason } from "../db/schema/index.js";
import type { Signals } from "./signals.js";
import type { UploadFacts } from "./stage.js";

export const ACTIONS = ["allow", "label", "review", "reject"] as const;
export type Action = (typeof ACTIONS)[number];

/** What the policy decided about an upload, and why. */
export interface Decision {
  action: Action;
  labels: string[];
  reasons: DecisionReason[];
  /** Revision of the policy bundle that decided (content hash); `none` when no bundle is installed. */
  policyRevision: string;
  /** Every rule evaluated and the values it read; null when no bundle is installed. */
  trace: unknown;
}

export interface DecisionInput {
  upload: UploadFacts;
  signals: Partial<Signals>;
}

/** The policy engine as the orchestrator sees it. The policy-as-code capability provides the real one. */
export interface PolicyEngine {
  decide(input: DecisionInput): Decision | Promise<Decision>;
}

/**
 * Until a policy bundle is installed every upload is allowed, and the decision says so plainly rather than
 * pretending a rule matched.
 */
export const noPolicyBundle: PolicyEngine = {
  decide: () => ({
    action: "allow",
    labels: [],
    reasons: [
      { ruleId: "no-policy-bundle", message: "No policy bundle is installed, so every upload is allowed." },
    ],
    policyRevision: "none",
    trace: null,
  }),
};
