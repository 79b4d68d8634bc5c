import { AUDIO_FORMATS } from "../audio/format.js";
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

export const SIGNAL_SCHEMAS = {
  decode: decodeSignalSchema,
  stats: statsSignalSchema,
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
});

export type SignalName = keyof typeof SIGNAL_SCHEMAS;
export type Signals = { [K in SignalName]: z.infer<(typeof SIGNAL_SCHEMAS)[K]> };
export type DecodeSignal = Signals["decode"];
export type StatsSignal = Signals["stats"];
