import { Readable } from "node:stream";
import type { ByteSource } from "../audio/bytes.js";
import { type AudioFormat, CONTENT_TYPES } from "../audio/format.js";
import type { BlobStore } from "../storage/blob-store.js";
import type { Decision } from "./decide.js";
import type { UploadFacts } from "./stage.js";

export interface RenderInput {
  upload: UploadFacts;
  /** The audio as the previous step left it (the original for the first step). */
  source: ByteSource;
  /** The upload as received (C2PA signing attaches it as the rendition's `parentOf` ingredient). */
  original: ByteSource;
  format: AudioFormat;
  decision: Decision;
  /** What earlier steps bound into the audio itself (the watermark), for the manifest to name. */
  softBindings: readonly SoftBinding[];
}

/** A mark in the content that leads back to the upload: C2PA's soft binding (algorithm name and value). */
export interface SoftBinding {
  alg: string;
  /** Base64, as the `c2pa.soft-binding` assertion's block value. */
  value: string;
}

export interface RenderOutput {
  bytes: AsyncIterable<Uint8Array>;
  format: AudioFormat;
  /** Soft bindings this step put into the audio. */
  softBindings?: readonly SoftBinding[];
  /** The C2PA manifest store this step embedded, kept beside the rendition as its sidecar `.c2pa`. */
  manifestStore?: Uint8Array;
}

/**
 * One transformation on the way to the distributed file (watermark embedding, C2PA signing). Steps run in
 * order, each reading what the previous one wrote, and stream their output.
 */
export interface RenderStep {
  name: string;
  version: string;
  apply(input: RenderInput, ctx: { signal: AbortSignal }): Promise<RenderOutput>;
}

export interface RenditionDraft {
  blobKey: string;
  format: AudioFormat;
  contentType: string;
  sha256: string;
  sizeBytes: number;
  steps: { name: string; version: string }[];
}

export const renditionKey = (uploadId: string) => `renditions/${uploadId}/audio`;
/** The rendition's C2PA manifest store as a sidecar file (`GET /v1/uploads/{id}/manifest.c2pa`). */
export const renditionManifestKey = (uploadId: string) => `renditions/${uploadId}/manifest.c2pa`;

/**
 * Produces the rendition blob. With no steps it is the original bytes (linked, not copied). Idempotent: a
 * retry overwrites the same key.
 */
export async function renderUpload(
  blobs: BlobStore,
  input: { upload: UploadFacts; originalKey: string; decision: Decision },
  steps: readonly RenderStep[],
  ctx: { signal: AbortSignal },
): Promise<RenditionDraft> {
  const key = renditionKey(input.upload.id);
  if (steps.length === 0) {
    await blobs.copy(input.originalKey, key);
    await blobs.delete(renditionManifestKey(input.upload.id));
    return {
      blobKey: key,
      format: input.upload.probe.format,
      contentType: CONTENT_TYPES[input.upload.probe.format],
      sha256: input.upload.sha256,
      sizeBytes: input.upload.sizeBytes,
      steps: [],
    };
  }
  let sourceKey = input.originalKey;
  let format = input.upload.probe.format;
  let result = { size: input.upload.sizeBytes, sha256: input.upload.sha256 };
  const softBindings: SoftBinding[] = [];
  // Only the manifest of the step that wrote the final bytes describes them; a later step would break it.
  let manifestStore: Uint8Array | null = null;
  const scratch: string[] = [];
  const original = await blobs.open(input.originalKey);
  if (!original) throw new Error(`render: the upload's blob ${input.originalKey} is missing`);
  for (const [i, step] of steps.entries()) {
    ctx.signal.throwIfAborted();
    const source = i === 0 ? original : await blobs.open(sourceKey);
    if (!source) throw new Error(`render step ${step.name}: input blob ${sourceKey} is missing`);
    const out = await step.apply(
      { upload: input.upload, source, original, format, decision: input.decision, softBindings },
      ctx,
    );
    const outKey = i === steps.length - 1 ? key : `renditions/${input.upload.id}/step-${i}`;
    result = await blobs.put(outKey, out.bytes);
    if (outKey !== key) scratch.push(outKey);
    sourceKey = outKey;
    format = out.format;
    softBindings.push(...(out.softBindings ?? []));
    manifestStore = out.manifestStore ?? null;
  }
  for (const k of scratch) await blobs.delete(k);
  const manifestKey = renditionManifestKey(input.upload.id);
  if (manifestStore) await blobs.put(manifestKey, Readable.from([manifestStore]));
  else await blobs.delete(manifestKey);
  return {
    blobKey: key,
    format,
    contentType: CONTENT_TYPES[format],
    sha256: result.sha256,
    sizeBytes: result.size,
    steps: steps.map((s) => ({ name: s.name, version: s.version })),
  };
}
