import type { AudioFormat } from "../../audio/format.js";
import { z } from "../../zod.js";
import { c2paMimeType } from "./formats.js";
import { c2paSettings, type TrustConfig } from "./settings.js";
import { loadC2pa, withC2pa } from "./wasm.js";

const timeStampSchema = z
  .object({
    time: z.string().nullable().describe("When the time-stamp authority saw the signature (ISO 8601)."),
    state: z
      .enum(["trusted", "untrusted", "invalid"])
      .describe(
        "trusted: the stamp matches the signature and its TSA chains to a trust anchor; untrusted: it " +
          "matches but the TSA is not trusted here; invalid: it does not match or cannot be read.",
      ),
  })
  .nullable()
  // Signals stored before time stamps were read have no such field.
  .default(null)
  .describe("The signature's RFC 3161 time stamp (C2PA sigTst/sigTst2), or null when it has none.");

type ManifestTimeStamp = z.infer<typeof timeStampSchema>;

const parentSchema = z
  .object({
    title: z.string().nullable(),
    manifest: z
      .enum(["trusted", "valid", "invalid"])
      .nullable()
      .describe(
        "How the parent's own manifest validated when this manifest was signed (recorded in the ingredient); " +
          "null when the parent carried none.",
      ),
    statusCodes: z.array(z.string()).describe("The parent manifest's validation failure codes, if any."),
  })
  .nullable()
  // Signals stored before parents were read have no such field.
  .default(null)
  .describe(
    "The `parentOf` ingredient: what this file was made from (for a rendition: the upload as received).",
  );

type ManifestParent = z.infer<typeof parentSchema>;

/**
 * What the C2PA manifest of a file says, validated against the configured trust anchors — the `provenance`
 * signal. `present: false` when there is no manifest (or the format cannot carry one); `problem` says why a
 * file could not be read at all, instead of an exception.
 */
export const provenanceReadSchema = z.object({
  present: z.boolean().describe("Whether the file carries a C2PA manifest."),
  state: z
    .enum(["trusted", "valid", "invalid"])
    .nullable()
    .describe(
      "trusted: valid and signed under a configured trust anchor; valid: intact but the signer is not trusted; " +
        "invalid: the manifest or the audio it covers was changed or is malformed. Null when nothing was validated.",
    ),
  statusCodes: z
    .array(z.string())
    .describe("C2PA validation failure codes (e.g. assertion.dataHash.mismatch); empty when nothing failed."),
  activeManifest: z
    .object({
      claimGenerator: z.string().nullable(),
      signer: z
        .string()
        .nullable()
        .describe("Common name of the signing certificate, else its organisation."),
      digitalSourceTypes: z.array(z.string()).describe("IPTC digital source types named by the actions."),
      actions: z.array(z.string()),
      assertions: z.array(z.string()).describe("Labels of the manifest's assertions."),
      timeStamp: timeStampSchema,
      parent: parentSchema,
    })
    .nullable(),
  problem: z
    .object({
      code: z.enum(["unsupported-format", "unreadable", "too-large"]),
      detail: z.string(),
    })
    .nullable()
    .describe(
      "Why the file could not be checked: its format cannot carry an embedded manifest, the container is " +
        "truncated or malformed, or the file is larger than Earmark reads manifests of.",
    ),
});

export type ProvenanceRead = z.infer<typeof provenanceReadSchema>;

