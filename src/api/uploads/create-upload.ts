import { createRoute, z } from "@hono/zod-openapi";
import { SUPPORTED_FORMATS_TEXT } from "../../audio/format.js";
import { ApiError } from "../../errors.js";
import { newId } from "../../ids.js";
import { uploadMetadataSchema } from "../../uploads/metadata.js";
import { commitUpload } from "../../uploads/receive.js";
import { type App, baseUrlOf } from "../context.js";
import { enforce } from "../middleware.js";
import { problemResponses } from "../problem.js";
import { receiveMultipart, receiveRaw } from "./receive-body.js";
import { UploadAccepted } from "./schemas.js";

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

// The body is documented here but parsed by hand, as a stream: zod-openapi would buffer a multipart body.
const metadataJsonSchema = z.toJSONSchema(uploadMetadataSchema, { io: "input" });

export const createUploadRoute = createRoute({
  method: "post",
  path: "/v1/uploads",
  tags: ["Uploads"],
  summary: "Upload audio",
  description: [
    "Streams the audio to storage while hashing it, then answers `202` once the upload and its processing job are",
    "committed: an acknowledged upload is never lost. Poll `GET /v1/uploads/{id}` or register a webhook for the outcome.",
    "",
    "Send `multipart/form-data` with a `file` part and an optional `metadata` part (JSON), or the audio itself as the",
    "body (`audio/*` or `application/octet-stream`) with metadata in the query (`title`, `artist`, `kind`, and",
    "`metadata` as JSON for the disclosure) or in an `Earmark-Metadata` header (JSON).",
    "",
    `Formats are recognised by content, not name: ${SUPPORTED_FORMATS_TEXT}. Size, duration (declared), sample`,
    "rate (8–192 kHz) and channels (1–8) are checked before anything is decoded.",
    "",
    "With an `Idempotency-Key`, repeating the same request returns the same upload (header",
    "`Idempotent-Replayed: true`); the same key with a different file or metadata is a `422`.",
  ].join("\n"),
  security: [{ apiKey: [] }],
  request: {
    headers: z.object({
      "idempotency-key": z.string().optional().openapi({ description: "1–255 printable ASCII characters." }),
    }),
    query: z.object({
      title: z.string().optional().openapi({ description: "Raw-body uploads only." }),
      artist: z.string().optional().openapi({ description: "Raw-body uploads only." }),
      kind: z
        .string()
        .optional()
        .openapi({ description: "Raw-body uploads only: music, podcast, audiobook, other." }),
      metadata: z
        .string()
        .optional()
        .openapi({ description: "Raw-body uploads only: the metadata object as JSON." }),
      filename: z
        .string()
        .optional()
        .openapi({ description: "Raw-body uploads only: the original file name." }),
    }),
    body: {
      required: true,
      content: {
        "multipart/form-data": {
          schema: {
            type: "object",
            required: ["file"],
            properties: {
              file: { type: "string", format: "binary", description: "The audio." },
              metadata: { ...(metadataJsonSchema as object), description: "Optional JSON (UploadMetadata)." },
            },
          },
          encoding: { metadata: { contentType: "application/json" } },
        },
        "audio/*": { schema: { type: "string", format: "binary" } },
        "application/octet-stream": { schema: { type: "string", format: "binary" } },
      },
    },
  },
  responses: {
    202: {
      description: "Accepted: stored and queued for processing.",
      headers: {
        Location: { schema: { type: "string" }, description: "The upload's URL." },
        "Idempotent-Replayed": {
          schema: { type: "string" },
          description: "`true` when this repeats an earlier request.",
        },
      },
      content: { "application/json": { schema: UploadAccepted } },
    },
    ...problemResponses(400, 401, 413, 415, 422, 429),
  },
});

export function registerCreateUpload(app: App) {
  app.openapi(createUploadRoute, async (c) => {
    const deps = c.get("deps");
    const account = c.get("account");
    const key = c.req.header("idempotency-key") ?? null;
    if (key !== null && !IDEMPOTENCY_KEY.test(key))
      throw new ApiError("validation-failed", "Idempotency-Key must be 1–255 printable ASCII characters.", {
        errors: [{ pointer: "/header/idempotency-key", detail: "1–255 printable ASCII characters" }],
      });
    const perHour = account.uploadsPerHour ?? deps.config.rateLimit.uploadsPerHour;
    await enforce(deps, account.id, "uploads", perHour, 3600, "uploads per hour");

    const contentType = (c.req.header("content-type") ?? "").toLowerCase();
    const id = newId("upl");
    let received: Awaited<ReturnType<typeof receiveRaw>>;
    if (contentType.startsWith("multipart/form-data")) received = await receiveMultipart(c, deps, id);
    else if (
      contentType === "" ||
      contentType.startsWith("audio/") ||
      contentType.startsWith("application/octet-stream")
    )
      received = await receiveRaw(c, deps, id);
    else
      throw new ApiError(
        "unsupported-content-type",
        `A request body of type ${contentType} cannot be an upload. Send multipart/form-data with a \`file\` part, or the audio itself as audio/* or application/octet-stream.`,
      );

    const { upload, replayed } = await commitUpload(deps, {
      id,
      accountId: account.id,
      stored: received.stored,
      metadata: received.metadata,
      filename: received.filename,
      declaredContentType: received.declaredContentType,
      idempotencyKey: key,
    });
    const self = `${baseUrlOf(c)}/v1/uploads/${upload.id}`;
    c.header("location", self);
    if (replayed) c.header("idempotent-replayed", "true");
    return c.json({ id: upload.id, status: upload.status, links: { self } }, 202);
  });
}
