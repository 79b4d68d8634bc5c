/** `earmark detector …` as a user runs it: a real process. */
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { earmark, jsonLines } from "../../test/harness/cli.js";
import { MODEL_DIR } from "../classifier/model.js";

const speech = path.join(MODEL_DIR, "fixtures", "synthetic-speech.wav");

describe("earmark detector", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-cli-detector-"));
    await writeFile(path.join(dir, "notes.txt"), "not audio at all\n");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("score prints one JSON line per file with the score and 2 s segments", async () => {
    const run = await earmark(["detector", "score", speech, speech], {});
    expect(run.code).toBe(0);
    const lines = jsonLines(run.stdout);
    expect(lines).toHaveLength(2);
    const [first] = lines;
    expect(first).toMatchObject({ file: speech, applicable: true });
    expect(typeof first?.score).toBe("number");
    const segments = first?.segments as { startS: number; endS: number; score: number }[];
    expect(segments.length).toBeGreaterThan(0);
    expect(segments[0]).toMatchObject({ startS: 0, endS: 2 });
    expect(lines[1]).toEqual(first);
  });

  it("says what is wrong with a file that is not audio, or not there", async () => {
    const bad = await earmark(["detector", "score", path.join(dir, "notes.txt")], {});
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /notes\.txt: The file is .*not audio Earmark can read|notes\.txt: .*Supported formats/,
    );
    const missing = await earmark(["detector", "score", path.join(dir, "gone.wav")], {});
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("gone.wav: no such file.");
  });

  it("eval refuses a directory without a corpus and says how to build one", async () => {
    const run = await earmark(["detector", "eval", "--data", dir], {});
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("manifest.json not found: build the corpus first");
  });
});
