import { z } from "../zod.js";

/** How much AI took part in one creative role. An omitted role means the creator did not say. */
export const aiInvolvement = z.enum(["none", "assisted", "generated"]);

export const DISCLOSURE_ROLES = ["voice", "lyrics", "composition", "instrumentation", "production"] as const;

/**
 * The creator's AI disclosure, role by role — the JSON shape clients send in an upload's metadata.
 * Unknown keys are refused so a typo never silently drops a statement.
 */
export const disclosureSchema = z.strictObject({
  roles: z
    .strictObject({
      voice: aiInvolvement.optional(),
      lyrics: aiInvolvement.optional(),
      composition: aiInvolvement.optional(),
      instrumentation: aiInvolvement.optional(),
      production: aiInvolvement.optional(),
    })
    .optional(),
  tools: z
    .array(z.strictObject({ name: z.string().min(1).max(200), version: z.string().max(100).optional() }))
    .max(50)
    .optional(),
  voiceClone: z
    .strictObject({
      isClone: z.boolean(),
      of: z.string().max(500).nullable().optional(),
      consentRef: z.string().max(2000).nullable().optional(),
    })
    .optional(),
  trainingMining: z.enum(["allowed", "notAllowed", "constrained"]).optional(),
});

export type Disclosure = z.infer<typeof disclosureSchema>;
