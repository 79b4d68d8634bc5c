import { mkdtemp, readFile, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadOrCreateWatermarkKey, parsePayloadHex } from "./key.js";

describe("parsePayloadHex", () => {
  it("parses 16 hex digits", () => {
    expect(Array.from(parsePayloadHex("00000000000004D2"))).toEqual([0, 0, 0, 0, 0, 0, 4, 210]);
  });
  it.each(["", "1234", "00000000000004d2ff", "zz000000000004d2", "0x000000000004d2"])("rejects %j", (hex) => {
    expect(() => parsePayloadHex(hex)).toThrow(/16 hex digits/);
  });
});

describe("loadOrCreateWatermarkKey", () => {
  it("creates a 32-byte key with mode 0600 and reads the same key back", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wm-key-"));
    const file = join(dir, "watermark.key");
    const key = await loadOrCreateWatermarkKey(file);
    expect(key.length).toBe(32);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await readFile(file, "utf8")).trim()).toBe(Buffer.from(key).toString("hex"));
    expect(Array.from(await loadOrCreateWatermarkKey(file))).toEqual(Array.from(key));
    const other = await loadOrCreateWatermarkKey(join(dir, "other.key"));
    expect(Buffer.from(other).equals(Buffer.from(key))).toBe(false);
  });

  it("refuses a malformed key file and says what to fix", async () => {
    const dir = await mkdtemp(join(tmpdir(), "wm-key-"));
    const file = join(dir, "watermark.key");
    await writeFile(file, "not-a-key\n");
    await expect(loadOrCreateWatermarkKey(file)).rejects.toThrow(/64 hex digits.*delete the file/s);
    expect(await readFile(file, "utf8")).toBe("not-a-key\n");
  });
});
