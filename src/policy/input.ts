import type { UploadRow } from "../db/schema/index.js";
import {
  accountSignalSchema,
  classifierSignalSchema,
  fingerprintSignalSchema,
  provenanceSignalSchema,
  statsSignalSchema,
  watermarkSignalSchema,
} from "../pipeline/signals.js";
import { DISCLOSURE_ROLES } from "../provenance/disclosure.js";
import { UPLOAD_KINDS, type UploadMetadata } from "../uploads/metadata.js";
import { z } from "../zod.js";

const roleValue = z.enum(["none", "assisted", "generated", "notStated"]);

/**
 * Everything a policy rule can read, as one typed object. Built from the pipeline's own signal schemas, so a
 * rule that names a field the pipeline does not produce fails `earmark policy check`. Conventions:
 * - every group is always present; groups whose stage has not run (or does not exist yet) have
 *   `available: false` and empty lists, `false` and `""` for their other fields;
 * - a number that can be unknown (e.g. loudness of digital silence) is absent when unknown: test it with
 *   `has(stats.integratedLoudnessLufs)`;
 * - integers are CEL `int`, other numbers `double`; CEL compares them with each other freely.
 */
export const policyInputSchema = z.object({
  upload: z.object({
    id: z.string(),
    kind: z.enum(UPLOAD_KINDS),
    format: z.string(),
    durationS: z.number().describe("Decoded duration (declared duration before decoding)."),
    sizeBytes: z.number().int(),
    sampleRate: z.number().int(),
    channels: z.number().int(),
    title: z.string().describe('"" when none was given.'),
    artist: z.string().describe('"" when none was given.'),
  }),
  account: accountSignalSchema.extend({ id: z.string(), available: z.boolean() }),
  disclosure: z.object({
    stated: z.boolean().describe("Whether the creator sent a disclosure at all."),
    roles: z.object(
      Object.fromEntries(DISCLOSURE_ROLES.map((r) => [r, roleValue])) as Record<
        (typeof DISCLOSURE_ROLES)[number],
        typeof roleValue
      >,
    ),
    tools: z.array(z.string()),
    voiceClone: z.object({ isClone: z.boolean(), of: z.string(), consentRef: z.string() }),
    trainingMining: z.enum(["allowed", "notAllowed", "constrained", "notStated"]),
  }),
  stats: statsSignalSchema.extend({ available: z.boolean() }),
  fingerprint: fingerprintSignalSchema.extend({ available: z.boolean() }),
  classifier: classifierSignalSchema.extend({ available: z.boolean() }),
  c2pa: z.object({
    available: z.boolean(),
    present: z.boolean(),
    state: z.string().describe('"trusted", "valid", "invalid", or "" without a manifest.'),
    statusCodes: z.array(z.string()),
    claimGenerator: z.string(),
    problem: z
      .string()
      .describe(
        'Why the manifest could not be checked: "unsupported-format", "unreadable", "too-large", or "".',
      ),
    signer: z.string(),
    digitalSourceTypes: z.array(z.string()),
    actions: z.array(z.string()),
  }),
  watermark: watermarkSignalSchema
    .omit({ payload: true, linkedUploadId: true, linkedAccountId: true })
    .extend({
      available: z.boolean(),
      payload: z.string(),
      linkedUploadId: z.string(),
      linkedAccountId: z.string(),
    }),
});

export type PolicyInput = z.infer<typeof policyInputSchema>;

/** The stored facts a decision is made from: what the orchestrator has, and what replay reads back. */
export interface DecisionFacts {
  upload: {
    id: string;
    accountId: string;
    metadata: UploadMetadata;
    sizeBytes: number;
    format: string;
    sampleRate: number;
    channels: number;
    declaredDurationS: number | null;
  };
  /** Stored signals by name; each is validated against its schema before use. */
  signals: Record<string, unknown>;
}

/** The facts of a stored upload: what the orchestrator decides on, and what replay rebuilds. */
export function decisionFacts(
  row: Pick<UploadRow, "id" | "accountId" | "metadata" | "sizeBytes" | "probe">,
  signals: Record<string, unknown>,
): DecisionFacts {
  return {
    upload: {
      id: row.id,
      accountId: row.accountId,
      metadata: row.metadata,
      sizeBytes: row.sizeBytes,
      format: row.probe.format,
      sampleRate: row.probe.sampleRate,
      channels: row.probe.channels,
      declaredDurationS: row.probe.durationS,
    },
    signals,
  };
}

