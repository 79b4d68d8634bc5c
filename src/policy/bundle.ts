import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import type { Environment } from "@marcbachmann/cel-js";
import { isScalar, LineCounter, type Node, parseDocument, type Scalar } from "yaml";
import { ACTIONS, type Action } from "../pipeline/decide.js";
import { z } from "../zod.js";
import { type ConstantDecl, type ConstantValue, constantType, policyEnvironment } from "./cel-schema.js";
import { analyseExpression, type ExpressionFacts } from "./static-check.js";

/** A problem in a policy bundle, located precisely enough for an editor or a CI annotation. */
export interface PolicyProblem {
  file: string;
  line: number;
  col: number;
  ruleId?: string;
  message: string;
}

export function formatProblem(p: PolicyProblem): string {
  return `${p.file}:${p.line}:${p.col}: ${p.ruleId ? `rule ${p.ruleId}: ` : ""}${p.message}`;
}

export class PolicyBundleError extends Error {
  constructor(readonly problems: PolicyProblem[]) {
    super(
      `The policy bundle has ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${problems.map(formatProblem).join("\n")}`,
    );
    this.name = "PolicyBundleError";
  }
}

export const MODES = ["enforce", "shadow"] as const;
export type Mode = (typeof MODES)[number];

/** Severity for combination: the most severe enforced action wins. */
export const SEVERITY: Record<Action, number> = { allow: 0, label: 1, review: 2, reject: 3 };

const slug = z.string().regex(/^[a-z0-9][a-z0-9-]*$/, "use lowercase letters, digits and hyphens");
const constantName = z.string().regex(/^[A-Z][A-Z0-9_]*$/, "constants are UPPER_SNAKE_CASE");

const ruleSchema = z.strictObject({
  id: slug,
  description: z.string().min(1),
  when: z.string().min(1),
  action: z.enum(ACTIONS),
  labels: z.array(slug).default([]),
  reason: z.string().min(1),
  priority: z.number().int().default(0),
  mode: z.enum(MODES).default("enforce"),
  owner: z.string().min(1),
});

const testSchema = z.strictObject({
  name: z.string().min(1),
  input: z.record(z.string(), z.unknown()).default({}),
  expect: z.strictObject({
    action: z.enum(ACTIONS),
    labels: z.array(slug).optional(),
    rules: z.array(slug).optional(),
  }),
});

/** A file's sections. Rules and tests are checked one by one, so one bad rule does not hide the others. */
const fileSchema = z.strictObject({
  constants: z.record(constantName, z.unknown()).optional(),
  labels: z.record(slug, z.string().min(1)).optional(),
  rules: z.array(z.unknown()).optional(),
  tests: z.array(z.unknown()).optional(),
});

interface FileData {
  constants?: Record<string, unknown>;
  labels?: Record<string, string>;
  rules: (z.infer<typeof ruleSchema> | null)[];
  tests: (z.infer<typeof testSchema> | null)[];
}

/** A compiled rule, ready to evaluate. */
export interface PolicyRule extends z.infer<typeof ruleSchema> {
  file: string;
  line: number;
  col: number;
  /** Index in load order; ties in priority keep it. */
  order: number;
  evaluate(activation: Record<string, unknown>): unknown;
  facts: ExpressionFacts;
}

export interface PolicyTestCase extends z.infer<typeof testSchema> {
  file: string;
  line: number;
  col: number;
  /** Where each expected rule id is written, for messages. */
  pointer: (p: (string | number)[]) => { line: number; col: number };
}

export interface PolicyBundle {
  dir: string;
  /** Content hash of the bundle's files (names and bytes). */
  revision: string;
  /** The git commit of the bundle directory, when it is a clean checkout. */
  gitCommit: string | null;
  files: string[];
  /** Rules by priority (highest first), then load order. */
  rules: PolicyRule[];
  constants: ConstantDecl[];
  labels: Record<string, string>;
  tests: PolicyTestCase[];
  env: Environment;
}

interface ParsedFile {
  rel: string;
  text: string;
  lc: LineCounter;
  doc: ReturnType<typeof parseDocument>;
  data: FileData | null;
}

async function yamlFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string) => {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (/\.ya?ml$/.test(e.name)) out.push(p);
    }
  };
  await walk(dir);
  return out.sort();
}

