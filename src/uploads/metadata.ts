import { createHash } from "node:crypto";
import { disclosureSchema } from "../provenance/disclosure.js";
import { z } from "../zod.js";

export const UPLOAD_KINDS = ["music", "podcast", "audiobook", "other"] as const;

/** What a client may say about an upload. Everything is optional; unknown keys are refused. */
export const uploadMetadataSchema = z.strictObject({
  title: z.string().trim().min(1).max(500).optional(),
  artist: z.string().trim().min(1).max(500).optional(),
  kind: z.enum(UPLOAD_KINDS).default("other"),
  disclosure: disclosureSchema.optional(),
});

export type UploadMetadata = z.infer<typeof uploadMetadataSchema>;

/** JSON with object keys sorted, so equal metadata hashes equally however the client ordered it. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** Identity of an upload request for idempotency: the audio bytes and the metadata, nothing else. */
export function requestHash(fileSha256: string, metadata: UploadMetadata): string {
  return createHash("sha256").update(fileSha256).update("\n").update(canonicalJson(metadata)).digest("hex");
}
