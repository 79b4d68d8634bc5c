import type { Readable } from "node:stream";
import type { ByteSource } from "../audio/bytes.js";

export interface PutResult {
  size: number;
  sha256: string;
}

export class BlobTooLargeError extends Error {
  constructor(readonly limit: number) {
    super(`blob exceeds ${limit} bytes`);
    this.name = "BlobTooLargeError";
  }
}

/**
 * Where upload bytes and renditions live. Writes are atomic (a reader never sees a partial blob) and hash
 * the bytes as they pass, so nothing is buffered whole.
 */
export interface BlobStore {
  /** Streams `source` into `key`, computing SHA-256 and size; rejects with BlobTooLargeError past `maxBytes`. */
  put(
    key: string,
    source: Readable | AsyncIterable<Uint8Array>,
    opts?: { maxBytes?: number },
  ): Promise<PutResult>;
  /** Random and sequential reads of a stored blob; null when it does not exist. */
  open(key: string): Promise<ByteSource | null>;
  /** Makes `to` hold the same bytes as `from` (hard link or copy). */
  copy(from: string, to: string): Promise<void>;
  delete(key: string): Promise<void>;
  /** Checks the store can be written (for readiness). */
  check(): Promise<void>;
}

const KEY = /^[A-Za-z0-9][A-Za-z0-9._\-/]*$/;

export function assertBlobKey(key: string): void {
  if (!KEY.test(key) || key.split("/").some((p) => p === "" || p === "." || p === ".."))
    throw new Error(`invalid blob key: ${key}`);
}
