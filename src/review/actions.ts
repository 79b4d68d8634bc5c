import { and, desc, eq, sql } from "drizzle-orm";
import type { Db, Tx } from "../db/client.js";
import {
  decisions,
  type Reviewer,
  renditions,
  reviewers,
  reviewTasks,
  type UploadRow,
  uploads,
} from "../db/schema/index.js";
import type { Deps } from "../deps.js";
import type { Decision } from "../pipeline/decide.js";
import { commitDecision, renderFor } from "../pipeline/orchestrator.js";
import type { RenditionDraft } from "../pipeline/render.js";
import { appendAudit } from "./audit.js";
import { ReviewError } from "./http.js";

/** `decidedBy` of a reviewer's decision: `reviewer:<email>`. */
export const reviewerDecidedBy = (r: Pick<Reviewer, "email">) => `reviewer:${r.email}`;

export type Task = typeof reviewTasks.$inferSelect;

export interface ClaimState {
  task: Task | null;
  /** Who holds the item now (null: nobody, or the task is closed). */
  claimedBy: { id: string; email: string; until: Date } | null;
  mine: boolean;
}

async function lockTask(tx: Tx, uploadId: string): Promise<Task | null> {
  const [task] = await tx.select().from(reviewTasks).where(eq(reviewTasks.uploadId, uploadId)).for("update");
  return task ?? null;
}

const liveClaim = (task: Task, now: Date) =>
  task.claimedBy && task.claimExpiresAt && task.claimExpiresAt > now ? task.claimedBy : null;

async function emailOf(tx: Db | Tx, id: string): Promise<string> {
  const [r] = await tx.select({ email: reviewers.email }).from(reviewers).where(eq(reviewers.id, id));
  return r?.email ?? id;
}

async function now(tx: Tx): Promise<Date> {
  const [row] = await tx.select({ now: sql<string>`now()` }).from(sql`(select 1) as one`);
  return new Date(row!.now);
}

/**
 * Opening an item claims its open task for `claimS` seconds (or extends this reviewer's claim). Held by
 * someone else and not expired: left alone, and the state says who. A new claim is audited.
 */
export async function claimTask(
  deps: Pick<Deps, "database" | "config">,
  reviewer: Reviewer,
  uploadId: string,
): Promise<ClaimState> {
  return deps.database.db.transaction(async (tx) => {
    const task = await lockTask(tx, uploadId);
    if (task?.status !== "open") return { task, claimedBy: null, mine: false };
    if (task.escalatedAt && reviewer.role !== "admin") return { task, claimedBy: null, mine: false };
    const t = await now(tx);
    const holder = liveClaim(task, t);
    if (holder && holder !== reviewer.id) {
      return {
        task,
        claimedBy: { id: holder, email: await emailOf(tx, holder), until: task.claimExpiresAt! },
        mine: false,
      };
    }
    const until = new Date(t.getTime() + deps.config.review.claimS * 1000);
    const [updated] = await tx
      .update(reviewTasks)
      .set({ claimedBy: reviewer.id, claimExpiresAt: until })
      .where(eq(reviewTasks.uploadId, uploadId))
      .returning();
    if (holder !== reviewer.id) {
      const expired =
        task.claimedBy && task.claimedBy !== reviewer.id ? await emailOf(tx, task.claimedBy) : null;
      await appendAudit(tx, {
        actor: reviewer.email,
        reviewerId: reviewer.id,
        action: "claim",
        uploadId,
        fromState: expired ? `open, claim of ${expired} expired` : "open, unclaimed",
        toState: `claimed by ${reviewer.email} until ${until.toISOString()}`,
      });
    }
    return { task: updated!, claimedBy: { id: reviewer.id, email: reviewer.email, until }, mine: true };
  });
}