/** The part of the decode signal the input uses; built once (zod compiles a schema on first use). */
const decodeFactsSchema = z.object({ durationS: z.number(), sampleRate: z.number(), channels: z.number() });

const NO_STATS = {
  durationS: 0,
  integratedLoudnessLufs: null,
  loudnessRangeLu: null,
  samplePeakDbfs: null,
  truePeakDbtp: null,
  silenceRatio: 0,
  leadingSilenceS: 0,
  trailingSilenceS: 0,
  clippingRatio: 0,
  spectralFlatness: null,
};

function parsed<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> | null {
  if (value === undefined || value === null) return null;
  const r = schema.safeParse(value);
  return r.success ? r.data : null;
}

/**
 * Assembles the policy input from stored facts. Deterministic: the same facts always give the same input,
 * which is what makes replay and `policy explain` trustworthy.
 */
export function buildPolicyInput(facts: DecisionFacts): PolicyInput {
  const { upload, signals } = facts;
  const meta = upload.metadata;
  const decode = parsed(decodeFactsSchema, signals.decode);
  const stats = parsed(statsSignalSchema, signals.stats);
  const account = parsed(accountSignalSchema, signals.account);
  const fingerprint = parsed(fingerprintSignalSchema, signals.fingerprint);
  const classifier = parsed(classifierSignalSchema, signals.classifier);
  const provenance = parsed(provenanceSignalSchema, signals.provenance);
  const watermark = parsed(watermarkSignalSchema, signals.watermark);
  const d = meta.disclosure;
  return {
    upload: {
      id: upload.id,
      kind: meta.kind,
      format: upload.format,
      durationS: decode?.durationS ?? upload.declaredDurationS ?? 0,
      sizeBytes: upload.sizeBytes,
      sampleRate: Math.round(decode?.sampleRate ?? upload.sampleRate),
      channels: Math.round(decode?.channels ?? upload.channels),
      title: meta.title ?? "",
      artist: meta.artist ?? "",
    },
    account: {
      id: upload.accountId,
      available: account !== null,
      ageDays: account?.ageDays ?? 0,
      uploadsLastHour: account?.uploadsLastHour ?? 0,
      uploadsLastDay: account?.uploadsLastDay ?? 0,
      recentDurationsS: account?.recentDurationsS ?? [],
      sameFileUploads: account?.sameFileUploads ?? 0,
      pastRejections: account?.pastRejections ?? 0,
    },
    disclosure: {
      stated: d !== undefined,
      roles: Object.fromEntries(
        DISCLOSURE_ROLES.map((r) => [r, d?.roles?.[r] ?? "notStated"]),
      ) as PolicyInput["disclosure"]["roles"],
      tools: (d?.tools ?? []).map((t) => (t.version ? `${t.name} ${t.version}` : t.name)),
      voiceClone: {
        isClone: d?.voiceClone?.isClone ?? false,
        of: d?.voiceClone?.of ?? "",
        consentRef: d?.voiceClone?.consentRef ?? "",
      },
      trainingMining: d?.trainingMining ?? "notStated",
    },
    stats: { ...(stats ?? NO_STATS), available: stats !== null },
    fingerprint: {
      available: fingerprint !== null,
      algorithmVersion: fingerprint?.algorithmVersion ?? "",
      matches: fingerprint?.matches ?? [],
    },
    classifier: {
      available: classifier !== null,
      applicable: classifier?.applicable ?? false,
      score: classifier?.score ?? 0,
      segments: classifier?.segments ?? [],
      modelVersion: classifier?.modelVersion ?? "",
    },
    c2pa: {
      available: provenance !== null,
      present: provenance?.present ?? false,
      state: provenance?.state ?? "",
      statusCodes: provenance?.statusCodes ?? [],
      claimGenerator: provenance?.activeManifest?.claimGenerator ?? "",
      problem: provenance?.problem?.code ?? "",
      signer: provenance?.activeManifest?.signer ?? "",
      digitalSourceTypes: provenance?.activeManifest?.digitalSourceTypes ?? [],
      actions: provenance?.activeManifest?.actions ?? [],
    },
    watermark: {
      available: watermark !== null,
      found: watermark?.found ?? false,
      confidence: watermark?.confidence ?? 0,
      payload: watermark?.payload ?? "",
      linkedUploadId: watermark?.linkedUploadId ?? "",
      linkedAccountId: watermark?.linkedAccountId ?? "",
    },
  };
}
