import { Environment } from "@marcbachmann/cel-js";
import { z } from "../zod.js";
import { type PolicyInput, policyInputSchema } from "./input.js";

/** A JSON Schema node, as zod emits it. */
interface JsonSchema {
  type?: string | string[];
  properties?: Record<string, JsonSchema>;
  items?: JsonSchema;
  anyOf?: JsonSchema[];
  enum?: unknown[];
  description?: string;
}

/** How one field of the policy input looks to CEL, and how to convert a JS value into it. */
export type CelField =
  | {
      kind: "scalar";
      cel: "int" | "double" | "string" | "bool";
      nullable: boolean;
      description?: string;
      /** The only values a string field can take, when the schema says so. */
      enum?: string[];
    }
  | { kind: "list"; item: CelField; description?: string }
  | {
      kind: "object";
      typeName: string;
      fields: Record<string, CelField>;
      nullable: boolean;
      description?: string;
    };

const capital = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

function fieldOf(node: JsonSchema, name: string[]): CelField {
  let nullable = false;
  let n = node;
  if (n.anyOf) {
    const nonNull = n.anyOf.filter((a) => a.type !== "null");
    nullable = nonNull.length < n.anyOf.length;
    if (nonNull.length !== 1) throw new Error(`policy input ${name.join(".")}: unions are not supported`);
    n = { ...nonNull[0]!, description: n.description ?? nonNull[0]!.description };
  }
  const description = n.description;
  const type = Array.isArray(n.type) ? n.type.find((t) => t !== "null") : n.type;
  if (Array.isArray(n.type) && n.type.includes("null")) nullable = true;
  switch (type) {
    case "integer":
      return { kind: "scalar", cel: "int", nullable, description };
    case "number":
      return { kind: "scalar", cel: "double", nullable, description };
    case "string":
      return {
        kind: "scalar",
        cel: "string",
        nullable,
        description,
        ...(n.enum ? { enum: n.enum.map(String) } : {}),
      };
    case "boolean":
      return { kind: "scalar", cel: "bool", nullable, description };
    case "array":
      return { kind: "list", item: fieldOf(n.items ?? {}, [...name, "item"]), description };
    case "object":
      return {
        kind: "object",
        typeName: name.map(capital).join(""),
        fields: Object.fromEntries(
          Object.entries(n.properties ?? {}).map(([k, v]) => [k, fieldOf(v, [...name, k])]),
        ),
        nullable,
        description,
      };
    default:
      if (n.enum) return { kind: "scalar", cel: "string", nullable, description, enum: n.enum.map(String) };
      throw new Error(`policy input ${name.join(".")}: no CEL type for ${JSON.stringify(n)}`);
  }
}

/** The policy input's top-level variables (`upload`, `account`, `stats`, …) as CEL sees them. */
export const POLICY_VARIABLES: Record<string, Extract<CelField, { kind: "object" }>> = (() => {
  const json = z.toJSONSchema(policyInputSchema, { io: "output", unrepresentable: "any" }) as JsonSchema;
  const out: Record<string, Extract<CelField, { kind: "object" }>> = {};
  for (const [k, v] of Object.entries(json.properties ?? {})) {
    const f = fieldOf(v, ["Policy", k]);
    if (f.kind !== "object") throw new Error(`policy input ${k} must be an object`);
    out[k] = f;
  }
  return out;
})();

function celTypeOf(f: CelField): string {
  if (f.kind === "scalar") return f.cel;
  if (f.kind === "list") return `list<${celTypeOf(f.item)}>`;
  return f.typeName;
}

/** cel-js `schema` declarations: field → type string (objects are registered as named types). */
function schemaOf(f: Extract<CelField, { kind: "object" }>, env: Environment): Record<string, string> {
  const schema: Record<string, string> = {};
  for (const [k, v] of Object.entries(f.fields)) {
    if (v.kind === "object") registerObject(v, env);
    if (v.kind === "list" && v.item.kind === "object") registerObject(v.item, env);
    schema[k] = celTypeOf(v);
  }
  return schema;
}

