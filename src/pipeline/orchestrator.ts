import { and, eq, inArray, sql } from "drizzle-orm";
import { ACCOUNT_SIGNAL_VERSION, loadAccountContext } from "../accounts/context.js";
import type { Db, Tx } from "../db/client.js";
import {
  decisions,
  policyRevisions,
  policyRuleHits,
  renditions,
  reviewTasks,
  signals as signalsTable,
  type UploadFailure,
  type UploadRow,
  uploads,
} from "../db/schema/index.js";
import type { Deps } from "../deps.js";
import { AudioInputError } from "../errors.js";
import { databaseCatalogue } from "../fingerprint/store.js";
import { newId } from "../ids.js";
import { decisionFacts } from "../policy/input.js";
import { loadUploadRecord } from "../uploads/record.js";
import { watermarkReader } from "../watermark/setup.js";
import { deliveryAttempts, emitEvent } from "../webhooks/endpoints.js";
import { analyseTogether } from "./analyse.js";
import type { Decision } from "./decide.js";
import { type RenditionDraft, renderUpload } from "./render.js";
import { SIGNAL_SCHEMAS, type Signals } from "./signals.js";
import type { UploadFacts } from "./stage.js";

type PipelineDeps = Pick<
  Deps,
  | "database"
  | "blobs"
  | "logger"
  | "metrics"
  | "stages"
  | "policy"
  | "renderSteps"
  | "baseUrl"
  | "config"
  | "provenance"
  | "watermarking"
>;

const TERMINAL = new Set(["decided", "held", "failed", "removed"]);

export function uploadFacts(row: UploadRow): UploadFacts {
  return {
    id: row.id,
    accountId: row.accountId,
    metadata: row.metadata,
    sha256: row.sha256,
    sizeBytes: row.sizeBytes,
    probe: row.probe,
  };
}

/**
 * The path of one upload after it was acknowledged: analyse (each stage → a stored signal), decide, render,
 * and record the outcome with its webhook in one transaction. Safe to run again after a crash at any point:
 * stored signals of the same stage version are reused, and a finished upload is left alone.
 */