interface ValidationStatus {
  code: string;
}
interface ManifestJson {
  claim_generator?: string;
  claim_generator_info?: { name?: string; version?: string }[];
  signature_info?: { common_name?: string; issuer?: string; time?: string };
  assertions?: { label: string; data?: { actions?: { action?: string; digitalSourceType?: string }[] } }[];
  ingredients?: {
    title?: string;
    relationship?: string;
    active_manifest?: string;
    validation_results?: { activeManifest?: { success?: ValidationStatus[]; failure?: ValidationStatus[] } };
  }[];
}
/** The parts of c2pa-rs's manifest-store JSON read here. */
export interface ManifestStoreJson {
  active_manifest?: string;
  manifests?: Record<string, ManifestJson>;
  validation_state?: "Invalid" | "Valid" | "Trusted";
  validation_results?: {
    activeManifest?: {
      success?: ValidationStatus[];
      informational?: ValidationStatus[];
      failure?: ValidationStatus[];
    };
    ingredientDeltas?: { validationDeltas?: { failure?: ValidationStatus[] } }[];
  };
  validation_status?: ValidationStatus[];
}

/** c2pa-rs errors arrive as strings such as `C2pa(JumbfNotFound)` or `C2pa(InvalidAsset("…"))`. */
export function c2paErrorName(err: unknown): { name: string; text: string } {
  const text = err instanceof Error ? err.message : String(err);
  const m = /^C2pa\((\w+)/.exec(text);
  return { name: m?.[1] ?? "Unknown", text };
}

/**
 * The failure codes and explanations inside a c2pa-rs `InvalidManifest(ValidationResults { … })` error (a
 * Rust debug dump several kilobytes long), as one readable line; the text itself when it has none.
 */
export function describeC2paError(err: unknown): string {
  const { text } = c2paErrorName(err);
  const failures = [...text.matchAll(/failure: \[(.*?)\] \}/g)].flatMap((m) =>
    [...(m[1] ?? "").matchAll(/code: "([^"]+)"[^}]*?explanation: Some\("([^"]*)"\)/g)].map(
      (f) => `${f[1]} (${f[2]})`,
    ),
  );
  return failures.length > 0 ? `c2pa-rs found the manifest invalid: ${failures.join("; ")}` : text;
}

const STATES = { Trusted: "trusted", Valid: "valid", Invalid: "invalid" } as const;

function isActionsLabel(label: string): boolean {
  return /^c2pa\.actions(\.v\d+)?(__\d+)?$/.test(label);
}

/** Turns c2pa-rs's manifest-store JSON into the signal. */
export function summariseManifestStore(store: ManifestStoreJson): ProvenanceRead {
  const active = store.active_manifest ? store.manifests?.[store.active_manifest] : undefined;
  const failures = [
    ...(store.validation_results?.activeManifest?.failure ?? []),
    ...(store.validation_results?.ingredientDeltas ?? []).flatMap((d) => d.validationDeltas?.failure ?? []),
  ];
  const statusCodes = [...new Set(failures.map((f) => f.code))];
  const state = store.validation_state
    ? STATES[store.validation_state]
    : statusCodes.length
      ? "invalid"
      : null;
  if (!active) return { present: true, state, statusCodes, activeManifest: null, problem: null };
  const actions = (active.assertions ?? [])
    .filter((a) => isActionsLabel(a.label))
    .flatMap((a) => a.data?.actions ?? []);
  const generator =
    active.claim_generator ??
    (active.claim_generator_info ?? [])
      .filter((g) => g.name)
      .map((g) => (g.version ? `${g.name}/${g.version}` : g.name))
      .join(" ");
  return {
    present: true,
    state,
    statusCodes,
    activeManifest: {
      claimGenerator: generator || null,
      signer: active.signature_info?.common_name ?? active.signature_info?.issuer ?? null,
      digitalSourceTypes: [
        ...new Set(actions.flatMap((a) => (a.digitalSourceType ? [a.digitalSourceType] : []))),
      ],
      actions: actions.flatMap((a) => (a.action ? [a.action] : [])),
      assertions: (active.assertions ?? []).map((a) => a.label),
      timeStamp: timeStampOf(store, active),
      parent: parentOf(active),
    },
    problem: null,
  };
}

