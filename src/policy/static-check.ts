import { type ConstantDecl, fieldAt, POLICY_VARIABLES } from "./cel-schema.js";

/** A node of cel-js's AST: `{ op, args, pos }` (`args` is a node, a list, or a literal). */
interface AstNode {
  op: string;
  args: unknown;
  pos?: number;
}

const isNode = (v: unknown): v is AstNode => typeof v === "object" && v !== null && "op" in v;

export interface ExpressionFacts {
  /** Input fields the expression reads, as dotted paths (`stats.silenceRatio`, `fingerprint.matches`). */
  reads: string[];
  /** Bundle constants it refers to. */
  constants: string[];
  /** Reasons it can never be true, or is malformed in ways the type checker does not see. */
  problems: { offset: number; message: string }[];
}

const MACROS = new Set(["all", "exists", "exists_one", "existsOne", "filter", "map"]);

function pathOf(node: unknown, bound: ReadonlySet<string>): string[] | null {
  if (!isNode(node)) return null;
  if (node.op === "id" && typeof node.args === "string")
    return !bound.has(node.args) && Object.hasOwn(POLICY_VARIABLES, node.args) ? [node.args] : null;
  if (node.op === "." && Array.isArray(node.args)) {
    const base = pathOf(node.args[0], bound);
    return base && typeof node.args[1] === "string" ? [...base, node.args[1]] : null;
  }
  return null;
}

type Bound = { value: number; inclusive: boolean };
interface Interval {
  lo: Bound | null;
  hi: Bound | null;
}

const FLIP: Record<string, string> = { "<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==" };

/**
 * Reads the AST once: which fields and constants a rule reads (for traces and docs), and the mistakes a type
 * checker lets through — comparisons a field can never satisfy (a value outside its enum, numeric bounds that
 * exclude each other in one conjunction) and regular expressions that would only fail when evaluated.
 */
