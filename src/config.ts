import path from "node:path";
import { fileURLToPath } from "node:url";
import { z } from "zod";

/** Parses "1GiB", "500MB", "1048576" into bytes. */
function parseBytes(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(b|kb|kib|mb|mib|gb|gib|tb|tib)?\s*$/i.exec(value);
  if (!m) return null;
  const units: Record<string, number> = {
    b: 1,
    kb: 1e3,
    kib: 1024,
    mb: 1e6,
    mib: 1024 ** 2,
    gb: 1e9,
    gib: 1024 ** 3,
    tb: 1e12,
    tib: 1024 ** 4,
  };
  return Math.round(Number(m[1]) * (units[(m[2] ?? "b").toLowerCase()] ?? 1));
}

/** Parses "4h", "90m", "30s", "3600" into seconds. */
function parseSeconds(value: string): number | null {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?\s*$/i.exec(value);
  if (!m) return null;
  const units: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };
  return Number(m[1]) * (units[(m[2] ?? "s").toLowerCase()] ?? 1);
}

const bytes = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const n = parseBytes(v);
      if (n === null || n <= 0) {
        ctx.addIssue({ code: "custom", message: `expected a size such as 1GiB or 500MB, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

const seconds = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((v, ctx) => {
      const n = parseSeconds(v);
      if (n === null || n <= 0) {
        ctx.addIssue({ code: "custom", message: `expected a duration such as 4h, 90m or 30s, got "${v}"` });
        return z.NEVER;
      }
      return n;
    });

/** An optional http(s) URL of a service Earmark calls. */
const httpUrl = () =>
  z
    .string()
    .url()
    .refine((u) => /^https?:\/\//.test(u), { message: "expected an http:// or https:// URL" })
    .optional();

const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

/** Every environment variable Earmark reads, with its default. The README's table is generated from this. */
export const envSchema = z.object({
  EARMARK_DATA_DIR: z
    .string()
    .min(1)
    .default("./.earmark")
    .describe("Data directory: embedded database, blobs, dev keys."),
  HOST: z.string().min(1).default("127.0.0.1").describe("Interface the HTTP server listens on."),
  PORT: int(8080, 0, 65535).describe("Port the HTTP server listens on (0 picks a free one)."),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, "must start with postgres:// or postgresql://")
    .optional()
    .describe("Postgres connection URL. Unset: embedded PGlite in the data directory."),
  EARMARK_BLOB_DIR: z
    .string()
    .min(1)
    .optional()
    .describe("Blob store directory (default: <data dir>/blobs). Share it between nodes at scale."),
  EARMARK_PUBLIC_URL: z
    .string()
    .url()
    .optional()
    .describe("Base URL used in links (default: http://HOST:PORT)."),
  EARMARK_POLICY_DIR: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Policy bundle directory (default: the policies/ shipped with Earmark; `none` allows everything).",
    ),
  EARMARK_MAX_UPLOAD_BYTES: bytes("1GiB").describe("Largest accepted upload."),
  EARMARK_MAX_DURATION: seconds("4h").describe("Longest accepted audio."),
  EARMARK_REQUEST_TIMEOUT: seconds("1h").describe(
    "Longest time to receive one request (Node's default of 5 min would cut off large uploads on slow links).",
  ),
  EARMARK_WORKERS: int(1, 0, 64).describe(
    "Jobs run concurrently by the in-process worker of `earmark start` (0: none).",
  ),
  EARMARK_JOB_MAX_ATTEMPTS: int(5, 1, 100).describe("Attempts before an upload is failed."),
  EARMARK_JOB_LEASE: seconds("60s").describe("How long a claimed job stays claimed without a heartbeat."),
  EARMARK_JOB_RETRY_BASE: seconds("5s").describe("First retry delay; doubles each attempt."),
  EARMARK_RATE_LIMIT_PER_MINUTE: int(600, 1, 1_000_000).describe("API requests per account per minute."),
  EARMARK_UPLOADS_PER_HOUR: int(1000, 1, 1_000_000).describe("Uploads per account per hour."),
  EARMARK_WEBHOOK_RETRY: z
    .string()
    .default("5s,5m,30m,2h,5h,10h,10h")
    .transform((v, ctx) => {
      const parts = v.split(",").map((p) => parseSeconds(p));
      if (parts.some((p) => p === null)) {
        ctx.addIssue({ code: "custom", message: `expected comma-separated durations, got "${v}"` });
        return z.NEVER;
      }
      return parts as number[];
    })
    .describe("Delays between webhook delivery attempts."),
  EARMARK_WEBHOOK_TIMEOUT: seconds("10s").describe("Timeout of one webhook delivery attempt."),
  EARMARK_WEBHOOK_DISABLE_AFTER: int(5, 0, 1000).describe(
    "Disable an endpoint once this many deliveries in a row failed after every retry (0: never).",
  ),
  EARMARK_WEBHOOK_ALLOW_PRIVATE: z
    .enum(["true", "false"], { message: 'expected "true" or "false"' })
    .default("false")
    .transform((v) => v === "true")
    .describe(
      "Let webhooks go to loopback, private and link-local addresses (development, closed networks).",
    ),
  EARMARK_C2PA_CERT: z
    .string()
    .min(1)
    .optional()
    .describe(
      "C2PA signing certificate chain, PEM (signing certificate first, then intermediates): a file path or the PEM itself. " +
        "Unset: development credentials generated in the data directory.",
    ),
  EARMARK_C2PA_KEY: z
    .string()
    .min(1)
    .optional()
    .describe("Private key of the C2PA signing certificate, PEM: a file path or the PEM itself."),
  EARMARK_C2PA_SIGNER_URL: httpUrl().describe(
    "Remote signing service (KMS, HSM, signing service) that holds the C2PA key: Earmark POSTs the bytes to sign and " +
      "takes the signature back (README: Content Credentials). Needs EARMARK_C2PA_CERT; EARMARK_C2PA_KEY stays unset.",
  ),
  EARMARK_C2PA_SIGNER_TOKEN: z
    .string()
    .min(1)
    .optional()
    .describe("Bearer token sent to EARMARK_C2PA_SIGNER_URL."),
  EARMARK_WATERMARK_KEY: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Watermark key of this deployment: a file holding 64 hex digits, or the 64 hex digits themselves. " +
        "Unset: a development key generated in the data directory.",
    ),
  EARMARK_C2PA_TRUST_ANCHORS: z
    .string()
    .min(1)
    .optional()
    .describe(
      "Trust anchors for C2PA validation, a PEM bundle (the C2PA trust list, your own roots): a file path or the PEM. " +
        "The development root is added while development credentials sign.",
    ),
  EARMARK_C2PA_TSA_URL: httpUrl().describe(
    "RFC 3161 time-stamp authority: every C2PA signature is time-stamped there (sigTst2), so manifests stay " +
      "valid after the signing certificate expires. A render fails (and is retried) while the TSA cannot answer. Unset: no time stamps.",
  ),
  EARMARK_C2PA_CONCURRENCY: int(2, 1, 64).describe(
    "C2PA reads and signings holding files in the WASM instance at once; the rest wait. With EARMARK_C2PA_MAX_BYTES " +
      "it bounds that memory (about 7× the largest file per slot, never returned to the system).",
  ),
  EARMARK_C2PA_MAX_BYTES: bytes("256MiB").describe(
    "Largest file whose C2PA manifest is read or signed (the WASM memory grows to about 7× the largest file).",
  ),
  EARMARK_REVIEW_SLA: seconds("24h").describe(
    "How long a held upload may wait for a reviewer before the review queue marks it overdue.",
  ),
  EARMARK_REVIEW_CLAIM: seconds("15m").describe(
    "How long opening an item in the review dashboard claims it for that reviewer.",
  ),
  EARMARK_REVIEW_SESSION: seconds("12h").describe("How long a review dashboard sign-in lasts."),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});

export type Env = z.input<typeof envSchema>;

/** Variables whose values are secrets (credentials, keys): shown as set or not, never printed. */
const SECRET_VARIABLES = new Set([
  "DATABASE_URL",
  "EARMARK_C2PA_KEY",
  "EARMARK_C2PA_SIGNER_TOKEN",
  "EARMARK_WATERMARK_KEY",
]);

/**
 * A variable's value as `earmark config` may print it: secrets and inline PEM (a certificate chain pasted
 * into the environment) only as `<set>` / `<PEM>`, so the command's output can be shared.
 */
export function shownValue(name: string, value: string | undefined): string | undefined {
  if (!value) return undefined;
  if (SECRET_VARIABLES.has(name)) return "<set>";
  if (value.trimStart().startsWith("-----BEGIN")) return "<PEM>";
  return value;
}

export interface Config {
  dataDir: string;
  host: string;
  port: number;
  databaseUrl: string | undefined;
  blobDir: string;
  publicUrl: string | undefined;
  /** The policy bundle directory, or null when policies are switched off. */
  policyDir: string | null;
  limits: { maxUploadBytes: number; maxDurationS: number; requestTimeoutMs: number };
  workers: number;
  jobs: { maxAttempts: number; leaseS: number; retryBaseS: number };
  rateLimit: { perMinute: number; uploadsPerHour: number };
  webhooks: { retryScheduleS: number[]; timeoutMs: number; allowPrivate: boolean; disableAfter: number };
  c2pa: {
    /** PEM chain and key (each a path or the PEM itself), or both null for development credentials. */
    cert: string | null;
    key: string | null;
    trustAnchors: string | null;
    tsaUrl: string | null;
    /** A remote signing service and its bearer token, used with `cert` instead of a local `key`. */
    signerUrl: string | null;
    signerToken: string | null;
    concurrency: number;
    maxBytes: number;
  };
  /** The watermark key: a file path or 64 hex digits, or null for the development key. */
  watermark: { key: string | null };
  review: { slaS: number; claimS: number; sessionS: number };
  logLevel: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

/**
 * Parses the environment once, at start-up. Fails with every problem at once, each naming its variable.
 *
 * @example
 * const config = loadConfig(process.env);
 */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ""));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`));
  }
  const e = parsed.data;
  if (e.EARMARK_C2PA_SIGNER_URL) {
    const problems = [
      ...(e.EARMARK_C2PA_CERT
        ? []
        : [
            "EARMARK_C2PA_CERT: required with EARMARK_C2PA_SIGNER_URL (the chain of the key the service signs with)",
          ]),
      ...(e.EARMARK_C2PA_KEY
        ? ["EARMARK_C2PA_KEY: must be unset with EARMARK_C2PA_SIGNER_URL (the remote service holds the key)"]
        : []),
    ];
    if (problems.length) throw new ConfigError(problems);
  } else if (Boolean(e.EARMARK_C2PA_CERT) !== Boolean(e.EARMARK_C2PA_KEY)) {
    throw new ConfigError([
      e.EARMARK_C2PA_CERT
        ? "EARMARK_C2PA_KEY: required with EARMARK_C2PA_CERT (the signing certificate's private key), or set EARMARK_C2PA_SIGNER_URL"
        : "EARMARK_C2PA_CERT: required with EARMARK_C2PA_KEY (the certificate chain the key belongs to)",
    ]);
  }
  const dataDir = path.resolve(e.EARMARK_DATA_DIR);
  return {
    dataDir,
    host: e.HOST,
    port: e.PORT,
    databaseUrl: e.DATABASE_URL,
    blobDir: path.resolve(e.EARMARK_BLOB_DIR ?? path.join(dataDir, "blobs")),
    publicUrl: e.EARMARK_PUBLIC_URL?.replace(/\/+$/, ""),
    policyDir:
      e.EARMARK_POLICY_DIR === "none"
        ? null
        : path.resolve(e.EARMARK_POLICY_DIR ?? fileURLToPath(new URL("../policies", import.meta.url))),
    limits: {
      maxUploadBytes: e.EARMARK_MAX_UPLOAD_BYTES,
      maxDurationS: e.EARMARK_MAX_DURATION,
      requestTimeoutMs: e.EARMARK_REQUEST_TIMEOUT * 1000,
    },
    workers: e.EARMARK_WORKERS,
    jobs: {
      maxAttempts: e.EARMARK_JOB_MAX_ATTEMPTS,
      leaseS: e.EARMARK_JOB_LEASE,
      retryBaseS: e.EARMARK_JOB_RETRY_BASE,
    },
    rateLimit: { perMinute: e.EARMARK_RATE_LIMIT_PER_MINUTE, uploadsPerHour: e.EARMARK_UPLOADS_PER_HOUR },
    webhooks: {
      retryScheduleS: e.EARMARK_WEBHOOK_RETRY,
      timeoutMs: e.EARMARK_WEBHOOK_TIMEOUT * 1000,
      allowPrivate: e.EARMARK_WEBHOOK_ALLOW_PRIVATE,
      disableAfter: e.EARMARK_WEBHOOK_DISABLE_AFTER,
    },
    c2pa: {
      cert: e.EARMARK_C2PA_CERT ?? null,
      key: e.EARMARK_C2PA_KEY ?? null,
      trustAnchors: e.EARMARK_C2PA_TRUST_ANCHORS ?? null,
      tsaUrl: e.EARMARK_C2PA_TSA_URL ?? null,
      signerUrl: e.EARMARK_C2PA_SIGNER_URL ?? null,
      signerToken: e.EARMARK_C2PA_SIGNER_TOKEN ?? null,
      concurrency: e.EARMARK_C2PA_CONCURRENCY,
      maxBytes: e.EARMARK_C2PA_MAX_BYTES,
    },
    watermark: { key: e.EARMARK_WATERMARK_KEY ?? null },
    review: {
      slaS: e.EARMARK_REVIEW_SLA,
      claimS: e.EARMARK_REVIEW_CLAIM,
      sessionS: e.EARMARK_REVIEW_SESSION,
    },
    logLevel: e.LOG_LEVEL,
  };
}
