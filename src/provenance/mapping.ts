import type { ActionDefinition, AssertionDefinition } from "./c2pa/sign.js";
import { DISCLOSURE_ROLES, type Disclosure, disclosureSchema } from "./disclosure.js";

type Role = (typeof DISCLOSURE_ROLES)[number];
type AiLevel = "assisted" | "generated";
type TrainingMining = NonNullable<Disclosure["trainingMining"]>;

const IPTC = "http://cv.iptc.org/newscodes/digitalsourcetype/";

/**
 * The one table between the creator's disclosure, C2PA, and what listeners see. Label ids are the ones
 * declared in policies/labels.yaml (a test keeps the two in step); the texts are what listeners read.
 */
export const DISCLOSURE_TABLE = {
  /** Per role and level of AI involvement: the listener-facing label. */
  roles: {
    voice: {
      generated: { label: "ai-generated-voice", text: "AI-generated voice" },
      assisted: { label: "ai-assisted-voice", text: "AI-assisted voice" },
    },
    lyrics: {
      generated: { label: "ai-generated-lyrics", text: "AI-generated lyrics or script" },
      assisted: { label: "ai-assisted-lyrics", text: "AI-assisted lyrics or script" },
    },
    composition: {
      generated: { label: "ai-generated-composition", text: "AI-generated composition" },
      assisted: { label: "ai-assisted-composition", text: "AI-assisted composition" },
    },
    instrumentation: {
      generated: { label: "ai-generated-instrumentation", text: "AI-generated instrumentation" },
      assisted: { label: "ai-assisted-instrumentation", text: "AI-assisted instrumentation" },
    },
    production: {
      generated: { label: "ai-generated-production", text: "AI-generated production" },
      assisted: { label: "ai-assisted-production", text: "AI-assisted production" },
    },
  },
  /**
   * The work as a whole, in the IPTC digital-source-type vocabulary C2PA uses: generated end to end (every
   * stated role generated) or made with AI for parts (any other AI involvement). No AI stated gives no source
   * type: Earmark cannot know whether the audio was recorded or made with other tools, and claims neither.
   */
  work: {
    generated: {
      digitalSourceType: `${IPTC}trainedAlgorithmicMedia`,
      label: "ai-generated",
      text: "AI-generated",
    },
    partly: {
      digitalSourceType: `${IPTC}compositeWithTrainedAlgorithmicMedia`,
      label: "ai-assisted",
      text: "Made with AI assistance",
    },
  },
  voiceClone: { label: "voice-clone", text: "Cloned voice" },
  /** The creator's training/data-mining preference, applied to every entry of `c2pa.training-mining`. */
  trainingMining: {
    entries: ["c2pa.ai_generative_training", "c2pa.ai_inference", "c2pa.ai_training", "c2pa.data_mining"],
    uses: { allowed: "allowed", notAllowed: "notAllowed", constrained: "constrained" },
    constraintInfo: "Use is subject to the rights holder's terms; ask them.",
  },
} as const satisfies {
  roles: Record<Role, Record<AiLevel, { label: string; text: string }>>;
  work: Record<"generated" | "partly", { digitalSourceType: string; label: string; text: string }>;
  voiceClone: { label: string; text: string };
  trainingMining: {
    entries: readonly string[];
    uses: Record<TrainingMining, string>;
    constraintInfo: string;
  };
};

/** The label of Earmark's custom assertion carrying the disclosure exactly as the creator sent it. */
export const DISCLOSURE_ASSERTION = "org.earmark.disclosure";

export type AiUse = "generated" | "partly" | "none" | "unstated";

/** How much of the work AI made, by the roles the creator stated. */
export function aiUseOf(disclosure: Disclosure | undefined): AiUse {
  const stated = DISCLOSURE_ROLES.flatMap((r) => {
    const v = disclosure?.roles?.[r];
    return v ? [v] : [];
  });
  if (stated.length === 0) return "unstated";
  if (stated.every((v) => v === "generated")) return "generated";
  if (stated.some((v) => v !== "none")) return "partly";
  return "none";
}

export interface ListenerLabel {
  label: string;
  text: string;
}

/** The listener-facing labels a disclosure calls for: one per AI role, and the cloned voice. */
export function disclosureLabels(disclosure: Disclosure | undefined): ListenerLabel[] {
  const out: ListenerLabel[] = [];
  for (const role of DISCLOSURE_ROLES) {
    const level = disclosure?.roles?.[role];
    if (level === "assisted" || level === "generated") out.push({ ...DISCLOSURE_TABLE.roles[role][level] });
  }
  if (disclosure?.voiceClone?.isClone) out.push({ ...DISCLOSURE_TABLE.voiceClone });
  return out;
}

/**
 * The disclosure in C2PA terms: a `c2pa.actions` assertion whose `c2pa.created` action names the IPTC
 * digital source type (when AI was used) and the tools as `softwareAgents`; a `c2pa.training-mining`
 * assertion when the creator stated a preference; and the disclosure itself as `org.earmark.disclosure`, so
 * the per-role detail C2PA has no words for survives.
 *
 * @example
 * disclosureToAssertions({ roles: { voice: "generated" }, tools: [{ name: "SomeTTS", version: "2" }] });
 */
