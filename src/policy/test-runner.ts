import type { PolicyBundle, PolicyTestCase } from "./bundle.js";
import { type CelField, POLICY_VARIABLES } from "./cel-schema.js";
import { evaluatePolicy, type PolicyDecision } from "./evaluate.js";
import { buildPolicyInput, type DecisionFacts, type PolicyInput, policyInputSchema } from "./input.js";

/**
 * The upload a test case starts from: a three-minute music track from an established account, of ordinary
 * loudness, with no disclosure and no matches. A case's `input` overrides only what it is about.
 */
export const NEUTRAL_FACTS: DecisionFacts = {
  upload: {
    id: "upl_test",
    accountId: "acc_test",
    metadata: { kind: "music", title: "Harbour Lights", artist: "The Test Ensemble" },
    sizeBytes: 4_300_000,
    format: "mp3",
    sampleRate: 44100,
    channels: 2,
    declaredDurationS: 180,
  },
  signals: {
    decode: { durationS: 180, sampleRate: 44100, channels: 2 },
    stats: {
      durationS: 180,
      integratedLoudnessLufs: -14,
      loudnessRangeLu: 6.5,
      samplePeakDbfs: -1,
      truePeakDbtp: -0.8,
      silenceRatio: 0.02,
      leadingSilenceS: 0.3,
      trailingSilenceS: 1.5,
      clippingRatio: 0,
      spectralFlatness: 0.12,
    },
    account: {
      ageDays: 400,
      uploadsLastHour: 1,
      uploadsLastDay: 2,
      recentDurationsS: [180, 212],
      sameFileUploads: 0,
      pastRejections: 0,
    },
  },
};

export interface TestResult {
  test: PolicyTestCase;
  passed: boolean;
  failures: string[];
  decision: PolicyDecision | null;
  /** Rules that matched (enforced and shadow). */
  matched: string[];
}

export interface TestReport {
  results: TestResult[];
  passed: number;
  failed: number;
  /** Rules matched by at least one passing case, over all rules. */
  coverage: { covered: string[]; uncovered: string[]; ratio: number };
}

function deepMerge(base: unknown, over: unknown): unknown {
  if (over === undefined) return base;
  if (Array.isArray(over) || over === null || typeof over !== "object") return over;
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const [k, v] of Object.entries(over)) out[k] = deepMerge(out[k], v);
  return out;
}

/** Keys in a fixture that the policy input does not have, with their paths. */
function unknownKeys(value: unknown, field: CelField | null, path: string[]): string[][] {
  if (!field || value === null || typeof value !== "object") return [];
  if (field.kind === "list")
    return Array.isArray(value)
      ? value.flatMap((v, i) => unknownKeys(v, field.item, [...path, String(i)]))
      : [];
  if (field.kind !== "object" || Array.isArray(value)) return [];
  return Object.entries(value).flatMap(([k, v]) =>
    Object.hasOwn(field.fields, k) ? unknownKeys(v, field.fields[k]!, [...path, k]) : [[...path, k]],
  );
}

/** The input a test case describes, or the problems with its fixture. */
export function testInput(test: PolicyTestCase): { input: PolicyInput } | { problems: string[] } {
  const problems: string[] = [];
  for (const [k, v] of Object.entries(test.input)) {
    const f = POLICY_VARIABLES[k];
    if (!f) {
      problems.push(`input.${k}: unknown signal (one of ${Object.keys(POLICY_VARIABLES).join(", ")})`);
      continue;
    }
    for (const p of unknownKeys(v, f, [k])) problems.push(`input.${p.join(".")}: unknown field`);
  }
  if (problems.length > 0) return { problems };
  const merged = deepMerge(buildPolicyInput(NEUTRAL_FACTS), test.input);
  const parsed = policyInputSchema.safeParse(merged);
  if (!parsed.success)
    return { problems: parsed.error.issues.map((i) => `input.${i.path.join(".")}: ${i.message}`) };
  return { input: parsed.data };
}

const sameSet = (a: string[], b: string[]) =>
  a.length === b.length && [...a].sort().every((x, i) => x === [...b].sort()[i]);