function position(f: ParsedFile, node: Node | null | undefined): { line: number; col: number } {
  const at = node?.range?.[0] ?? 0;
  return f.lc.linePos(at);
}

/** The node at `p`, or the nearest ancestor that exists (a missing key is reported at its parent). */
function nodeAt(f: ParsedFile, p: (string | number)[]): Node | null {
  for (let n = p.length; n >= 0; n--) {
    const node = n === 0 ? f.doc.contents : f.doc.getIn(p.slice(0, n), true);
    if (node && typeof node === "object" && "range" in node) return node as Node;
  }
  return null;
}

/**
 * Where offset `offset` of a scalar's value is in the file. Plain and quoted scalars map directly; block
 * scalars (`|`, `>`) map line by line below their header.
 */
function scalarOffsetPosition(f: ParsedFile, node: Scalar, offset: number): { line: number; col: number } {
  const start = node.range?.[0] ?? 0;
  if (node.type === "BLOCK_LITERAL" || node.type === "BLOCK_FOLDED") {
    const value = String(node.value);
    const before = value.slice(0, offset).split("\n");
    const header = f.lc.linePos(start);
    // The first content line follows the header; find its indentation.
    const lines = f.text.split("\n");
    const first = lines[header.line] ?? "";
    const indent = first.length - first.trimStart().length;
    return { line: header.line + before.length, col: indent + (before[before.length - 1]?.length ?? 0) + 1 };
  }
  const quoted = node.type === "QUOTE_DOUBLE" || node.type === "QUOTE_SINGLE" ? 1 : 0;
  return f.lc.linePos(start + quoted + offset);
}

function isIntegerLiteral(f: ParsedFile, node: Node | null): boolean {
  if (!node?.range) return false;
  const src = f.text.slice(node.range[0], node.range[1]);
  return /^\s*\[?\s*[-+]?\d+(\s*,\s*[-+]?\d+)*\s*\]?\s*$/.test(src) || /^(\s*-\s*[-+]?\d+\s*)+$/.test(src);
}

function gitCommitOf(dir: string): string | null {
  try {
    const opts = {
      cwd: dir,
      stdio: ["ignore", "pipe", "ignore"] as ["ignore", "pipe", "ignore"],
      timeout: 5000,
    };
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "."], opts).toString().trim();
    if (dirty) return null;
    return execFileSync("git", ["rev-parse", "HEAD"], opts).toString().trim() || null;
  } catch {
    return null;
  }
}

/**
 * Loads, validates and compiles the policy bundle in `dir` (every `*.yaml` below it). Collects every
 * problem — YAML syntax, schema, duplicate ids and constants, undeclared labels, expressions that do not
 * type-check against the policy input, rules that can never match, test cases that refer to nothing — and
 * throws them together as a {@link PolicyBundleError}.
 *
 * @example
 * const bundle = await loadPolicyBundle("policies");
 * bundle.revision // "5d0c1f…"
 */
