import { and, eq } from "drizzle-orm";
import type { z } from "zod";
import { type AudioFormat, type AudioProbe, sniff } from "../audio/format.js";
import { formatBehindLongId3, notSupportedAudio, SNIFF_BYTES } from "../audio/open.js";
import { probeAudio } from "../audio/probe/index.js";
import { type UploadRow, uploads } from "../db/schema/index.js";
import type { Deps } from "../deps.js";
import { ApiError, AudioInputError, type FieldError } from "../errors.js";
import { enqueueJob } from "../jobs/queue.js";
import { BlobTooLargeError } from "../storage/blob-store.js";
import { requestHash, type UploadMetadata, uploadMetadataSchema } from "./metadata.js";

/**
 * Passes the body through, holding back the first 64 KiB until the format is known, so what is not audio is
 * refused before more than that is stored. Lazy: nothing is read until the blob store pulls, so every error
 * reaches the store's pipeline (and the caller) rather than an unlistened stream.
 */
async function* sniffed(body: AsyncIterable<Buffer | Uint8Array>, found: { format: AudioFormat | null }) {
  let head: Buffer[] = [];
  let held = 0;
  const decide = () => {
    const bytes = Buffer.concat(head);
    const result = sniff(bytes);
    if (result.kind !== "audio") throw notSupportedAudio(bytes);
    found.format = result.format;
    head = [];
    return bytes;
  };
  for await (const chunk of body) {
    if (found.format) {
      yield chunk;
      continue;
    }
    head.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    held += chunk.length;
    if (held >= SNIFF_BYTES) yield decide();
  }
  if (!found.format) {
    if (held === 0) throw new AudioInputError("empty-upload", "The file is empty (0 bytes).");
    yield decide();
  }
}

export interface StoredAudio {
  blobKey: string;
  sha256: string;
  sizeBytes: number;
  probe: AudioProbe;
}

export const originalKey = (uploadId: string) => `uploads/${uploadId}/original`;

/**
 * Streams an upload body into the blob store — sniffing its format from the first bytes, hashing and
 * counting as it passes, refusing it past the size limit — then probes the stored headers. Nothing is kept
 * when any of that fails. Problems with the audio surface as ApiErrors (413, 415, 422).
 */
export async function storeAudio(
  deps: Pick<Deps, "blobs" | "config">,
  uploadId: string,
  body: AsyncIterable<Buffer | Uint8Array>,
): Promise<StoredAudio> {
  const key = originalKey(uploadId);
  const found: { format: AudioFormat | null } = { format: null };
  const { maxUploadBytes, maxDurationS } = deps.config.limits;
  let put: { size: number; sha256: string };
  try {
    put = await deps.blobs.put(key, sniffed(body, found), { maxBytes: maxUploadBytes });
  } catch (err) {
    throw toApiError(err, maxUploadBytes);
  }
  try {
    const blob = await deps.blobs.open(key);
    const format = await formatBehindLongId3(blob!, found.format!);
    const probe = await probeAudio(blob!, format, { maxDurationS });
    return { blobKey: key, sha256: put.sha256, sizeBytes: put.size, probe };
  } catch (err) {
    await deps.blobs.delete(key);
    throw toApiError(err, maxUploadBytes);
  }
}

function toApiError(err: unknown, maxBytes: number): unknown {
  if (err instanceof AudioInputError) return err.toApiError();
  if (err instanceof BlobTooLargeError)
    return new ApiError("upload-too-large", `The upload is larger than the limit of ${maxBytes} bytes.`, {
      limitBytes: maxBytes,
    });
  // Busboy and the stream plumbing wrap the cause; surface ours when it is there.
  const cause = (err as { cause?: unknown })?.cause;
  if (cause instanceof AudioInputError || cause instanceof BlobTooLargeError)
    return toApiError(cause, maxBytes);
  return err;
}