/** In the action's transaction: the upload must be held, its task open, visible to this reviewer, not someone else's. */
async function checkActionable(
  tx: Tx,
  reviewer: Reviewer,
  uploadId: string,
): Promise<{ row: UploadRow; task: Task }> {
  const [row] = await tx.select().from(uploads).where(eq(uploads.id, uploadId)).for("update");
  if (!row) throw new ReviewError(404, "No such upload", `There is no upload ${uploadId}.`);
  const task = await lockTask(tx, uploadId);
  if (row.status !== "held" || !task || task.status !== "open")
    throw new ReviewError(
      409,
      "Already decided",
      `This upload is ${row.status}${task?.status === "closed" ? " and its review task is closed" : ""}; there is nothing left to decide.`,
    );
  if (task.escalatedAt && reviewer.role !== "admin")
    throw new ReviewError(
      403,
      "Escalated to admins",
      "This item was escalated; only an admin can decide it now.",
    );
  const holder = liveClaim(task, await now(tx));
  if (holder && holder !== reviewer.id)
    throw new ReviewError(
      409,
      "Claimed by someone else",
      `This item is claimed by ${await emailOf(tx, holder)} until ${task.claimExpiresAt!.toISOString()}; nothing was done.`,
    );
  return { row, task };
}

async function policyRevisionOf(tx: Db | Tx, uploadId: string): Promise<string> {
  const [d] = await tx
    .select({ policyRevision: decisions.policyRevision })
    .from(decisions)
    .where(and(eq(decisions.uploadId, uploadId), eq(decisions.decidedBy, "policy")))
    .orderBy(desc(decisions.createdAt), desc(decisions.id))
    .limit(1);
  return d?.policyRevision ?? "none";
}

const describeDecision = (d: Pick<Decision, "action" | "labels">) =>
  `decided: ${d.action}${d.labels.length ? ` (${d.labels.join(", ")})` : ""}`;

/**
 * A reviewer's decision on a held upload, inside the caller's transaction (after checkActionable): the upload
 * becomes `decided`, the decision goes through the orchestrator's commitDecision (decision row, rendition row,
 * task closed, webhook), and the audit entry is written with it.
 */
async function recordReviewerDecision(
  tx: Tx,
  deps: Pick<Deps, "baseUrl" | "config">,
  reviewer: Reviewer,
  input: {
    row: Parameters<typeof commitDecision>[2]["row"];
    decision: Decision;
    rendition: RenditionDraft | null;
    audit: { action: "approve" | "reject"; reason: string; note: string | null };
  },
): Promise<void> {
  const { row, decision } = input;
  await tx.update(uploads).set({ status: "decided", updatedAt: sql`now()` }).where(eq(uploads.id, row.id));
  await commitDecision(tx, deps, {
    row,
    decision,
    decidedBy: reviewerDecidedBy(reviewer),
    rendition: input.rendition,
    status: "decided",
  });
  await appendAudit(tx, {
    actor: reviewer.email,
    reviewerId: reviewer.id,
    action: input.audit.action,
    uploadId: row.id,
    reason: input.audit.reason,
    note: input.audit.note,
    fromState: "held",
    toState: describeDecision(decision),
  });
}

/**
 * Approves a held upload: `allow` without labels, `label` with them. Renders the rendition, records the
 * decision as `reviewer:<email>`, closes the task and fires `upload.decided` — the same functions the policy's
 * decisions go through — with the audit entry in the same transaction.
 */
