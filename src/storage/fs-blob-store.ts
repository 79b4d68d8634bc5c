import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { link, mkdir, open, rename, rm, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { fileSource } from "../audio/bytes.js";
import { assertBlobKey, type BlobStore, BlobTooLargeError, type PutResult } from "./blob-store.js";

/**
 * Blobs as files under one directory. A put writes to `tmp/`, fsyncs, and renames into place, so a crash
 * leaves either the whole blob or none. At scale, point every node at the same shared volume.
 */
export class FsBlobStore implements BlobStore {
  constructor(private readonly root: string) {}

  private pathOf(key: string): string {
    assertBlobKey(key);
    return path.join(this.root, key);
  }

  async put(
    key: string,
    source: NodeJS.ReadableStream | AsyncIterable<Uint8Array>,
    opts: { maxBytes?: number } = {},
  ): Promise<PutResult> {
    const final = this.pathOf(key);
    const tmpDir = path.join(this.root, "tmp");
    await mkdir(tmpDir, { recursive: true });
    await mkdir(path.dirname(final), { recursive: true });
    const tmp = path.join(tmpDir, `${randomBytes(8).toString("hex")}.part`);
    const hash = createHash("sha256");
    let size = 0;
    const max = opts.maxBytes ?? Number.POSITIVE_INFINITY;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) return done(new BlobTooLargeError(max));
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(source as AsyncIterable<Uint8Array>, meter, createWriteStream(tmp));
      const fh = await open(tmp, "r");
      await fh.sync();
      await fh.close();
      await rename(tmp, final);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    return { size, sha256: hash.digest("hex") };
  }

  async open(key: string) {
    const p = this.pathOf(key);
    try {
      await stat(p);
    } catch {
      return null;
    }
    return fileSource(p);
  }

  async copy(from: string, to: string): Promise<void> {
    const dst = this.pathOf(to);
    await mkdir(path.dirname(dst), { recursive: true });
    await rm(dst, { force: true });
    // Blobs are immutable once written, so a hard link is a safe, free copy.
    await link(this.pathOf(from), dst);
  }

  async delete(key: string): Promise<void> {
    await rm(this.pathOf(key), { force: true });
  }

  async check(): Promise<void> {
    await mkdir(path.join(this.root, "tmp"), { recursive: true });
    const probe = path.join(this.root, "tmp", `ready-${process.pid}`);
    await writeFile(probe, "ok");
    await rm(probe, { force: true });
  }
}
