import { asc, eq } from "drizzle-orm";
import type { Db } from "../db/client.js";
import {
  accounts,
  type DecisionRow,
  decisions,
  policyRevisions,
  type StoredRule,
  signals,
  type UploadRow,
  uploads,
} from "../db/schema/index.js";
import type { Signals } from "../pipeline/signals.js";
import type { PolicyTrace } from "../policy/evaluate.js";

export interface ItemView {
  upload: UploadRow;
  accountName: string;
  signals: Partial<Signals>;
  signalVersions: Record<string, string>;
  decisions: DecisionRow[];
  /** The policy's latest decision and the rules of its revision (when on record). */
  policy: { decision: DecisionRow; trace: PolicyTrace | null; rules: Map<string, StoredRule> } | null;
  /** Titles of the uploads the fingerprint matched. */
  matchTitles: Map<string, string>;
}

/** Everything the item page shows about an upload, or null when there is no such upload. */
export async function loadItem(db: Db, uploadId: string): Promise<ItemView | null> {
  const [row] = await db
    .select({ upload: uploads, accountName: accounts.name })
    .from(uploads)
    .innerJoin(accounts, eq(accounts.id, uploads.accountId))
    .where(eq(uploads.id, uploadId));
  if (!row) return null;
  const sigRows = await db.select().from(signals).where(eq(signals.uploadId, uploadId));
  const sigs: Record<string, unknown> = {};
  const versions: Record<string, string> = {};
  for (const s of sigRows) {
    sigs[s.stage] = s.data;
    versions[s.stage] = s.version;
  }
  const history = await db
    .select()
    .from(decisions)
    .where(eq(decisions.uploadId, uploadId))
    .orderBy(asc(decisions.createdAt), asc(decisions.id));
  const policyDecision = history.filter((d) => d.decidedBy === "policy").at(-1);
  let policy: ItemView["policy"] = null;
  if (policyDecision) {
    const [rev] = await db
      .select()
      .from(policyRevisions)
      .where(eq(policyRevisions.revision, policyDecision.policyRevision));
    policy = {
      decision: policyDecision,
      trace: (policyDecision.trace as PolicyTrace | null) ?? null,
      rules: new Map((rev?.rules ?? []).map((r) => [r.id, r])),
    };
  }
  const matchTitles = new Map<string, string>();
  const fp = sigs.fingerprint as Signals["fingerprint"] | undefined;
  for (const m of fp?.matches ?? []) {
    const [u] = await db
      .select({ metadata: uploads.metadata })
      .from(uploads)
      .where(eq(uploads.id, m.uploadId));
    if (u) matchTitles.set(m.uploadId, u.metadata.title ?? m.uploadId);
  }
  return {
    upload: row.upload,
    accountName: row.accountName,
    signals: sigs as Partial<Signals>,
    signalVersions: versions,
    decisions: history,
    policy,
    matchTitles,
  };
}