export function disclosureToAssertions(disclosure: Disclosure | undefined): AssertionDefinition[] {
  const use = aiUseOf(disclosure);
  const tools = disclosure?.tools ?? [];
  const created: ActionDefinition = { action: "c2pa.created" };
  if (use === "generated" || use === "partly") {
    created.digitalSourceType = DISCLOSURE_TABLE.work[use].digitalSourceType;
  }
  // softwareAgentIndex can name one agent per action; with several tools the list is the statement.
  if (tools.length === 1) created.softwareAgentIndex = 0;
  const actions: Record<string, unknown> = { actions: [created] };
  if (tools.length > 0) {
    actions.softwareAgents = tools.map((t) =>
      t.version ? { name: t.name, version: t.version } : { name: t.name },
    );
  }
  const assertions: AssertionDefinition[] = [{ label: "c2pa.actions", data: actions }];
  const pref = disclosure?.trainingMining;
  if (pref) {
    const { entries, uses, constraintInfo } = DISCLOSURE_TABLE.trainingMining;
    const entry =
      pref === "constrained" ? { use: uses[pref], constraint_info: constraintInfo } : { use: uses[pref] };
    assertions.push({
      label: "c2pa.training-mining",
      data: { entries: Object.fromEntries(entries.map((e) => [e, entry])) },
    });
  }
  if (disclosure) assertions.push({ label: DISCLOSURE_ASSERTION, data: disclosure });
  return assertions;
}

/** An active manifest as c2pa-rs's reader reports it (the parts read here). */
export interface ManifestView {
  assertions?: { label: string; data?: unknown }[];
}

export interface ManifestDisclosure {
  /** What the digital source types say about the work as a whole. */
  aiUse: "generated" | "partly" | "not-stated";
  /** The creator's disclosure, when the manifest carries Earmark's assertion and it is well-formed. */
  disclosure: Disclosure | null;
  tools: { name: string; version?: string }[];
  trainingMining: TrainingMining | "mixed" | null;
  /** Labels to show: per role from the disclosure when there is one, else from the source type alone. */
  labels: ListenerLabel[];
}

interface ActionsData {
  actions?: {
    action?: string;
    digitalSourceType?: string;
    softwareAgent?: { name?: string; version?: string };
  }[];
  softwareAgents?: { name?: string; version?: string }[];
}

/**
 * What a manifest discloses, the other way round: from the actions' digital source types, the software
 * agents, the training-mining entries and, when present, Earmark's own disclosure assertion.
 */
export function manifestToDisclosure(manifest: ManifestView): ManifestDisclosure {
  const assertions = manifest.assertions ?? [];
  const actionsData = assertions
    .filter((a) => /^c2pa\.actions(\.v\d+)?(__\d+)?$/.test(a.label))
    .map((a) => (a.data ?? {}) as ActionsData);
  const sourceTypes = new Set(
    actionsData.flatMap((d) =>
      (d.actions ?? []).flatMap((a) => (a.digitalSourceType ? [a.digitalSourceType] : [])),
    ),
  );
  const { work } = DISCLOSURE_TABLE;
  const aiUse = sourceTypes.has(work.generated.digitalSourceType)
    ? "generated"
    : sourceTypes.has(work.partly.digitalSourceType)
      ? "partly"
      : "not-stated";
  const agents = actionsData.flatMap((d) => [
    ...(d.softwareAgents ?? []),
    ...(d.actions ?? []).flatMap((a) => (a.softwareAgent ? [a.softwareAgent] : [])),
  ]);
  const tools = agents.flatMap((a) =>
    a.name ? [a.version ? { name: a.name, version: a.version } : { name: a.name }] : [],
  );
  const tm = assertions.find((a) => a.label === "c2pa.training-mining" || a.label === "cawg.training-mining");
  const uses = new Set(
    Object.values((tm?.data as { entries?: Record<string, { use?: string }> })?.entries ?? {}).map(
      (e) => e.use,
    ),
  );
  const known = Object.keys(DISCLOSURE_TABLE.trainingMining.uses) as TrainingMining[];
  const trainingMining =
    uses.size === 0
      ? null
      : uses.size === 1 && known.includes([...uses][0] as TrainingMining)
        ? ([...uses][0] as TrainingMining)
        : "mixed";
  const raw = assertions.find((a) => a.label === DISCLOSURE_ASSERTION)?.data;
  const parsed = raw === undefined ? null : disclosureSchema.safeParse(raw);
  const disclosure = parsed?.success ? parsed.data : null;
  const labels = disclosure
    ? disclosureLabels(disclosure)
    : aiUse === "not-stated"
      ? []
      : [{ label: work[aiUse].label, text: work[aiUse].text }];
  return { aiUse, disclosure, tools, trainingMining, labels };
}