function registerObject(f: Extract<CelField, { kind: "object" }>, env: Environment): void {
  env.registerType({ name: f.typeName, schema: schemaOf(f, env) });
}

export type ConstantValue = number | string | boolean | number[] | string[];

export interface ConstantDecl {
  name: string;
  value: ConstantValue;
  cel: string;
}

/** The CEL type of a bundle constant from its YAML value; null when CEL cannot hold it. */
export function constantType(value: unknown, integerLiteral: boolean): string | null {
  if (typeof value === "boolean") return "bool";
  if (typeof value === "string") return "string";
  if (typeof value === "number") return integerLiteral && Number.isInteger(value) ? "int" : "double";
  if (Array.isArray(value) && value.length > 0) {
    if (value.every((v) => typeof v === "string")) return "list<string>";
    if (value.every((v) => typeof v === "number")) return integerLiteral ? "list<int>" : "list<double>";
  }
  return null;
}

function celConstant(c: ConstantDecl): unknown {
  if (c.cel === "int") return BigInt(c.value as number);
  if (c.cel === "list<int>") return (c.value as number[]).map((v) => BigInt(v));
  return c.value;
}

/**
 * A CEL environment declaring every policy input variable with its full type, plus the bundle's constants.
 * Expressions compiled in it are type-checked against the pipeline's schemas: an unknown field or a type
 * mismatch is an error at load time, not a surprise at decision time.
 */
export function policyEnvironment(constants: readonly ConstantDecl[]): Environment {
  const env = new Environment({ limits: { maxAstNodes: 2000, maxDepth: 64 } });
  for (const [name, f] of Object.entries(POLICY_VARIABLES))
    env.registerVariable({ name, schema: schemaOf(f, env) });
  for (const c of constants) env.registerConstant(c.name, c.cel, celConstant(c));
  return env;
}

function toCel(f: CelField, value: unknown): unknown {
  if (value === null || value === undefined) return undefined;
  if (f.kind === "scalar") return f.cel === "int" ? BigInt(Math.round(value as number)) : value;
  if (f.kind === "list") return (value as unknown[]).map((v) => toCel(f.item, v));
  const out: Record<string, unknown> = {};
  for (const [k, sub] of Object.entries(f.fields)) {
    const v = toCel(sub, (value as Record<string, unknown>)[k]);
    if (v !== undefined) out[k] = v; // absent, so `has()` is false for unknown values
  }
  return out;
}

/** The activation for CEL: ints as BigInt, unknown (null) numbers left out, undeclared fields dropped. */
export function celActivation(input: PolicyInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(POLICY_VARIABLES))
    out[name] = toCel(f, (input as Record<string, unknown>)[name]);
  return out;
}

/** The declared field at a dotted path (`stats.silenceRatio`), or null. */
export function fieldAt(path: string): CelField | null {
  const [root, ...rest] = path.split(".");
  let f: CelField | undefined = POLICY_VARIABLES[root ?? ""];
  for (const k of rest) {
    if (f?.kind !== "object") return null;
    f = f.fields[k];
  }
  return f ?? null;
}

/** The readable schema for policy authors: `stats.silenceRatio: double — description`. */
export function describePolicyInput(): string[] {
  const lines: string[] = [];
  const walk = (prefix: string, f: CelField) => {
    if (f.kind === "object") {
      for (const [k, v] of Object.entries(f.fields)) walk(prefix ? `${prefix}.${k}` : k, v);
      return;
    }
    const type = celTypeOf(f) + (f.kind === "scalar" && f.nullable ? " (absent when unknown)" : "");
    lines.push(`${prefix}: ${type}${f.description ? ` — ${f.description}` : ""}`);
    if (f.kind === "list" && f.item.kind === "object") walk(`${prefix}[]`, f.item);
  };
  for (const [name, f] of Object.entries(POLICY_VARIABLES)) walk(name, f);
  return lines;
}
