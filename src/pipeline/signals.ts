import { AUDIO_FORMATS } from "../audio/format.js";
import { provenanceReadSchema } from "../provenance/c2pa/read.js";
import { z } from "../zod.js";

/**
 * The typed signals pipeline stages produce — the schema the policy engine type-checks its rules against and
 * the API documents. Each stage's signal is stored with the version of the stage that produced it.
 * Other capabilities add theirs here (fingerprint, classifier, provenance, watermark).
 */
export const decodeSignalSchema = z.object({
  format: z.enum(AUDIO_FORMATS),
  codec: z.string(),
  sampleRate: z.number().int(),
  channels: z.number().int(),
  bitDepth: z.number().int().nullable(),
  durationS: z.number(),
  frames: z.number().int(),
  decoder: z.string().describe("Library that decoded the audio."),
});

export const statsSignalSchema = z.object({
  durationS: z.number(),
  integratedLoudnessLufs: z
    .number()
    .nullable()
    .describe("EBU R128 / ITU-R BS.1770-4; null when all below the gate."),
  loudnessRangeLu: z.number().nullable().describe("EBU Tech 3342 loudness range."),
  samplePeakDbfs: z.number().nullable(),
  truePeakDbtp: z.number().nullable(),
  silenceRatio: z.number().describe("Fraction of 100 ms blocks below −60 dBFS."),
  leadingSilenceS: z.number(),
  trailingSilenceS: z.number(),
  clippingRatio: z.number().describe("Fraction of samples in runs of ≥ 3 at full scale."),
  spectralFlatness: z
    .number()
    .nullable()
    .describe("Median spectral flatness of non-silent frames (0 tonal … 1 noise)."),
});

/**
 * What the database says about the uploading account at the moment of the upload. Not a stage (it reads the
 * database), so the orchestrator computes and stores it before deciding: replaying a decision later sees the
 * same figures the original decision saw.
 */
export const accountSignalSchema = z.object({
  ageDays: z.number().describe("Age of the account when the upload arrived."),
  uploadsLastHour: z
    .number()
    .int()
    .describe("Uploads by the account in the hour up to this one, this one included."),
  uploadsLastDay: z.number().int().describe("Same, over 24 hours."),
  recentDurationsS: z
    .array(z.number())
    .describe("Decoded durations of the account's uploads in the 24 hours up to this one (at most 1000)."),
  sameFileUploads: z.number().int().describe("Earlier uploads by the account with byte-identical audio."),
  pastRejections: z.number().int().describe("Earlier uploads by the account whose decision is reject."),
});

export const fingerprintSignalSchema = z.object({
  algorithmVersion: z.string(),
  matches: z
    .array(
      z.object({
        uploadId: z.string(),
        accountId: z.string(),
        score: z
          .number()
          .describe("Match strength in [0, 1]: coverage of this upload weighed by how densely it agrees."),
        queryCoverage: z.number().describe("Fraction of this upload covered by the match."),
        referenceCoverage: z.number().describe("Fraction of the earlier upload covered by the match."),
        queryOffsetS: z.number().describe("Where the match starts in this upload, in seconds."),
        referenceOffsetS: z.number().describe("Where the match starts in the earlier upload, in seconds."),
        speedRatio: z
          .number()
          .describe("Earlier upload's seconds per second of this one: 1.05 means this upload runs 5 % fast."),
        verdict: z
          .enum(["same-recording", "shared-material"])
          .describe(
            "same-recording: this upload is the earlier recording or a part of it, however transformed; " +
              "shared-material: only parts match (a loop, a sample, a backing track).",
          ),
      }),
    )
    .describe(
      "Earlier uploads this one matches, best first, at most five; any account, this one's included.",
    ),
});

/** The AI-likeness classifier's verdict (src/classifier, detectors/ai-likeness). */
export const classifierSignalSchema = z.object({
  score: z.number().describe("Calibrated AI-likeness in [0, 1]."),
  segments: z.array(z.object({ startS: z.number(), endS: z.number(), score: z.number() })),
  modelVersion: z.string(),
  applicable: z.boolean().describe("False when the model does not cover this kind of audio."),
});

/** Earmark's own watermark found in the upload (src/watermark), and the upload it leads back to. */
export const watermarkSignalSchema = z.object({
  found: z
    .boolean()
    .describe("Earmark's watermark (this deployment's key) was decoded, integrity check passed."),
  payload: z.string().nullable().describe("The 64-bit watermark id, 16 hex digits."),
  linkedUploadId: z
    .string()
    .nullable()
    .describe("The upload whose rendition carries this id; null when no rendition here has it."),
  linkedAccountId: z.string().nullable().describe("That upload's account."),
  confidence: z.number().describe("Detection confidence in [0, 1]."),
});

/** The C2PA manifest the upload arrived with, validated against the configured trust anchors. */
export const provenanceSignalSchema = provenanceReadSchema;

export const SIGNAL_SCHEMAS = {
  decode: decodeSignalSchema,
  stats: statsSignalSchema,
  account: accountSignalSchema,
  fingerprint: fingerprintSignalSchema,
  classifier: classifierSignalSchema,
  provenance: provenanceSignalSchema,
  watermark: watermarkSignalSchema,
} as const;

/** A stored signal as the API shows it: the data and what produced it, when. */
export const signalEnvelope = <T extends z.ZodType>(data: T) =>
  z.object({
    version: z.string().describe("Version of the stage that produced the signal."),
    producedAt: z.string(),
    durationMs: z.number(),
    data,
  });

/** Every stage's signal, each present once its stage has run. Keep in step with SIGNAL_SCHEMAS. */
export const signalsRecordSchema = z.object({
  decode: signalEnvelope(decodeSignalSchema).optional(),
  stats: signalEnvelope(statsSignalSchema).optional(),
  account: signalEnvelope(accountSignalSchema).optional(),
  fingerprint: signalEnvelope(fingerprintSignalSchema).optional(),
  classifier: signalEnvelope(classifierSignalSchema).optional(),
  provenance: signalEnvelope(provenanceSignalSchema).optional(),
  watermark: signalEnvelope(watermarkSignalSchema).optional(),
});

export type SignalName = keyof typeof SIGNAL_SCHEMAS;
export type Signals = { [K in SignalName]: z.infer<(typeof SIGNAL_SCHEMAS)[K]> };
export type DecodeSignal = Signals["decode"];
export type StatsSignal = Signals["stats"];
export type FingerprintSignal = Signals["fingerprint"];
export type ClassifierSignal = Signals["classifier"];
export type ProvenanceSignal = Signals["provenance"];
export type WatermarkSignal = Signals["watermark"];