/** Validates client metadata (JSON text), naming every field that is wrong. */
export function parseMetadata(text: string | null, where: string): UploadMetadata {
  let value: unknown = {};
  if (text !== null && text.trim() !== "") {
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ApiError("invalid-metadata", `The ${where} is not valid JSON: ${(err as Error).message}`);
    }
  }
  return validateMetadata(value, where);
}

export function validateMetadata(value: unknown, where: string): UploadMetadata {
  const parsed = uploadMetadataSchema.safeParse(value);
  if (!parsed.success) {
    throw new ApiError("invalid-metadata", `The ${where} does not match the upload metadata schema.`, {
      errors: fieldErrors(parsed.error, "/metadata"),
    });
  }
  return parsed.data;
}

export function fieldErrors(error: z.ZodError, prefix = ""): FieldError[] {
  const pointer = (path: PropertyKey[]) =>
    `${prefix}/${path.map((p) => String(p).replace(/~/g, "~0").replace(/\//g, "~1")).join("/")}`.replace(
      /\/$/,
      "",
    ) || "/";
  return error.issues.flatMap((i) =>
    i.code === "unrecognized_keys"
      ? i.keys.map((k) => ({ pointer: pointer([...i.path, k]), detail: "unknown key" }))
      : [{ pointer: pointer(i.path), detail: i.message }],
  );
}

export interface CommitInput {
  id: string;
  accountId: string;
  stored: StoredAudio;
  metadata: UploadMetadata;
  filename: string | null;
  declaredContentType: string | null;
  idempotencyKey: string | null;
}

/**
 * Records an acknowledged upload: the row and its processing job in one transaction, so an upload the client
 * was told about always gets processed. With an Idempotency-Key, a repeat of the same request returns the
 * first upload (and drops the new copy of the bytes); a different request under the same key is refused.
 */
export async function commitUpload(
  deps: Pick<Deps, "database" | "blobs" | "config" | "metrics">,
  input: CommitInput,
): Promise<{ upload: UploadRow; replayed: boolean }> {
  const db = deps.database.db;
  const hash = requestHash(input.stored.sha256, input.metadata);
  const existing = async () => {
    if (!input.idempotencyKey) return null;
    const [row] = await db
      .select()
      .from(uploads)
      .where(and(eq(uploads.accountId, input.accountId), eq(uploads.idempotencyKey, input.idempotencyKey)));
    return row ?? null;
  };
  const replay = async (row: UploadRow) => {
    await deps.blobs.delete(input.stored.blobKey);
    if (row.requestHash !== hash)
      throw new ApiError(
        "idempotency-key-reused",
        `Idempotency-Key "${input.idempotencyKey}" was already used for upload ${row.id} with a different file or metadata.`,
      );
    return { upload: row, replayed: true };
  };

  const prior = await existing();
  if (prior) return replay(prior);
  try {
    const upload = await db.transaction(async (tx) => {
      const [row] = await tx
        .insert(uploads)
        .values({
          id: input.id,
          accountId: input.accountId,
          metadata: input.metadata,
          blobKey: input.stored.blobKey,
          sha256: input.stored.sha256,
          sizeBytes: input.stored.sizeBytes,
          filename: input.filename,
          declaredContentType: input.declaredContentType,
          probe: input.stored.probe,
          idempotencyKey: input.idempotencyKey,
          requestHash: hash,
        })
        .returning();
      await enqueueJob(
        tx,
        "process-upload",
        { uploadId: input.id },
        { maxAttempts: deps.config.jobs.maxAttempts },
      );
      return row!;
    });
    deps.metrics.uploadsReceived.inc({ format: input.stored.probe.format });
    return { upload, replayed: false };
  } catch (err) {
    // Two requests with one key raced; the loser replays the winner.
    const winner = await existing();
    if (winner) return replay(winner);
    await deps.blobs.delete(input.stored.blobKey);
    throw err;
  }
}