export function analyseExpression(ast: unknown, constants: readonly ConstantDecl[]): ExpressionFacts {
  const reads = new Set<string>();
  const used = new Set<string>();
  const problems: ExpressionFacts["problems"] = [];
  const consts = new Map(constants.map((c) => [c.name, c]));

  const numberOf = (node: unknown): number | null => {
    if (!isNode(node)) return null;
    if (node.op === "value" && (typeof node.args === "number" || typeof node.args === "bigint"))
      return Number(node.args);
    if (node.op === "-_" && isNode(node.args)) {
      const n = numberOf(node.args);
      return n === null ? null : -n;
    }
    if (node.op === "id" && typeof node.args === "string") {
      const c = consts.get(node.args);
      if (c && typeof c.value === "number") return c.value;
    }
    return null;
  };
  const stringsOf = (node: unknown): string[] | null => {
    if (!isNode(node)) return null;
    if (node.op === "value" && typeof node.args === "string") return [node.args];
    if (node.op === "list" && Array.isArray(node.args)) {
      const all = node.args.map((a) => stringsOf(a));
      return all.every((a) => a && a.length === 1) ? all.map((a) => a![0]!) : null;
    }
    if (node.op === "id" && typeof node.args === "string") {
      const c = consts.get(node.args);
      if (c && typeof c.value === "string") return [c.value];
      if (c && Array.isArray(c.value) && c.value.every((v) => typeof v === "string"))
        return c.value as string[];
    }
    return null;
  };

  const walk = (node: unknown, bound: ReadonlySet<string>): void => {
    if (Array.isArray(node)) {
      for (const n of node) walk(n, bound);
      return;
    }
    if (!isNode(node)) return;
    const p = pathOf(node, bound);
    if (p) {
      reads.add(p.join("."));
      return;
    }
    if (node.op === "id" && typeof node.args === "string") {
      if (consts.has(node.args)) used.add(node.args);
      return;
    }
    if (node.op === "rcall" && Array.isArray(node.args)) {
      const [fn, receiver, args] = node.args as [string, unknown, unknown[]];
      if (MACROS.has(fn) && Array.isArray(args) && isNode(args[0]) && typeof args[0].args === "string") {
        walk(receiver, bound);
        walk(args.slice(1), new Set([...bound, args[0].args]));
        return;
      }
      if (fn === "matches" && Array.isArray(args)) {
        const pattern = stringsOf(args[0]);
        if (pattern?.length === 1) {
          try {
            new RegExp(pattern[0]!, "u");
          } catch (err) {
            problems.push({
              offset: node.pos ?? 0,
              message: `invalid regular expression ${JSON.stringify(pattern[0])}: ${(err as Error).message}`,
            });
          }
        }
      }
    }
    checkEnumComparison(node);
    walk(node.args, bound);
  };

  const checkEnumComparison = (node: AstNode) => {
    if (!["==", "!=", "in"].includes(node.op) || !Array.isArray(node.args)) return;
    const [a, b] = node.args;
    const pa = pathOf(a, new Set());
    const pb = pathOf(b, new Set());
    const path = pa ?? (node.op === "in" ? null : pb);
    const other = pa ? b : a;
    if (!path) return;
    const field = fieldAt(path.join("."));
    if (field?.kind !== "scalar" || !field.enum) return;
    const values = stringsOf(other);
    if (!values) return;
    const bad = values.filter((v) => !field.enum!.includes(v));
    if (bad.length === 0) return;
    problems.push({
      offset: node.pos ?? 0,
      message: `${path.join(".")} is never ${bad.map((v) => JSON.stringify(v)).join(" or ")}: it is one of ${field.enum.join(", ")}`,
    });
  };

  /** Top-level conjunctions: bounds on one field that cannot all hold. */
  const checkBounds = (node: unknown) => {
    const terms: AstNode[] = [];
    const flatten = (n: unknown) => {
      if (isNode(n) && n.op === "&&" && Array.isArray(n.args)) n.args.forEach(flatten);
      else if (isNode(n)) terms.push(n);
    };
    flatten(node);
    const intervals = new Map<string, Interval>();
    const tighten = (path: string, op: string, value: number) => {
      const iv = intervals.get(path) ?? { lo: null, hi: null };
      const lower = (b: Bound) => {
        if (!iv.lo || b.value > iv.lo.value || (b.value === iv.lo.value && !b.inclusive)) iv.lo = b;
      };
      const upper = (b: Bound) => {
        if (!iv.hi || b.value < iv.hi.value || (b.value === iv.hi.value && !b.inclusive)) iv.hi = b;
      };
      if (op === ">" || op === ">=") lower({ value, inclusive: op === ">=" });
      if (op === "<" || op === "<=") upper({ value, inclusive: op === "<=" });
      if (op === "==") {
        lower({ value, inclusive: true });
        upper({ value, inclusive: true });
      }
      intervals.set(path, iv);
    };
    for (const t of terms) {
      if (!FLIP[t.op] || !Array.isArray(t.args)) continue;
      const [a, b] = t.args;
      const pa = pathOf(a, new Set());
      const pb = pathOf(b, new Set());
      if (pa && numberOf(b) !== null) tighten(pa.join("."), t.op, numberOf(b)!);
      else if (pb && numberOf(a) !== null) tighten(pb.join("."), FLIP[t.op]!, numberOf(a)!);
    }
    for (const [path, { lo, hi }] of intervals) {
      if (!lo || !hi) continue;
      if (lo.value > hi.value || (lo.value === hi.value && !(lo.inclusive && hi.inclusive))) {
        problems.push({
          offset: isNode(node) ? (node.pos ?? 0) : 0,
          message: `can never be true: ${path} cannot be ${lo.inclusive ? "≥" : ">"} ${lo.value} and ${hi.inclusive ? "≤" : "<"} ${hi.value} at once`,
        });
      }
    }
  };

  walk(ast, new Set());
  checkBounds(ast);
  return { reads: [...reads].sort(), constants: [...used].sort(), problems };
}