/** Runs every test case of the bundle against it. */
export function runPolicyTests(bundle: PolicyBundle): TestReport {
  const results: TestResult[] = [];
  const covered = new Set<string>();
  for (const test of bundle.tests) {
    const built = testInput(test);
    if ("problems" in built) {
      results.push({ test, passed: false, failures: built.problems, decision: null, matched: [] });
      continue;
    }
    const decision = evaluatePolicy(bundle, built.input);
    const matched = decision.trace.rules.filter((r) => r.matched).map((r) => r.id);
    const failures: string[] = [];
    for (const r of decision.trace.rules)
      if (r.error) failures.push(`rule ${r.id} failed to evaluate: ${r.error}`);
    if (decision.action !== test.expect.action)
      failures.push(`expected action ${test.expect.action}, got ${decision.action}`);
    if (test.expect.labels && !sameSet(test.expect.labels, decision.labels))
      failures.push(
        `expected labels [${test.expect.labels.join(", ")}], got [${decision.labels.join(", ")}]`,
      );
    if (test.expect.rules && !sameSet(test.expect.rules, matched))
      failures.push(`expected matched rules [${test.expect.rules.join(", ")}], got [${matched.join(", ")}]`);
    const passed = failures.length === 0;
    if (passed) for (const id of matched) covered.add(id);
    results.push({ test, passed, failures, decision, matched });
  }
  const all = bundle.rules.map((r) => r.id);
  const uncovered = all.filter((id) => !covered.has(id));
  return {
    results,
    passed: results.filter((r) => r.passed).length,
    failed: results.filter((r) => !r.passed).length,
    coverage: {
      covered: all.filter((id) => covered.has(id)),
      uncovered,
      ratio: all.length ? covered.size / all.length : 1,
    },
  };
}

const xml = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** The report as text, JUnit XML (for CI test reports) or GitHub annotations (`::error file=…`). */
export function formatTestReport(
  report: TestReport,
  format: "text" | "junit" | "github",
  opts: { minCoverage?: number } = {},
): string {
  const { coverage } = report;
  const pct = (coverage.ratio * 100).toFixed(0);
  if (format === "junit") {
    const cases = report.results
      .map((r) => {
        const name = xml(r.test.name);
        const classname = xml(r.test.file);
        const body = r.passed
          ? ""
          : `<failure message="${xml(r.failures[0] ?? "failed")}">${xml(r.failures.join("\n"))}</failure>`;
        return `    <testcase classname="${classname}" name="${name}" file="${classname}" line="${r.test.line}">${body}</testcase>`;
      })
      .join("\n");
    return [
      '<?xml version="1.0" encoding="UTF-8"?>',
      `<testsuites tests="${report.results.length}" failures="${report.failed}">`,
      `  <testsuite name="policy" tests="${report.results.length}" failures="${report.failed}">`,
      `    <properties><property name="rule-coverage" value="${pct}%"/></properties>`,
      cases,
      "  </testsuite>",
      "</testsuites>",
    ].join("\n");
  }
  const lines: string[] = [];
  for (const r of report.results) {
    if (format === "github") {
      if (!r.passed)
        lines.push(
          `::error file=${r.test.file},line=${r.test.line},col=${r.test.col},title=${r.test.name}::${r.failures.join("; ")}`,
        );
      continue;
    }
    lines.push(`${r.passed ? "ok  " : "FAIL"} ${r.test.file}:${r.test.line}  ${r.test.name}`);
    for (const f of r.failures) lines.push(`       ${f}`);
  }
  const summary = `${report.passed} passed, ${report.failed} failed; rule coverage ${pct}% (${coverage.covered.length}/${coverage.covered.length + coverage.uncovered.length})`;
  if (format === "github") {
    if (coverage.uncovered.length > 0)
      lines.push(
        `::warning title=policy coverage::rules no passing test exercises: ${coverage.uncovered.join(", ")}`,
      );
    if (opts.minCoverage !== undefined && coverage.ratio * 100 < opts.minCoverage)
      lines.push(`::error title=policy coverage::rule coverage ${pct}% is below ${opts.minCoverage}%`);
    lines.push(summary);
  } else {
    lines.push("", summary);
    if (coverage.uncovered.length > 0) lines.push(`not exercised: ${coverage.uncovered.join(", ")}`);
  }
  return lines.join("\n");
}
