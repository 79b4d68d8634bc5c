/** `earmark watermark embed|detect` as an operator runs them: real processes on a real data directory. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encodeWav, makeMix } from "../../test/harness/audio.js";
import { earmark, jsonLines } from "../../test/harness/cli.js";
import { TEST_WATERMARK_KEY } from "../../test/harness/deps.js";

describe("earmark watermark", () => {
  let dir: string;
  let env: Record<string, string>;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-cli-wm-"));
    env = { EARMARK_DATA_DIR: path.join(dir, "data"), EARMARK_WATERMARK_KEY: TEST_WATERMARK_KEY };
    await writeFile(path.join(dir, "take.wav"), encodeWav(makeMix({ seconds: 30, seed: 6201 })));
    // The ingested upload's id is random (a real process draws it); every id decodes from a clean 40 s mix
    // since earmark-wm-2 (src/watermark/watermark.test.ts checks seeded random ids; docs/adr/0010-watermark.md).
    await writeFile(path.join(dir, "long.wav"), encodeWav(makeMix({ seconds: 40, seed: 6202 })));
  });
  afterAll(async () => rm(dir, { recursive: true, force: true }));

  it("embeds a payload into FLAC and MP3 and detects it again, unlinked to any upload", async () => {
    for (const out of ["marked.flac", "marked.mp3", "marked.wav"]) {
      const embedded = await earmark(
        [
          "watermark",
          "embed",
          path.join(dir, "take.wav"),
          path.join(dir, out),
          "--payload",
          "0123456789ABCDEF",
        ],
        env,
      );
      expect(embedded.code, embedded.stderr).toBe(0);
      expect(jsonLines(embedded.stdout)).toEqual([
        { file: path.join(dir, out), payload: "0123456789abcdef", format: out.split(".")[1] },
      ]);
    }
    const files = ["marked.flac", "marked.mp3", "marked.wav", "take.wav"].map((f) => path.join(dir, f));
    const detected = await earmark(["watermark", "detect", ...files], env);
    expect(detected.code, detected.stderr).toBe(0);
    const lines = jsonLines(detected.stdout);
    expect(lines.map((l) => [path.basename(String(l.file)), l.found, l.payload, l.linkedUploadId])).toEqual([
      ["marked.flac", true, "0123456789abcdef", null],
      ["marked.mp3", true, "0123456789abcdef", null],
      ["marked.wav", true, "0123456789abcdef", null],
      ["take.wav", false, null, null],
    ]);
    expect((lines[0]!.ranges as unknown[]).length).toBeGreaterThan(0);
  });

  it("links a distributed rendition's mark to its upload", async () => {
    const ingested = await earmark(
      ["ingest", path.join(dir, "long.wav"), "--metadata", '{"title":"Ingested"}'],
      env,
    );
    expect(ingested.code, ingested.stderr).toBe(0);
    const id = jsonLines(ingested.stdout)[0]!.id as string;
    const rendition = path.join(dir, "data", "blobs", "renditions", id, "audio");
    const detected = await earmark(["watermark", "detect", rendition], env);
    expect(jsonLines(detected.stdout)[0]).toMatchObject({ found: true, linkedUploadId: id });
  });

  it("says what to fix: the payload, the output format, a missing file", async () => {
    const take = path.join(dir, "take.wav");
    const badHex = await earmark(
      ["watermark", "embed", take, path.join(dir, "x.wav"), "--payload", "xyz"],
      env,
    );
    expect(badHex.code).not.toBe(0);
    expect(badHex.stderr).toMatch(/--payload: .*16 hex digits/);
    const ogg = await earmark(
      ["watermark", "embed", take, path.join(dir, "x.ogg"), "--payload", "00".repeat(8)],
      env,
    );
    expect(ogg.stderr).toMatch(/x\.ogg: the output must end in \.wav, \.flac or \.mp3/);
    const missing = await earmark(["watermark", "detect", path.join(dir, "nope.wav")], env);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/nope\.wav: no such file/);
  });
});
