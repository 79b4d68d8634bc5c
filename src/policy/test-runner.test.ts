import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadPolicyBundle, type PolicyBundle } from "./bundle.js";
import { formatTestReport, runPolicyTests, type TestReport } from "./test-runner.js";

const YAML = `rules:
  - id: flood
    description: many uploads
    when: account.uploadsLastHour > 10
    action: review
    reason: Too many.
    owner: t
  - id: silence
    description: silent
    when: stats.silenceRatio > 0.98
    action: reject
    reason: Silent.
    owner: t
tests:
  - name: passes
    input: { account: { uploadsLastHour: 11 } }
    expect: { action: review, rules: [flood] }
  - name: wrong action
    input: { account: { uploadsLastHour: 11 } }
    expect: { action: reject }
  - name: wrong rules and labels
    input: { account: { uploadsLastHour: 2 } }
    expect: { action: allow, labels: [], rules: [flood] }
  - name: typo in the fixture
    input: { account: { uploadsLastHours: 11 }, stat: {} }
    expect: { action: review }
  - name: wrong type in the fixture
    input: { account: { uploadsLastHour: "many" } }
    expect: { action: review }
`;

describe("policy test runner", () => {
  let dir: string;
  let bundle: PolicyBundle;
  let report: TestReport;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-ptest-"));
    await writeFile(path.join(dir, "r.yaml"), YAML);
    bundle = await loadPolicyBundle(dir, { git: false });
    report = runPolicyTests(bundle);
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const failuresOf = (name: string) => report.results.find((r) => r.test.name === name)!.failures;

  it("passes a case whose expectations hold", () => {
    expect(failuresOf("passes")).toEqual([]);
  });

  it("says what differs when a case fails", () => {
    expect(failuresOf("wrong action")).toEqual(["expected action reject, got review"]);
    expect(failuresOf("wrong rules and labels")).toEqual(["expected matched rules [flood], got []"]);
  });

  it("refuses fixtures with unknown signals, unknown fields or wrong types", () => {
    expect(failuresOf("typo in the fixture")).toEqual([
      "input.account.uploadsLastHours: unknown field",
      "input.stat: unknown signal (one of upload, account, disclosure, stats, fingerprint, classifier, c2pa, watermark)",
    ]);
    expect(failuresOf("wrong type in the fixture")).toEqual([
      "input.account.uploadsLastHour: Invalid input: expected number, received string",
    ]);
  });

  it("counts coverage over passing cases only", () => {
    expect(report).toMatchObject({ passed: 1, failed: 4 });
    expect(report.coverage).toMatchObject({ covered: ["flood"], uncovered: ["silence"], ratio: 0.5 });
  });

  it("writes JUnit XML and GitHub annotations that name the file and line", () => {
    const junit = formatTestReport(report, "junit");
    expect(junit).toContain('<testsuites tests="5" failures="4">');
    expect(junit).toContain(
      `<testcase classname="${dir}/r.yaml" name="wrong action" file="${dir}/r.yaml" line="18"><failure message="expected action reject, got review">`,
    );
    const github = formatTestReport(report, "github", { minCoverage: 80 }).split("\n");
    expect(github).toContain(
      `::error file=${dir}/r.yaml,line=18,col=11,title=wrong action::expected action reject, got review`,
    );
    expect(github).toContain("::warning title=policy coverage::rules no passing test exercises: silence");
    expect(github).toContain("::error title=policy coverage::rule coverage 50% is below 80%");
  });
});
