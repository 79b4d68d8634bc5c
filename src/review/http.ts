import type { AppEnv } from "../api/context.js";
import type { Reviewer, reviewerSessions } from "../db/schema/index.js";

/** The dashboard's request context: the app's, plus the signed-in reviewer and session. */
export interface ReviewEnv {
  Variables: AppEnv["Variables"] & {
    reviewer: Reviewer;
    session: typeof reviewerSessions.$inferSelect;
  };
}

/** A dashboard error: rendered as a readable HTML page with this status, title and message. */
export class ReviewError extends Error {
  override name = "ReviewError";
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 422 | 429,
    readonly title: string,
    message: string,
  ) {
    super(message);
  }
}
