import type { IncomingMessage } from "node:http";
import { Readable } from "node:stream";
import type { ReadableStream as NodeWebStream } from "node:stream/web";
import { Busboy, type BusboyInstance } from "@fastify/busboy";
import type { Context } from "hono";
import type { Deps } from "../../deps.js";
import { ApiError } from "../../errors.js";
import type { UploadMetadata } from "../../uploads/metadata.js";
import { parseMetadata, type StoredAudio, storeAudio, validateMetadata } from "../../uploads/receive.js";
import type { AppEnv } from "../context.js";

export interface ReceivedBody {
  stored: StoredAudio;
  metadata: UploadMetadata;
  filename: string | null;
  declaredContentType: string | null;
}

const MULTIPART_OVERHEAD = 1024 * 1024;

function bodyStream(c: Context<AppEnv>): Readable {
  // Under @hono/node-server the Node request is at hand: read it directly rather than through a web stream
  // made from it (a Node → web → Node round trip cost ~10% of the CPU of a WAV upload). Only while nothing
  // has started reading it; `app.request()` in tests has no Node request and takes the web body.
  const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
  if (incoming && incoming.readableFlowing === null && !incoming.readableEnded) return incoming;
  const body = c.req.raw.body;
  if (!body) throw new ApiError("missing-file", "The request has no body.");
  return Readable.fromWeb(body as unknown as NodeWebStream<Uint8Array>);
}

/** Refuses a body whose declared length is already over the limit, before reading a byte of it. */
export function checkDeclaredLength(c: Context<AppEnv>, deps: Deps, overhead: number): void {
  const declared = Number(c.req.header("content-length") ?? Number.NaN);
  const max = deps.config.limits.maxUploadBytes;
  if (Number.isFinite(declared) && declared > max + overhead)
    throw new ApiError(
      "upload-too-large",
      `The request is ${declared} bytes; the upload limit is ${max} bytes.`,
      {
        limitBytes: max,
      },
    );
}

/**
 * Reads a `multipart/form-data` upload as a stream: the `file` part goes straight to the blob store, the
 * optional `metadata` part (JSON) is validated as soon as it arrives. Any other part is refused.
 */
export function receiveMultipart(c: Context<AppEnv>, deps: Deps, uploadId: string): Promise<ReceivedBody> {
  checkDeclaredLength(c, deps, MULTIPART_OVERHEAD);
  const input = bodyStream(c);
  return new Promise<ReceivedBody>((resolve, reject) => {
    let stored: Promise<StoredAudio> | null = null;
    let metadata: UploadMetadata | null = null;
    let filename: string | null = null;
    let declaredContentType: string | null = null;
    let settled = false;

    const fail = (err: unknown) => {
      if (settled) return;
      settled = true;
      input.unpipe();
      input.destroy();
      // A file may still be landing in the store; drop it once it has.
      stored?.then((s) => deps.blobs.delete(s.blobKey)).catch(() => {});
      reject(err);
    };

    let bb: BusboyInstance;
    try {
      bb = new Busboy({
        headers: { "content-type": c.req.header("content-type") ?? "" },
        limits: { files: 1, fields: 1, parts: 2, fieldSize: 256 * 1024, headerPairs: 20 },
        isPartAFile: (name) => name === "file",
      });
    } catch (err) {
      throw new ApiError("bad-request", `The multipart body cannot be read: ${(err as Error).message}`);
    }

    bb.on("file", (_name, stream, fname, _enc, mime) => {
      if (stored) {
        stream.resume();
        return fail(new ApiError("bad-request", "Send exactly one `file` part."));
      }
      filename = fname || null;
      declaredContentType = mime || null;
      stored = storeAudio(deps, uploadId, stream);
      stored.catch((err) => {
        stream.resume();
        fail(err);
      });
    });
    bb.on("field", (name, value, _nameTruncated, valueTruncated) => {
      if (name !== "metadata")
        return fail(
          new ApiError(
            "bad-request",
            `Unexpected part "${name}": send \`file\` and optionally \`metadata\`.`,
          ),
        );
      if (valueTruncated)
        return fail(new ApiError("invalid-metadata", "The metadata part is larger than 256 KiB."));
      try {
        metadata = parseMetadata(value, "metadata part");
      } catch (err) {
        fail(err);
      }
    });
    bb.on("partsLimit", () =>
      fail(new ApiError("bad-request", "Send at most two parts: `file` and `metadata`.")),
    );
    bb.on("filesLimit", () => fail(new ApiError("bad-request", "Send exactly one `file` part.")));
    bb.on("fieldsLimit", () => fail(new ApiError("bad-request", "Send at most one `metadata` part.")));
    bb.on("error", (err) =>
      fail(new ApiError("bad-request", `The multipart body is malformed: ${(err as Error).message}`)),
    );
    bb.on("finish", () => {
      if (settled) return;
      if (!stored)
        return fail(new ApiError("missing-file", "The multipart body has no `file` part with the audio."));
      stored.then(
        (s) => {
          if (settled) return;
          settled = true;
          resolve({
            stored: s,
            metadata: metadata ?? validateMetadata({}, "metadata"),
            filename,
            declaredContentType,
          });
        },
        (err) => fail(err),
      );
    });
    input.on("error", (err) =>
      fail(new ApiError("bad-request", `The upload was interrupted: ${err.message}`)),
    );
    input.pipe(bb);
  });
}

/**
 * Reads a raw audio body (`audio/*` or `application/octet-stream`). Metadata comes from the query string
 * (`title`, `artist`, `kind`, and `metadata` as JSON for the rest) or an `Earmark-Metadata` JSON header.
 */
export async function receiveRaw(c: Context<AppEnv>, deps: Deps, uploadId: string): Promise<ReceivedBody> {
  checkDeclaredLength(c, deps, 0);
  const q = c.req.query();
  const json = q.metadata ?? c.req.header("earmark-metadata") ?? null;
  const base = json
    ? parseMetadata(json, q.metadata ? "`metadata` query parameter" : "Earmark-Metadata header")
    : {};
  const merged: Record<string, unknown> = { ...base };
  for (const k of ["title", "artist", "kind"] as const) if (q[k] !== undefined) merged[k] = q[k];
  const metadata = validateMetadata(merged, "metadata");
  const stored = await storeAudio(deps, uploadId, bodyStream(c));
  const disposition = c.req.header("content-disposition") ?? "";
  const fname = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition)?.[1];
  return {
    stored,
    metadata,
    filename: q.filename ?? (fname ? decodeURIComponent(fname) : null),
    declaredContentType: c.req.header("content-type") ?? null,
  };
}
