import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPolicyBundle, type PolicyBundle } from "./bundle.js";
import { evaluatePolicy } from "./evaluate.js";
import { buildPolicyInput, type PolicyInput } from "./input.js";
import { NEUTRAL_FACTS } from "./test-runner.js";

const YAML = `
labels:
  ai-generated-voice: AI-generated voice
  loud: Very loud
constants:
  FLOOD: 10
  LOUD_LUFS: -8.0
rules:
  - id: flood
    description: many uploads
    when: account.uploadsLastHour > FLOOD
    action: review
    reason: Too many uploads.
    priority: 50
    owner: t
  - id: flood-strict
    description: trial
    when: account.uploadsLastHour > FLOOD / 2
    action: reject
    reason: Trial.
    mode: shadow
    owner: t
  - id: voice
    description: disclosed voice
    when: disclosure.roles.voice == "generated"
    action: label
    labels: [ai-generated-voice]
    reason: AI voice.
    priority: 10
    owner: t
  - id: loud
    description: very loud
    when: has(stats.integratedLoudnessLufs) && stats.integratedLoudnessLufs > LOUD_LUFS
    action: label
    labels: [loud]
    reason: Loud.
    priority: 20
    owner: t
  - id: silence
    description: silent
    when: stats.silenceRatio > 0.98
    action: reject
    reason: Silent.
    priority: 80
    owner: t
  - id: fragile
    description: reads a field that may be absent without has()
    when: stats.spectralFlatness > 0.9
    action: review
    reason: Fragile.
    owner: t
`;

describe("evaluating a bundle", () => {
  let dir: string;
  let bundle: PolicyBundle;
  const base = buildPolicyInput(NEUTRAL_FACTS);
  const input = (patch: (i: PolicyInput) => void): PolicyInput => {
    const i = structuredClone(base);
    patch(i);
    return i;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-eval-"));
    await writeFile(path.join(dir, "rules.yaml"), YAML);
    bundle = await loadPolicyBundle(dir, { git: false });
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it("allows when nothing matches, with every rule traced", () => {
    const d = evaluatePolicy(bundle, base);
    expect(d).toMatchObject({
      action: "allow",
      labels: [],
      reasons: [],
      policyRevision: bundle.revision,
      priority: 0,
    });
    expect(d.trace.rules.map((r) => r.id).sort()).toEqual([
      "flood",
      "flood-strict",
      "fragile",
      "loud",
      "silence",
      "voice",
    ]);
    expect(d.trace.rules.every((r) => !r.matched)).toBe(true);
  });

  it("takes the most severe enforced action, unions labels, and orders reasons by severity then priority", () => {
    const d = evaluatePolicy(
      bundle,
      input((i) => {
        i.account.uploadsLastHour = 11;
        i.disclosure.roles.voice = "generated";
        i.stats.integratedLoudnessLufs = -6;
      }),
    );
    expect(d.action).toBe("review");
    expect(d.labels).toEqual(["ai-generated-voice", "loud"]);
    expect(d.reasons.map((r) => r.ruleId)).toEqual(["flood", "loud", "voice"]);
    expect(d.priority).toBe(50);
  });

  it("lets a shadow rule match without changing the decision", () => {
    const d = evaluatePolicy(
      bundle,
      input((i) => (i.account.uploadsLastHour = 6)),
    );
    expect(d.action).toBe("allow");
    expect(d.reasons).toEqual([]);
    expect(d.trace.rules.find((r) => r.id === "flood-strict")).toMatchObject({
      matched: true,
      mode: "shadow",
    });
  });

  it("records the values each rule read, constants included", () => {
    const d = evaluatePolicy(
      bundle,
      input((i) => (i.account.uploadsLastHour = 11)),
    );
    expect(d.trace.rules.find((r) => r.id === "flood")?.values).toEqual({
      "account.uploadsLastHour": 11,
      FLOOD: 10,
    });
    expect(d.trace.rules.find((r) => r.id === "loud")?.values).toEqual({
      "stats.integratedLoudnessLufs": -14,
      LOUD_LUFS: -8,
    });
  });

  it("treats an unknown value as absent: has() is false, and a rule reading it without has() fails, traced", () => {
    const silent = input((i) => {
      i.stats.integratedLoudnessLufs = null;
      i.stats.spectralFlatness = null;
      i.stats.silenceRatio = 1;
    });
    const d = evaluatePolicy(bundle, silent);
    expect(d.action).toBe("reject");
    const loud = d.trace.rules.find((r) => r.id === "loud")!;
    expect(loud).toMatchObject({ matched: false, values: { "stats.integratedLoudnessLufs": null } });
    expect(loud.error).toBeUndefined();
    const fragile = d.trace.rules.find((r) => r.id === "fragile")!;
    expect(fragile.matched).toBe(false);
    expect(fragile.error).toMatch(/spectralFlatness/);
  });

  it("is deterministic: the same input gives the same decision", () => {
    const i = input((x) => {
      x.account.uploadsLastHour = 11;
      x.disclosure.roles.voice = "generated";
    });
    expect(evaluatePolicy(bundle, i)).toEqual(evaluatePolicy(bundle, structuredClone(i)));
  });
});