export async function loadPolicyBundle(dir: string, opts: { git?: boolean } = {}): Promise<PolicyBundle> {
  const abs = path.resolve(dir);
  const files = await yamlFiles(abs).catch((err: NodeJS.ErrnoException) => {
    throw new PolicyBundleError([
      { file: dir, line: 1, col: 1, message: `cannot read the bundle directory: ${err.message}` },
    ]);
  });
  if (files.length === 0)
    throw new PolicyBundleError([{ file: dir, line: 1, col: 1, message: "the bundle has no .yaml files" }]);
  const problems: PolicyProblem[] = [];
  const hash = createHash("sha256");
  const parsed: ParsedFile[] = [];

  for (const file of files) {
    // Shown as the user named the bundle: `policies/spam.yaml`, `/tmp/candidate/spam.yaml`.
    const rel = path.join(dir, path.relative(abs, file));
    const text = await readFile(file, "utf8");
    hash.update(path.relative(abs, file)).update("\0").update(text).update("\0");
    const lc = new LineCounter();
    const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
    const f: ParsedFile = { rel, text, lc, doc, data: null };
    parsed.push(f);
    if (doc.errors.length > 0) {
      for (const e of doc.errors) {
        const pos = lc.linePos(e.pos[0]);
        problems.push({
          file: rel,
          line: pos.line,
          col: pos.col,
          message: `YAML: ${e.message.split("\n")[0]}`,
        });
      }
      continue;
    }
    const report = (issues: z.core.$ZodIssue[], base: (string | number)[], ruleId?: string) => {
      for (const issue of issues) {
        const keys = issue.code === "unrecognized_keys" ? issue.keys : [null];
        for (const key of keys) {
          const p = [...base, ...issue.path, ...(key ? [key] : [])] as (string | number)[];
          const field = issue.path.join(".");
          const message = key
            ? `unknown key "${key}"${field ? ` in ${field}` : ""}`
            : `${field || base.join(".") || "file"}: ${issue.message}`;
          problems.push({ file: rel, ...position(f, nodeAt(f, p)), ...(ruleId ? { ruleId } : {}), message });
        }
      }
    };
    const result = fileSchema.safeParse(doc.toJS({ maxAliasCount: 50 }) ?? {});
    if (!result.success) {
      report(result.error.issues, []);
      continue;
    }
    const rulesIn = (result.data.rules ?? []).map((r, i) => {
      const one = ruleSchema.safeParse(r);
      if (one.success) return one.data;
      const id = (r as { id?: unknown } | null)?.id;
      report(one.error.issues, ["rules", i], typeof id === "string" ? id : undefined);
      return null;
    });
    const testsIn = (result.data.tests ?? []).map((t, i) => {
      const one = testSchema.safeParse(t);
      if (one.success) return one.data;
      report(one.error.issues, ["tests", i]);
      return null;
    });
    f.data = { constants: result.data.constants, labels: result.data.labels, rules: rulesIn, tests: testsIn };
  }

  // Constants and labels first: rules and tests refer to them.
  const constants: ConstantDecl[] = [];
  const labels: Record<string, string> = {};
  const seenConstant = new Map<string, string>();
  for (const f of parsed) {
    for (const [name, value] of Object.entries(f.data?.constants ?? {})) {
      const node = f.doc.getIn(["constants", name], true) as Node | null;
      const pos = position(f, node);
      const first = seenConstant.get(name);
      if (first) {
        problems.push({ file: f.rel, ...pos, message: `constant ${name} is already defined at ${first}` });
        continue;
      }
      seenConstant.set(name, `${f.rel}:${pos.line}:${pos.col}`);
      const cel = constantType(value, isIntegerLiteral(f, node));
      if (!cel) {
        problems.push({
          file: f.rel,
          ...pos,
          message: `constant ${name} must be a number, a string, a boolean, or a non-empty list of numbers or of strings`,
        });
        continue;
      }
      constants.push({ name, value: value as ConstantValue, cel });
    }
    for (const [id, text] of Object.entries(f.data?.labels ?? {})) {
      if (labels[id] !== undefined) {
        problems.push({
          file: f.rel,
          ...position(f, f.doc.getIn(["labels", id], true) as Node),
          message: `label ${id} is declared twice`,
        });
        continue;
      }
      labels[id] = text;
    }
  }

  let env: Environment;
  try {
    env = policyEnvironment(constants);
  } catch (err) {
    throw new PolicyBundleError([
      ...problems,
      { file: dir, line: 1, col: 1, message: `constants: ${(err as Error).message}` },
    ]);
  }

  const rules: PolicyRule[] = [];
  const seenRule = new Map<string, string>();
  let order = 0;
  for (const f of parsed) {
    for (const [i, rule] of (f.data?.rules ?? []).entries()) {
      if (!rule) continue;
      const ruleNode = f.doc.getIn(["rules", i], true) as Node;
      const pos = position(f, f.doc.getIn(["rules", i, "id"], true) as Node);
      const where = { file: f.rel, ruleId: rule.id };
      const first = seenRule.get(rule.id);
      if (first) {
        problems.push({ ...where, ...pos, message: `duplicate rule id (first defined at ${first})` });
        continue;
      }
      seenRule.set(rule.id, `${f.rel}:${pos.line}:${pos.col}`);
      for (const [j, label] of rule.labels.entries()) {
        if (labels[label] === undefined)
          problems.push({
            ...where,
            ...position(f, f.doc.getIn(["rules", i, "labels", j], true) as Node),
            message: `label ${label} is not declared (add it under \`labels:\` with the text listeners see)`,
          });
      }
      if (rule.action === "label" && rule.labels.length === 0)
        problems.push({
          ...where,
          ...position(f, ruleNode),
          message: "a rule with action label must name at least one label",
        });
      if (rule.action === "allow" && rule.mode === "enforce" && rule.labels.length === 0)
        problems.push({
          ...where,
          ...position(f, f.doc.getIn(["rules", i, "action"], true) as Node),
          message:
            "an enforced allow rule without labels can never change a decision (allow is the default); remove it or make it a shadow rule",
        });
      const whenNode = f.doc.getIn(["rules", i, "when"], true) as Scalar;
      const exprProblem = (offset: number, message: string): PolicyProblem => ({
        ...where,
        ...(isScalar(whenNode) ? scalarOffsetPosition(f, whenNode, offset) : position(f, whenNode)),
        message,
      });
      let program: ((a: Record<string, unknown>) => unknown) | null = null;
      try {
        const parsedExpr = env.parse(rule.when);
        const checked = parsedExpr.check();
        if (!checked.valid) {
          const err = checked.error as { message?: string; node?: { pos?: number } } | undefined;
          problems.push(
            exprProblem(
              err?.node?.pos ?? 0,
              `when: ${(err?.message ?? "does not type-check").split("\n")[0]}`,
            ),
          );
          continue;
        }
        if (checked.type !== "bool") {
          problems.push(exprProblem(0, `when must be a boolean expression; this one is ${checked.type}`));
          continue;
        }
        program = parsedExpr as unknown as (a: Record<string, unknown>) => unknown;
        const facts = analyseExpression(parsedExpr.ast, constants);
        for (const issue of facts.problems) problems.push(exprProblem(issue.offset, issue.message));
        if (facts.problems.length > 0) continue;
        if (facts.reads.length === 0 && program({}) === false) {
          problems.push(exprProblem(0, "when is always false: the rule can never match"));
          continue;
        }
        // A product promise, enforced here so no pull request can break it quietly.
        if (
          rule.action === "reject" &&
          rule.mode === "enforce" &&
          facts.reads.some((p) => p.startsWith("classifier."))
        )
          problems.push({
            ...where,
            ...position(f, f.doc.getIn(["rules", i, "action"], true) as Node),
            message:
              "a reject rule may not read classifier.*: the AI-likeness score may send uploads to review, never reject them",
          });
        rules.push({ ...rule, file: f.rel, ...pos, order: order++, evaluate: program, facts });
      } catch (err) {
        const e = err as { message?: string; node?: { pos?: number } };
        problems.push(exprProblem(e.node?.pos ?? 0, `when: ${(e.message ?? String(err)).split("\n")[0]}`));
      }
    }
  }

  const tests: PolicyTestCase[] = [];
  for (const f of parsed) {
    for (const [i, t] of (f.data?.tests ?? []).entries()) {
      if (!t) continue;
      const pointer = (p: (string | number)[]) => position(f, nodeAt(f, ["tests", i, ...p]));
      for (const [j, id] of (t.expect.rules ?? []).entries())
        if (!seenRule.has(id))
          problems.push({
            file: f.rel,
            ...pointer(["expect", "rules", j]),
            message: `test "${t.name}" expects rule ${id}, which does not exist`,
          });
      for (const [j, label] of (t.expect.labels ?? []).entries())
        if (labels[label] === undefined)
          problems.push({
            file: f.rel,
            ...pointer(["expect", "labels", j]),
            message: `test "${t.name}" expects label ${label}, which is not declared`,
          });
      tests.push({ ...t, file: f.rel, ...pointer(["name"]), pointer });
    }
  }

  if (problems.length > 0) throw new PolicyBundleError(problems);
  rules.sort((a, b) => b.priority - a.priority || a.order - b.order);
  return {
    dir: abs,
    revision: hash.digest("hex").slice(0, 16),
    gitCommit: opts.git === false ? null : gitCommitOf(abs),
    files: parsed.map((f) => f.rel),
    rules,
    constants,
    labels,
    tests,
    env,
  };
}
