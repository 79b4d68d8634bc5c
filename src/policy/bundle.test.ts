import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatProblem, loadPolicyBundle, PolicyBundleError } from "./bundle.js";

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function bundleDir(files: Record<string, string>): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "earmark-policy-"));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  return dir;
}

/** Loads a bundle that must fail; returns its problems as `file:line:col: message` lines, file names short. */
async function problemsOf(files: Record<string, string>): Promise<string[]> {
  const dir = await bundleDir(files);
  try {
    await loadPolicyBundle(dir, { git: false });
  } catch (err) {
    if (!(err instanceof PolicyBundleError)) throw err;
    return err.problems.map((p) => formatProblem({ ...p, file: path.basename(p.file) }));
  }
  throw new Error("the bundle loaded, but it should not have");
}

const ORDER = ["id", "description", "when", "action", "labels", "reason", "priority", "mode", "owner"];

/** One rule as YAML lines, keys in the documented order (then any extra keys): positions below count on it. */
const rule = (fields: Record<string, string>) => {
  const all: Record<string, string> = {
    description: "d",
    action: "review",
    reason: "r",
    owner: "o",
    ...fields,
  };
  const keys = [...ORDER.filter((k) => k in all), ...Object.keys(all).filter((k) => !ORDER.includes(k))];
  return `  - ${keys.map((k) => `${k}: ${all[k]}`).join("\n    ")}\n`;
};

