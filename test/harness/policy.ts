/** Policy bundles for tests: the shipped one plus test rules, in a temporary directory of their own. */
import { cp, mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";

/** A rule that holds an upload for review when its title contains "hold me". */
export const HOLD_RULE = `
rules:
  - id: hold-me
    description: test rule
    when: upload.title.contains("hold me")
    action: review
    reason: Held for the test.
    priority: 42
    owner: tests
`;

/** Copies the shipped bundle (policies/, without its test code) into a new directory and adds `files`. */
export async function shippedBundleWith(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-bundle-"));
  await cp(path.resolve("policies"), dir, { recursive: true, filter: (src) => !src.endsWith(".test.ts") });
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}
