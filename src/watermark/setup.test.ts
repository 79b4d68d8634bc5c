import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { devKeyFile, setupWatermarking } from "./setup.js";

describe("setupWatermarking", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-wmkey-"));
  });
  afterEach(async () => rm(dir, { recursive: true, force: true }));

  it("creates a development key in the data directory once, and reads the same key after", async () => {
    const first = await setupWatermarking({ dataDir: dir, watermark: { key: null } });
    expect(first.development).toBe(true);
    expect(first.key).toHaveLength(32);
    expect((await stat(devKeyFile(dir))).mode & 0o777).toBe(0o600);
    const second = await setupWatermarking({ dataDir: dir, watermark: { key: null } });
    expect(Buffer.from(second.key).equals(Buffer.from(first.key))).toBe(true);
  });

  it("takes a configured key inline or from a file", async () => {
    const hex = "ab".repeat(32);
    const inline = await setupWatermarking({ dataDir: dir, watermark: { key: hex } });
    expect(inline).toEqual({ key: Uint8Array.from(Buffer.from(hex, "hex")), development: false });
    const file = path.join(dir, "prod.key");
    await writeFile(file, `${"cd".repeat(32)}\n`);
    const fromFile = await setupWatermarking({ dataDir: dir, watermark: { key: file } });
    expect(Buffer.from(fromFile.key).toString("hex")).toBe("cd".repeat(32));
    await expect(readFile(devKeyFile(dir))).rejects.toThrow(/ENOENT/);
  });

  it("refuses a configured key file that is missing or malformed, instead of making a new key", async () => {
    const missing = path.join(dir, "nope.key");
    await expect(setupWatermarking({ dataDir: dir, watermark: { key: missing } })).rejects.toThrow(
      `EARMARK_WATERMARK_KEY: cannot read ${missing} (ENOENT); give 64 hex digits or a file holding them`,
    );
    const bad = path.join(dir, "bad.key");
    await writeFile(bad, "not a key");
    await expect(setupWatermarking({ dataDir: dir, watermark: { key: bad } })).rejects.toThrow(
      /must hold 64 hex digits/,
    );
  });
});