describe("loading a policy bundle", () => {
  it("loads the default bundle with every rule type-checked", async () => {
    const bundle = await loadPolicyBundle(path.resolve("policies"), { git: false });
    expect(bundle.rules.length).toBeGreaterThanOrEqual(20);
    expect(bundle.revision).toMatch(/^[0-9a-f]{16}$/);
    // Priority first, then the order of the files.
    const priorities = bundle.rules.map((r) => r.priority);
    expect(priorities).toEqual([...priorities].sort((a, b) => b - a));
    expect(bundle.rules.find((r) => r.id === "silence-only")?.facts.reads).toEqual([
      "stats.available",
      "stats.silenceRatio",
    ]);
  });

  it("gives the same revision for the same content and a new one for any change", async () => {
    const a = await loadPolicyBundle(
      await bundleDir({ "r.yaml": `rules:\n${rule({ id: "x", when: "account.uploadsLastHour > 5" })}` }),
      { git: false },
    );
    const b = await loadPolicyBundle(
      await bundleDir({ "r.yaml": `rules:\n${rule({ id: "x", when: "account.uploadsLastHour > 5" })}` }),
      { git: false },
    );
    const c = await loadPolicyBundle(
      await bundleDir({ "r.yaml": `rules:\n${rule({ id: "x", when: "account.uploadsLastHour > 6" })}` }),
      { git: false },
    );
    expect(a.revision).toBe(b.revision);
    expect(c.revision).not.toBe(a.revision);
  });

  it("reports a YAML syntax error where it is", async () => {
    expect(await problemsOf({ "broken.yaml": "rules:\n  - id: x\n    when: [unclosed\n" })).toEqual([
      "broken.yaml:4:1: YAML: Flow sequence in block collection must be sufficiently indented and end with a ]",
    ]);
  });

  it("reports schema problems per rule without hiding the other rules' problems", async () => {
    const problems = await problemsOf({
      "r.yaml": `rules:\n${rule({ id: "bad-shape", when: "true", action: "ban", colour: "red" })}${rule({ id: "Bad Id", when: "true" })}${rule({ id: "fine-but-wrong", when: "stats.nope > 1.0" })}`,
    });
    // `when: true` is a YAML boolean, not an expression: a realistic slip, reported as such.
    expect(problems).toEqual([
      "r.yaml:4:11: rule bad-shape: when: Invalid input: expected string, received boolean",
      'r.yaml:5:13: rule bad-shape: action: Invalid option: expected one of "allow"|"label"|"review"|"reject"',
      'r.yaml:8:13: rule bad-shape: unknown key "colour"',
      "r.yaml:9:9: rule Bad Id: id: use lowercase letters, digits and hyphens",
      "r.yaml:11:11: rule Bad Id: when: Invalid input: expected string, received boolean",
      "r.yaml:17:17: rule fine-but-wrong: when: No such key: nope",
    ]);
  });

  it("reports unknown fields, type errors and non-boolean conditions at their column", async () => {
    const problems = await problemsOf({
      "r.yaml": `constants:\n  LIMIT: 10\nrules:\n${rule({ id: "unknown", when: "stats.silenceRatiox > 0.5" })}${rule({ id: "types", when: "upload.title > 3" })}${rule({ id: "not-bool", when: "account.uploadsLastHour + LIMIT" })}${rule({ id: "no-var", when: "nope.x" })}`,
    });
    expect(problems).toEqual([
      "r.yaml:6:17: rule unknown: when: No such key: silenceRatiox",
      "r.yaml:12:11: rule types: when: no such overload: string > int",
      "r.yaml:18:11: rule not-bool: when must be a boolean expression; this one is int",
      "r.yaml:24:11: rule no-var: when: Unknown variable: nope",
    ]);
  });

  it("locates errors inside multi-line block scalars", async () => {
    const problems = await problemsOf({
      "r.yaml": `rules:\n  - id: multi\n    description: d\n    when: |\n      disclosure.stated &&\n        stats.nope > 1.0\n    action: review\n    reason: r\n    owner: o\n`,
    });
    expect(problems).toEqual(["r.yaml:6:15: rule multi: when: No such key: nope"]);
  });

  it("refuses rules that can never match", async () => {
    const problems = await problemsOf({
      "r.yaml": `rules:\n${rule({ id: "bounds", when: "stats.silenceRatio > 0.9 && stats.silenceRatio < 0.5" })}${rule({ id: "enum", when: 'upload.kind == "song"' })}${rule({ id: "enum-list", when: 'upload.kind in ["music", "single"]' })}${rule({ id: "constant", when: "1 > 2" })}${rule({ id: "equal-bounds", when: "account.uploadsLastHour > 3 && account.uploadsLastHour <= 3" })}`,
    });
    expect(problems).toEqual([
      "r.yaml:4:11: rule bounds: can never be true: stats.silenceRatio cannot be > 0.9 and < 0.5 at once",
      'r.yaml:10:11: rule enum: upload.kind is never "song": it is one of music, podcast, audiobook, other',
      'r.yaml:16:11: rule enum-list: upload.kind is never "single": it is one of music, podcast, audiobook, other',
      "r.yaml:22:11: rule constant: when is always false: the rule can never match",
      "r.yaml:28:11: rule equal-bounds: can never be true: account.uploadsLastHour cannot be > 3 and ≤ 3 at once",
    ]);
  });

  it("refuses duplicate rule ids and constants across files, naming the first", async () => {
    const problems = await problemsOf({
      "a.yaml": `constants:\n  LIMIT: 5\nrules:\n${rule({ id: "dup", when: "account.uploadsLastHour > LIMIT" })}`,
      "b.yaml": `constants:\n  LIMIT: 6\nrules:\n${rule({ id: "dup", when: "account.uploadsLastDay > LIMIT" })}`,
    });
    expect(problems).toEqual([
      `b.yaml:2:10: constant LIMIT is already defined at ${dirs[0]}/a.yaml:2:10`,
      `b.yaml:4:9: rule dup: duplicate rule id (first defined at ${dirs[0]}/a.yaml:4:9)`,
    ]);
  });

  it("requires labels to be declared, and label rules to name one", async () => {
    const problems = await problemsOf({
      "r.yaml": `labels:\n  ai-generated-voice: AI-generated voice\nrules:\n${rule({ id: "typo", action: "label", labels: "[ai-generated-vocals]", when: "disclosure.stated" })}${rule({ id: "empty", action: "label", when: "disclosure.stated" })}`,
    });
    expect(problems).toEqual([
      "r.yaml:8:14: rule typo: label ai-generated-vocals is not declared (add it under `labels:` with the text listeners see)",
      "r.yaml:11:5: rule empty: a rule with action label must name at least one label",
    ]);
  });

  it("never lets the AI-likeness score reject", async () => {
    const problems = await problemsOf({
      "r.yaml": `rules:\n${rule({ id: "ai-reject", action: "reject", when: "classifier.score > 0.99" })}`,
    });
    expect(problems).toEqual([
      "r.yaml:5:13: rule ai-reject: a reject rule may not read classifier.*: the AI-likeness score may send uploads to review, never reject them",
    ]);
    // As a shadow rule it is only traced, so it is allowed.
    await loadPolicyBundle(
      await bundleDir({
        "r.yaml": `rules:\n${rule({ id: "ai-reject", action: "reject", mode: "shadow", when: "classifier.score > 0.99" })}`,
      }),
      { git: false },
    );
  });

  it("refuses invalid regular expressions, enforced allow rules and bad constants", async () => {
    const problems = await problemsOf({
      "r.yaml": `constants:\n  MIXED: [1, two]\n  EMPTY: []\nrules:\n${rule({ id: "regex", when: 'upload.title.matches("(?i)free")' })}${rule({ id: "noop", action: "allow", when: "disclosure.stated" })}`,
    });
    expect(problems).toEqual([
      "r.yaml:2:10: constant MIXED must be a number, a string, a boolean, or a non-empty list of numbers or of strings",
      "r.yaml:3:10: constant EMPTY must be a number, a string, a boolean, or a non-empty list of numbers or of strings",
      'r.yaml:7:11: rule regex: invalid regular expression "(?i)free": Invalid regular expression: /(?i)free/u: Invalid group',
      "r.yaml:14:13: rule noop: an enforced allow rule without labels can never change a decision (allow is the default); remove it or make it a shadow rule",
    ]);
  });

  it("types constants from how they are written: 10 is an int, 10.0 a double", async () => {
    const bundle = await loadPolicyBundle(
      await bundleDir({
        "r.yaml": `constants:\n  COUNT: 10\n  RATIO: 0.5\n  WHOLE_DOUBLE: 10.0\n  NAMES: [a, b]\n  COUNTS: [1, 2]\nrules:\n${rule({ id: "x", when: "account.uploadsLastHour > COUNT && stats.silenceRatio > RATIO && stats.durationS > WHOLE_DOUBLE" })}`,
      }),
      { git: false },
    );
    expect(Object.fromEntries(bundle.constants.map((c) => [c.name, c.cel]))).toEqual({
      COUNT: "int",
      RATIO: "double",
      WHOLE_DOUBLE: "double",
      NAMES: "list<string>",
      COUNTS: "list<int>",
    });
  });

  it("checks that test cases refer to rules and labels that exist", async () => {
    const problems = await problemsOf({
      "r.yaml": `rules:\n${rule({ id: "x", when: "account.uploadsLastHour > 5" })}tests:\n  - name: t\n    expect: { action: review, rules: [y], labels: [nope] }\n`,
    });
    expect(problems).toEqual([
      'r.yaml:10:39: test "t" expects rule y, which does not exist',
      'r.yaml:10:52: test "t" expects label nope, which is not declared',
    ]);
  });

  it("refuses an empty directory and unknown sections", async () => {
    expect(await problemsOf({ "notes.txt": "x" })).toEqual([
      expect.stringMatching(/the bundle has no \.yaml files$/),
    ]);
    expect(await problemsOf({ "r.yaml": "rulez: []\n" })).toEqual(['r.yaml:1:8: unknown key "rulez"']);
  });
});