/** The `parentOf` ingredient and how its manifest validated when it was taken in. */
function parentOf(active: ManifestJson): ManifestParent {
  const parent = (active.ingredients ?? []).find((i) => i.relationship === "parentOf");
  if (!parent) return null;
  const results = parent.validation_results?.activeManifest;
  const statusCodes = [...new Set((results?.failure ?? []).map((f) => f.code))];
  const manifest = !parent.active_manifest
    ? null
    : // An untrusted signer is a failure code in C2PA's list, but the manifest itself is intact: valid.
      statusCodes.some((c) => c !== "signingCredential.untrusted")
      ? "invalid"
      : (results?.success ?? []).some((s) => s.code === "signingCredential.trusted")
        ? "trusted"
        : "valid";
  return { title: parent.title ?? null, manifest, statusCodes };
}

/** The time stamp's state from c2pa-rs's `timeStamp.*` status codes on the active manifest. */
function timeStampOf(store: ManifestStoreJson, active: ManifestJson): ManifestTimeStamp {
  const results = store.validation_results?.activeManifest;
  const codes = (list?: ValidationStatus[]) =>
    new Set((list ?? []).map((s) => s.code).filter((c) => c.startsWith("timeStamp.")));
  const success = codes(results?.success);
  const other = new Set([...codes(results?.informational), ...codes(results?.failure)]);
  if (success.size === 0 && other.size === 0) return null;
  const time = success.has("timeStamp.validated") ? (active.signature_info?.time ?? null) : null;
  if (success.has("timeStamp.trusted")) return { time, state: "trusted" };
  if (success.has("timeStamp.validated")) return { time, state: "untrusted" };
  return { time: null, state: "invalid" };
}

export interface ReadResult {
  signal: ProvenanceRead;
  /** The manifest store as c2pa-rs reports it, or null when there is none. */
  store: ManifestStoreJson | null;
}

/**
 * Reads and validates the C2PA manifest embedded in an audio file. Never throws for what is wrong with the
 * file: no manifest is `present: false`, a format that cannot carry one or an unreadable container is a
 * `problem`, a changed file is `state: "invalid"` with its status codes.
 *
 * @example
 * const { signal } = await readProvenance(bytes, "mp3", { anchorsPem });
 * if (signal.state === "trusted") …
 */
export async function readProvenance(
  bytes: Uint8Array,
  format: AudioFormat,
  trust: TrustConfig,
): Promise<ReadResult> {
  const absent = { present: false, state: null, statusCodes: [] as string[], activeManifest: null };
  const mime = c2paMimeType(format);
  if (!mime) {
    return {
      signal: {
        ...absent,
        problem: {
          code: "unsupported-format",
          detail: `${format} cannot carry an embedded C2PA manifest (only a sidecar .c2pa can describe it)`,
        },
      },
      store: null,
    };
  }
  const { WasmReader } = loadC2pa();
  let json: string;
  try {
    json = await withC2pa(async () => {
      const reader = await WasmReader.fromBytes(mime, bytes, c2paSettings(trust));
      try {
        return reader.json();
      } finally {
        reader.free();
      }
    });
  } catch (err) {
    const { name, text } = c2paErrorName(err);
    if (name === "JumbfNotFound") return { signal: { ...absent, problem: null }, store: null };
    if (name === "InvalidAsset" || name === "UnsupportedType") {
      return {
        signal: {
          ...absent,
          problem: { code: "unreadable", detail: `the ${format} container cannot be parsed: ${text}` },
        },
        store: null,
      };
    }
    // A manifest is there but cut off or broken beyond reading (JumbfParseError and the like): c2pa-rs
    // returns no report at all, so there are no status codes to give.
    return {
      signal: {
        present: true,
        state: "invalid",
        statusCodes: [],
        activeManifest: null,
        problem: {
          code: "unreadable",
          detail: `the C2PA manifest is cut off or malformed and cannot be read: ${text}`,
        },
      },
      store: null,
    };
  }
  const store = JSON.parse(json) as ManifestStoreJson;
  return { signal: summariseManifestStore(store), store };
}
