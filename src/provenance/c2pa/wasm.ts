import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as c2pa from "@contentauth/c2pa-wasm";

export type C2pa = typeof c2pa;

let loaded: C2pa | null = null;

/**
 * The c2pa-rs WebAssembly module, compiled and instantiated once per process. Compiling costs 0.2–2 s, so
 * call {@link warmC2pa} at start-up rather than on the first upload. The native `c2pa-node` is not used:
 * its install downloads a binary from GitHub (see docs/adr/0008-c2pa-wasm.md).
 *
 * @example
 * const { WasmReader } = loadC2pa();
 */
export function loadC2pa(): C2pa {
  if (loaded) return loaded;
  installFileReaderSync();
  const wasmPath = createRequire(import.meta.url).resolve("@contentauth/c2pa-wasm/c2pa.wasm");
  c2pa.initSync({ module: readFileSync(wasmPath) });
  loaded = c2pa;
  return loaded;
}

/**
 * How many reads and signings may hold files in the WASM instance at once. Its memory grows to about 7×
 * the largest file in use and never shrinks, so this (with EARMARK_C2PA_MAX_BYTES) bounds the process's
 * high-water mark; everything past it waits its turn. The work itself runs on the main thread, so one
 * slot costs little throughput: a second lets a read proceed while a signing waits on a remote signer or
 * a time-stamp authority.
 */
let slots = 2;
let inUse = 0;
const waiting: (() => void)[] = [];

/** Sets the number of concurrent C2PA operations (`EARMARK_C2PA_CONCURRENCY`). */
export function setC2paConcurrency(n: number): void {
  if (!(Number.isInteger(n) && n >= 1))
    throw new Error(`C2PA concurrency must be a whole number ≥ 1, got ${n}`);
  slots = n;
  while (inUse < slots && waiting.length > 0) {
    inUse++;
    waiting.shift()?.();
  }
}

/** Runs `work` (which uses the WASM instance) once a slot is free. */
export async function withC2pa<T>(work: () => Promise<T>): Promise<T> {
  if (inUse < slots) inUse++;
  else await new Promise<void>((resolve) => waiting.push(resolve));
  try {
    return await work();
  } finally {
    const next = waiting.shift();
    // The slot passes straight to the next in line, or is given back.
    if (next) next();
    else inUse--;
  }
}

/** Loads the module and returns how long that took, in milliseconds (0 when it was loaded already). */
export function warmC2pa(): number {
  if (loaded) return 0;
  const started = performance.now();
  loadC2pa();
  return performance.now() - started;
}

/**
 * A `Blob` over bytes already in memory, without copying them. The builder reads its source asset through
 * `blob.slice()` and `FileReaderSync.readAsArrayBuffer()` (a browser worker API); with this class and the
 * shim below both are served straight from the buffer.
 */
export class BytesBlob extends Blob {
  readonly #bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    super([]);
    this.#bytes = bytes;
  }
  override get size(): number {
    return this.#bytes.length;
  }
  override slice(start = 0, end = this.#bytes.length): BytesBlob {
    return new BytesBlob(this.#bytes.subarray(start, end));
  }
  /** The bytes as a standalone ArrayBuffer (copied only when they are a view into a larger one). */
  arrayBufferSync(): ArrayBuffer {
    const b = this.#bytes;
    if (b.byteOffset === 0 && b.byteLength === b.buffer.byteLength && b.buffer instanceof ArrayBuffer) {
      return b.buffer;
    }
    return b.slice().buffer as ArrayBuffer;
  }
}

/** Node has no `FileReaderSync`; the WASM builder needs one that can read a {@link BytesBlob}. */
function installFileReaderSync(): void {
  const g = globalThis as { FileReaderSync?: unknown };
  if (g.FileReaderSync) return;
  g.FileReaderSync = class FileReaderSync {
    readAsArrayBuffer(blob: Blob): ArrayBuffer {
      if (!(blob instanceof BytesBlob)) {
        throw new TypeError(
          "FileReaderSync shim: only Earmark's BytesBlob can be read synchronously in Node",
        );
      }
      return blob.arrayBufferSync();
    }
  };
}
