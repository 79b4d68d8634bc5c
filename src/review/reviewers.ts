import { asc, eq, sql } from "drizzle-orm";
import type { Db } from "../db/client.js";
import { type Reviewer, type ReviewerRole, reviewerSessions, reviewers } from "../db/schema/index.js";
import { newId } from "../ids.js";
import { appendAudit } from "./audit.js";
import { hashPassword, MIN_PASSWORD_LENGTH } from "./password.js";

export const normaliseEmail = (email: string) => email.trim().toLowerCase();
const EMAIL = /^[^\s@]+@[^\s@]+$/;

export class ReviewerInputError extends Error {
  override name = "ReviewerInputError";
}

/**
 * Creates a reviewer account (and its audit entry). Throws {@link ReviewerInputError} for a malformed email,
 * a short password or an email that is taken.
 *
 * @example
 * await createReviewer(db, { email: "alice@example.org", role: "reviewer", password, by: "cli" });
 */
export async function createReviewer(
  db: Db,
  input: { email: string; role: ReviewerRole; password: string; by: string },
): Promise<Reviewer> {
  const email = normaliseEmail(input.email);
  if (!EMAIL.test(email)) throw new ReviewerInputError(`"${input.email}" is not an email address.`);
  if (input.password.length < MIN_PASSWORD_LENGTH)
    throw new ReviewerInputError(
      `The password is ${input.password.length} characters long; use at least ${MIN_PASSWORD_LENGTH}.`,
    );
  const passwordHash = await hashPassword(input.password);
  return db.transaction(async (tx) => {
    const [row] = await tx
      .insert(reviewers)
      .values({ id: newId("rvw"), email, role: input.role, passwordHash })
      .onConflictDoNothing({ target: reviewers.email })
      .returning();
    if (!row) throw new ReviewerInputError(`A reviewer with the email ${email} exists already.`);
    await appendAudit(tx, {
      actor: input.by,
      action: "reviewer-created",
      toState: input.role,
      details: { email, reviewerId: row.id },
    });
    return row;
  });
}

export async function findReviewerByEmail(db: Db, email: string): Promise<Reviewer | null> {
  const [row] = await db
    .select()
    .from(reviewers)
    .where(eq(reviewers.email, normaliseEmail(email)));
  return row ?? null;
}

export async function listReviewers(db: Db): Promise<Reviewer[]> {
  return db.select().from(reviewers).orderBy(asc(reviewers.email));
}

/** Disables a reviewer and ends their sessions. False when no such reviewer is active. */
export async function disableReviewer(db: Db, email: string, by: string): Promise<boolean> {
  return db.transaction(async (tx) => {
    const [row] = await tx
      .update(reviewers)
      .set({ disabledAt: sql`now()` })
      .where(sql`${reviewers.email} = ${normaliseEmail(email)} and ${reviewers.disabledAt} is null`)
      .returning();
    if (!row) return false;
    await tx.delete(reviewerSessions).where(eq(reviewerSessions.reviewerId, row.id));
    await appendAudit(tx, {
      actor: by,
      action: "reviewer-disabled",
      fromState: row.role,
      toState: "disabled",
      details: { email: row.email, reviewerId: row.id },
    });
    return true;
  });
}