export async function processUpload(
  deps: PipelineDeps,
  uploadId: string,
  ctx: { signal: AbortSignal; attempt: number },
): Promise<void> {
  const db = deps.database.db;
  const [row] = await db.select().from(uploads).where(eq(uploads.id, uploadId));
  if (!row || TERMINAL.has(row.status)) return;
  const log = deps.logger.child({ uploadId, attempt: ctx.attempt });
  await db
    .update(uploads)
    .set({ status: "processing", updatedAt: sql`now()` })
    .where(and(eq(uploads.id, uploadId), inArray(uploads.status, ["received", "processing"])));

  const source = await deps.blobs.open(row.blobKey);
  if (!source) throw new Error(`the stored audio ${row.blobKey} is missing from the blob store`);
  const facts = uploadFacts(row);
  const limits = { maxDurationS: deps.config.limits.maxDurationS };
  const stored = await db.select().from(signalsTable).where(eq(signalsTable.uploadId, uploadId));
  const signals: Partial<Signals> = {};

  // Stages whose signal (of the same version) is stored already are not run again: a retry resumes.
  const pending = deps.stages.filter((stage) => {
    const prior = stored.find((s) => s.stage === stage.name && s.version === stage.version);
    if (prior) (signals as Record<string, unknown>)[stage.name] = prior.data;
    return !prior;
  });
  ctx.signal.throwIfAborted();
  const outcomes = await analyseTogether(
    pending,
    { upload: facts, source, probe: row.probe, signals: { ...signals } },
    {
      signal: ctx.signal,
      logger: log,
      limits,
      catalogue: databaseCatalogue(db),
      provenance: deps.provenance,
      watermarks: watermarkReader(deps.watermarking, db),
    },
  );
  // Bad audio fails the upload, named after the first stage (in registration order) that found it.
  const badAudio = outcomes.find((o) => !o.ok && o.error instanceof AudioInputError);
  if (badAudio && !badAudio.ok) {
    const err = badAudio.error as AudioInputError;
    log.info({ stage: badAudio.stage.name, code: err.code }, "upload failed: bad audio");
    await failUpload(deps, row, {
      code: err.code,
      detail: err.detail,
      stage: badAudio.stage.name,
      attempts: ctx.attempt,
    });
    return;
  }
  // Any other failure is retried by the queue; the signals stored here are kept for the retry.
  let retry: { stage: string; error: unknown } | null = null;
  for (const o of outcomes) {
    const { name, version } = o.stage;
    if (!o.ok) {
      retry ??= { stage: name, error: o.error };
      continue;
    }
    // A stage that returns something off its schema is a bug; refuse to store it.
    const parsed = SIGNAL_SCHEMAS[name].safeParse(o.data);
    if (!parsed.success) {
      retry ??= { stage: name, error: parsed.error };
      continue;
    }
    const durationMs = o.durationMs;
    await db
      .insert(signalsTable)
      .values({ uploadId, stage: name, version, data: parsed.data, durationMs })
      .onConflictDoUpdate({
        target: [signalsTable.uploadId, signalsTable.stage],
        set: { version, data: parsed.data, durationMs, createdAt: sql`now()` },
      });
    (signals as Record<string, unknown>)[name] = parsed.data;
    deps.metrics.stageDuration.observe({ stage: name }, durationMs / 1000);
    log.debug({ stage: name, durationMs: Math.round(durationMs) }, "stage done");
  }
  if (retry) {
    const { stage, error } = retry;
    throw new Error(`stage ${stage}: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    });
  }

  // The account's history at upload time is part of what is decided on; stored like a signal so a retry or a
  // replay sees the same figures.
  if (!stored.some((x) => x.stage === "account" && x.version === ACCOUNT_SIGNAL_VERSION)) {
    const account = await loadAccountContext(db, row);
    await db
      .insert(signalsTable)
      .values({ uploadId, stage: "account", version: ACCOUNT_SIGNAL_VERSION, data: account, durationMs: 0 })
      .onConflictDoUpdate({
        target: [signalsTable.uploadId, signalsTable.stage],
        set: { version: ACCOUNT_SIGNAL_VERSION, data: account, createdAt: sql`now()` },
      });
    signals.account = account;
  } else {
    signals.account = stored.find((x) => x.stage === "account")!.data as Signals["account"];
  }

  const decision = deps.policy.decide(decisionFacts(row, signals));
  // The rules of the revision that decided, taken in the same tick as the decision: a bundle reload during
  // rendering must not store another revision's rules in its place. Once stored, not sent again.
  const known = storedRevisions(db);
  const revision = known.has(decision.policyRevision) ? null : deps.policy.describe();
  const rendition = await renderFor(deps, row, decision, ctx);
  const status = decision.action === "review" ? "held" : "decided";

  await db.transaction(async (tx) => {
    // Only an upload still in the pipeline takes a decision: a stale worker whose lease ran out must not
    // overwrite another worker's outcome or bring back an upload that was removed meanwhile.
    const claimed = await tx
      .update(uploads)
      .set({ status, updatedAt: sql`now()` })
      .where(and(eq(uploads.id, uploadId), inArray(uploads.status, ["received", "processing"])))
      .returning({ id: uploads.id });
    if (claimed.length === 0) {
      log.info("upload was finished or removed meanwhile; this decision is dropped");
      return;
    }
    if (revision) await tx.insert(policyRevisions).values(revision).onConflictDoNothing();
    await countRuleHits(tx, decision);
    await commitDecision(tx, deps, { row, decision, decidedBy: "policy", rendition, status });
  });
  if (revision) known.add(revision.revision);
  log.info({ action: decision.action, status }, "upload decided");
}

/** The rendition an `allow` or `label` decision sends out (null for `review` and `reject`). */
export async function renderFor(
  deps: Pick<Deps, "blobs" | "renderSteps">,
  row: UploadRow,
  decision: Decision,
  ctx: { signal: AbortSignal },
): Promise<RenditionDraft | null> {
  if (decision.action !== "allow" && decision.action !== "label") return null;
  return renderUpload(
    deps.blobs,
    { upload: uploadFacts(row), originalKey: row.blobKey, decision },
    deps.renderSteps,
    ctx,
  );
}

/**
 * The consequences of a decision, inside the caller's transaction (after it set the upload's `status`): the
 * decision row, the rendition row, the review task (opened when held, closed otherwise) and the webhook.
 * The policy's decisions (`decidedBy: "policy"`) and reviewers' (`reviewer:<email>`) both go through here.
 */
export async function commitDecision(
  tx: Tx,
  deps: Pick<Deps, "baseUrl" | "config">,
  input: {
    row: Pick<UploadRow, "id" | "accountId">;
    decision: Decision;
    decidedBy: string;
    rendition: RenditionDraft | null;
    status: "held" | "decided";
  },
): Promise<void> {
  const { row, decision, rendition, status } = input;
  const uploadId = row.id;
  await tx.insert(decisions).values({
    id: newId("dec"),
    uploadId,
    action: decision.action,
    labels: decision.labels,
    reasons: decision.reasons,
    policyRevision: decision.policyRevision,
    trace: decision.trace ?? null,
    decidedBy: input.decidedBy,
  });
  if (rendition) {
    await tx
      .insert(renditions)
      .values({ uploadId, ...rendition })
      .onConflictDoUpdate({ target: renditions.uploadId, set: { ...rendition, createdAt: sql`now()` } });
  }
  if (status === "held") {
    await tx.insert(reviewTasks).values({ uploadId, priority: decision.priority }).onConflictDoNothing();
  } else {
    await tx
      .update(reviewTasks)
      .set({ status: "closed", closedAt: sql`now()`, claimedBy: null, claimExpiresAt: null })
      .where(and(eq(reviewTasks.uploadId, uploadId), eq(reviewTasks.status, "open")));
  }
  const record = await loadUploadRecord(tx, uploadId, deps.baseUrl);
  await emitEvent(tx, row.accountId, status === "held" ? "upload.held" : "upload.decided", record!, {
    maxAttempts: deliveryAttempts(deps.config),
  });
}

/** Policy revisions whose rules are stored in a database (per database: tests open several in one process). */
const revisionsStored = new WeakMap<Db, Set<string>>();
function storedRevisions(db: Db): Set<string> {
  const set = revisionsStored.get(db) ?? new Set<string>();
  revisionsStored.set(db, set);
  return set;
}

async function countRuleHits(tx: Tx, decision: Decision): Promise<void> {
  for (const r of decision.trace?.rules ?? []) {
    if (!r.matched) continue;
    await tx
      .insert(policyRuleHits)
      .values({
        revision: decision.policyRevision,
        ruleId: r.id,
        mode: r.mode === "shadow" ? "shadow" : "enforce",
        hits: 1,
      })
      .onConflictDoUpdate({
        target: [policyRuleHits.revision, policyRuleHits.ruleId],
        set: { hits: sql`${policyRuleHits.hits} + 1` },
      });
  }
}

/** Marks an upload failed with a reason the client can act on, and tells its webhooks. */
export async function failUpload(
  deps: Pick<Deps, "database" | "baseUrl" | "config">,
  row: Pick<UploadRow, "id" | "accountId">,
  failure: Omit<UploadFailure, "at">,
): Promise<void> {
  await deps.database.db.transaction(async (tx) => {
    const updated = await tx
      .update(uploads)
      .set({ status: "failed", failure: { ...failure, at: new Date().toISOString() }, updatedAt: sql`now()` })
      .where(and(eq(uploads.id, row.id), inArray(uploads.status, ["received", "processing"])))
      .returning({ id: uploads.id });
    if (updated.length === 0) return; // already finished
    const record = await loadUploadRecord(tx, row.id, deps.baseUrl);
    await emitEvent(tx, row.accountId, "upload.failed", record!, {
      maxAttempts: deliveryAttempts(deps.config),
    });
  });
}
