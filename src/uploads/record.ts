import { and, desc, eq, inArray } from "drizzle-orm";
import { AUDIO_FORMATS } from "../audio/format.js";
import type { Db, Tx } from "../db/client.js";
import {
  decisions,
  renditions,
  signals,
  UPLOAD_STATUSES,
  type UploadRow,
  uploads,
} from "../db/schema/index.js";
import { ACTIONS } from "../pipeline/decide.js";
import { SIGNAL_SCHEMAS, signalsRecordSchema } from "../pipeline/signals.js";
import { z } from "../zod.js";
import { uploadMetadataSchema } from "./metadata.js";

export const decisionSchema = z.object({
  action: z.enum(ACTIONS),
  labels: z.array(z.string()),
  reasons: z.array(z.object({ ruleId: z.string(), message: z.string() })),
  policyRevision: z.string(),
  decidedBy: z.string().describe("`policy`, or the reviewer who decided."),
  decidedAt: z.string(),
});

export const failureSchema = z.object({
  code: z.string(),
  detail: z.string(),
  stage: z.string().nullable(),
  attempts: z.number().int(),
  at: z.string(),
});

/** The whole story of one upload, as `GET /v1/uploads/{id}`, webhooks and `earmark ingest` show it. */
export const uploadRecordSchema = z.object({
  id: z.string(),
  status: z.enum(UPLOAD_STATUSES),
  metadata: uploadMetadataSchema,
  file: z.object({
    filename: z.string().nullable(),
    declaredContentType: z.string().nullable(),
    sizeBytes: z.number().int(),
    sha256: z.string(),
    format: z.enum(AUDIO_FORMATS),
    codec: z.string(),
    sampleRate: z.number().int(),
    channels: z.number().int(),
    declaredDurationS: z.number().nullable(),
  }),
  decision: decisionSchema.nullable(),
  signals: signalsRecordSchema,
  failure: failureSchema.nullable(),
  rendition: z
    .object({
      format: z.enum(AUDIO_FORMATS),
      contentType: z.string(),
      sizeBytes: z.number().int(),
      sha256: z.string(),
      steps: z.array(z.object({ name: z.string(), version: z.string() })),
      url: z.string(),
    })
    .nullable(),
  createdAt: z.string(),
  updatedAt: z.string(),
  links: z.object({ self: z.string(), rendition: z.string().nullable() }),
});

export type UploadRecord = z.infer<typeof uploadRecordSchema>;

export const uploadSummarySchema = uploadRecordSchema
  .pick({ id: true, status: true, metadata: true, createdAt: true, updatedAt: true, links: true })
  .extend({
    action: z.enum(ACTIONS).nullable().describe("The current decision's action, once decided."),
    failureCode: z.string().nullable(),
  });

export type UploadSummary = z.infer<typeof uploadSummarySchema>;

const iso = (d: Date | string) => new Date(d).toISOString();
const linksFor = (baseUrl: string, id: string, hasRendition: boolean) => ({
  self: `${baseUrl}/v1/uploads/${id}`,
  rendition: hasRendition ? `${baseUrl}/v1/uploads/${id}/rendition` : null,
});

/** Loads everything known about an upload. Null when it does not exist (or is not the account's). */
export async function loadUploadRecord(
  db: Db | Tx,
  id: string,
  baseUrl: string,
  accountId?: string,
): Promise<UploadRecord | null> {
  const where = accountId ? and(eq(uploads.id, id), eq(uploads.accountId, accountId)) : eq(uploads.id, id);
  const [row] = await db.select().from(uploads).where(where);
  if (!row) return null;
  const [decision] = await db
    .select()
    .from(decisions)
    .where(eq(decisions.uploadId, id))
    .orderBy(desc(decisions.createdAt), desc(decisions.id))
    .limit(1);
  const sigs = await db.select().from(signals).where(eq(signals.uploadId, id));
  const [rendition] = await db.select().from(renditions).where(eq(renditions.uploadId, id));
  const links = linksFor(baseUrl, id, Boolean(rendition));
  return {
    id: row.id,
    status: row.status,
    metadata: row.metadata,
    file: {
      filename: row.filename,
      declaredContentType: row.declaredContentType,
      sizeBytes: row.sizeBytes,
      sha256: row.sha256,
      format: row.probe.format,
      codec: row.probe.codec,
      sampleRate: row.probe.sampleRate,
      channels: row.probe.channels,
      declaredDurationS: row.probe.durationS,
    },
    decision: decision
      ? {
          action: decision.action,
          labels: decision.labels,
          reasons: decision.reasons,
          policyRevision: decision.policyRevision,
          decidedBy: decision.decidedBy,
          decidedAt: iso(decision.createdAt),
        }
      : null,
    signals: Object.fromEntries(
      sigs
        .filter((s) => s.stage in SIGNAL_SCHEMAS)
        .map((s) => [
          s.stage,
          { version: s.version, producedAt: iso(s.createdAt), durationMs: s.durationMs, data: s.data },
        ]),
    ) as UploadRecord["signals"],
    failure: row.failure,
    rendition: rendition
      ? {
          format: rendition.format as UploadRecord["file"]["format"],
          contentType: rendition.contentType,
          sizeBytes: rendition.sizeBytes,
          sha256: rendition.sha256,
          steps: rendition.steps,
          url: links.rendition!,
        }
      : null,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    links,
  };
}

/** Summaries for a page of upload rows, with each one's current decision. */
export async function summarise(db: Db, rows: UploadRow[], baseUrl: string): Promise<UploadSummary[]> {
  if (rows.length === 0) return [];
  const ids = rows.map((r) => r.id);
  const ds = await db
    .select({
      uploadId: decisions.uploadId,
      action: decisions.action,
      createdAt: decisions.createdAt,
      id: decisions.id,
    })
    .from(decisions)
    .where(inArray(decisions.uploadId, ids));
  const latest = new Map<string, (typeof ds)[number]>();
  for (const d of ds) {
    const cur = latest.get(d.uploadId);
    if (
      !cur ||
      d.createdAt > cur.createdAt ||
      (d.createdAt.getTime() === cur.createdAt.getTime() && d.id > cur.id)
    )
      latest.set(d.uploadId, d);
  }
  const rs = await db
    .select({ uploadId: renditions.uploadId })
    .from(renditions)
    .where(inArray(renditions.uploadId, ids));
  const withRendition = new Set(rs.map((r) => r.uploadId));
  return rows.map((row) => ({
    id: row.id,
    status: row.status,
    metadata: row.metadata,
    createdAt: iso(row.createdAt),
    updatedAt: iso(row.updatedAt),
    links: linksFor(baseUrl, row.id, withRendition.has(row.id)),
    action: latest.get(row.id)?.action ?? null,
    failureCode: row.failure?.code ?? null,
  }));
}