export async function approveUpload(
  deps: Pick<Deps, "database" | "blobs" | "renderSteps" | "baseUrl" | "config">,
  reviewer: Reviewer,
  uploadId: string,
  input: { labels: string[]; note: string | null },
): Promise<void> {
  const db = deps.database.db;
  // Checked before rendering (which may take long), and again in the transaction that records the decision.
  const pre = await db.transaction((tx) => checkActionable(tx, reviewer, uploadId));
  const decision: Decision = {
    action: input.labels.length > 0 ? "label" : "allow",
    labels: input.labels,
    reasons: [
      { ruleId: "reviewer", message: "Approved by a reviewer." },
      ...(input.note ? [{ ruleId: "reviewer-note", message: input.note }] : []),
    ],
    policyRevision: await policyRevisionOf(db, uploadId),
    priority: 0,
    trace: null,
  };
  const rendition = await renderFor(deps, pre.row, decision, { signal: new AbortController().signal });
  try {
    await db.transaction(async (tx) => {
      const { row } = await checkActionable(tx, reviewer, uploadId);
      await recordReviewerDecision(tx, deps, reviewer, {
        row,
        decision,
        rendition,
        audit: {
          action: "approve",
          reason: input.labels.length ? `labels: ${input.labels.join(", ")}` : "no labels",
          note: input.note,
        },
      });
    });
  } catch (err) {
    // Refused after rendering: a rendition blob no row points to is removed (unless another decision made one).
    if (rendition) {
      const [kept] = await db
        .select({ k: renditions.blobKey })
        .from(renditions)
        .where(eq(renditions.uploadId, uploadId));
      if (!kept) await deps.blobs.delete(rendition.blobKey);
    }
    throw err;
  }
}

/** One reason a reviewer can reject for: the rules of the active bundle that reject or hold, plus `other`. */
export interface RejectReason {
  id: string;
  text: string;
}

export const OTHER_REASON: RejectReason = { id: "other", text: "Another reason (say which in the note)." };

export function rejectReasons(deps: Pick<Deps, "policy">): RejectReason[] {
  const rules = deps.policy.describe()?.rules ?? [];
  return [
    ...rules
      .filter((r) => r.mode === "enforce" && (r.action === "reject" || r.action === "review"))
      .map((r) => ({ id: r.id, text: r.reason }))
      .sort((a, b) => a.id.localeCompare(b.id)),
    OTHER_REASON,
  ];
}

/** Rejects a held upload with a reason (and a note the creator sees in the decision's reasons). */
export async function rejectUpload(
  deps: Pick<Deps, "database" | "baseUrl" | "config" | "policy">,
  reviewer: Reviewer,
  uploadId: string,
  input: { reasonId: string; note: string | null },
): Promise<void> {
  const reason = rejectReasons(deps).find((r) => r.id === input.reasonId);
  if (!reason)
    throw new ReviewError(422, "Unknown reason", `"${input.reasonId}" is not one of the reasons offered.`);
  if (reason.id === OTHER_REASON.id && !input.note)
    throw new ReviewError(422, "Say why", "With the reason “another reason”, the note must say what it is.");
  const db = deps.database.db;
  await db.transaction(async (tx) => {
    const { row } = await checkActionable(tx, reviewer, uploadId);
    const decision: Decision = {
      action: "reject",
      labels: [],
      reasons: [
        {
          ruleId: reason.id,
          message: reason.id === OTHER_REASON.id ? "Rejected by a reviewer." : reason.text,
        },
        ...(input.note ? [{ ruleId: "reviewer-note", message: input.note }] : []),
      ],
      policyRevision: await policyRevisionOf(tx, uploadId),
      priority: 0,
      trace: null,
    };
    await recordReviewerDecision(tx, deps, reviewer, {
      row,
      decision,
      rendition: null,
      audit: { action: "reject", reason: reason.id, note: input.note },
    });
  });
}

/** Sends an item to the admins: it leaves the reviewers' queue and its claim is released. */
export async function escalateUpload(
  deps: Pick<Deps, "database">,
  reviewer: Reviewer,
  uploadId: string,
  input: { note: string | null },
): Promise<void> {
  await deps.database.db.transaction(async (tx) => {
    const { task } = await checkActionable(tx, reviewer, uploadId);
    if (task.escalatedAt)
      throw new ReviewError(409, "Already escalated", "This item is with the admins already.");
    await tx
      .update(reviewTasks)
      .set({ escalatedAt: sql`now()`, claimedBy: null, claimExpiresAt: null })
      .where(eq(reviewTasks.uploadId, uploadId));
    await appendAudit(tx, {
      actor: reviewer.email,
      reviewerId: reviewer.id,
      action: "escalate",
      uploadId,
      note: input.note,
      fromState: "held, in the reviewers' queue",
      toState: "held, escalated to admins",
    });
  });
}
