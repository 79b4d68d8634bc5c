import path from "node:path";
import pino, { type Logger } from "pino";
import { DbRateLimiter, type RateLimiter } from "./accounts/rate-limit.js";
import type { Config } from "./config.js";
import { type Database, openDatabase } from "./db/client.js";
import { createMetrics, type Metrics } from "./metrics.js";
import { noPolicyBundle, type PolicyEngine } from "./pipeline/decide.js";
import type { RenderStep } from "./pipeline/render.js";
import type { Stage } from "./pipeline/stage.js";
import { DEFAULT_STAGES } from "./pipeline/stages/index.js";
import { loadPolicyBundle } from "./policy/bundle.js";
import { BundlePolicyEngine } from "./policy/engine.js";
import { c2paSigningStep } from "./provenance/render-step.js";
import { type Provenance, setupProvenance } from "./provenance/service.js";
import type { BlobStore } from "./storage/blob-store.js";
import { FsBlobStore } from "./storage/fs-blob-store.js";
import { watermarkStep } from "./watermark/render-step.js";
import { setupWatermarking, type Watermarking } from "./watermark/setup.js";
import { webhookFetch } from "./webhooks/destination.js";

/**
 * Everything the app and the worker use, as values. Tests build their own (in-memory PGlite, a temp blob
 * directory, extra stages) instead of mocking modules.
 */
export interface Deps {
  config: Config;
  database: Database;
  blobs: BlobStore;
  logger: Logger;
  metrics: Metrics;
  rateLimiter: RateLimiter;
  stages: readonly Stage[];
  policy: PolicyEngine;
  renderSteps: readonly RenderStep[];
  /** C2PA: the signer, the trust anchors, and reading manifests (see provenance/service.ts). */
  provenance: Provenance;
  /** The deployment's watermark key (see watermark/setup.ts). */
  watermarking: Watermarking;
  /** Used for webhook deliveries; by default it refuses private destinations (see webhooks/destination.ts). */
  fetch: typeof fetch;
  /** Base of absolute links when there is no request to take it from (webhooks, CLI). */
  baseUrl: string;
}

export function defaultBaseUrl(config: Config): string {
  if (config.publicUrl) return config.publicUrl;
  const host = config.host === "0.0.0.0" || config.host === "::" ? "localhost" : config.host;
  return `http://${host.includes(":") ? `[${host}]` : host}:${config.port}`;
}

export function createLogger(config: Pick<Config, "logLevel">): Logger {
  return pino({ level: config.logLevel, base: undefined, timestamp: pino.stdTimeFunctions.isoTime });
}

/**
 * Opens the configured database (migrating it), loads the policy bundle, and builds the default dependencies.
 * An invalid policy bundle is an error here: the server does not start on a policy it cannot check.
 */
export async function buildDeps(config: Config, overrides: Partial<Deps> = {}): Promise<Deps> {
  // The bundle and the signing certificate first: a bad one must not leave a database open behind it.
  const policy =
    overrides.policy ??
    (config.policyDir ? new BundlePolicyEngine(await loadPolicyBundle(config.policyDir)) : noPolicyBundle);
  const logger = overrides.logger ?? createLogger(config);
  const provenance =
    overrides.provenance ?? (await setupProvenance(config, logger.child({ component: "c2pa" })));
  const watermarking =
    overrides.watermarking ?? (await setupWatermarking(config, logger.child({ component: "watermark" })));
  const database =
    overrides.database ??
    (await openDatabase(
      config.databaseUrl
        ? { kind: "postgres", url: config.databaseUrl }
        : { kind: "pglite", dataDir: path.join(config.dataDir, "pglite") },
    ));
  await database.migrate();
  return {
    config,
    database,
    blobs: overrides.blobs ?? new FsBlobStore(config.blobDir),
    logger,
    metrics: overrides.metrics ?? createMetrics(database.db),
    rateLimiter: overrides.rateLimiter ?? new DbRateLimiter(database.db),
    stages: overrides.stages ?? DEFAULT_STAGES,
    policy,
    // The mark goes into the audio first; the manifest then signs the marked bytes and names the mark.
    renderSteps: overrides.renderSteps ?? [
      watermarkStep(watermarking, database.db, { maxDurationS: config.limits.maxDurationS }),
      c2paSigningStep(provenance, policy, logger.child({ component: "c2pa" })),
    ],
    provenance,
    watermarking,
    fetch: overrides.fetch ?? webhookFetch({ allowPrivate: config.webhooks.allowPrivate }),
    baseUrl: overrides.baseUrl ?? defaultBaseUrl(config),
  };
}
