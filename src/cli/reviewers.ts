import { createInterface } from "node:readline";
import { type Command, Option } from "commander";
import { REVIEWER_ROLES, type ReviewerRole } from "../db/schema/index.js";
import { createReviewer, disableReviewer, listReviewers, ReviewerInputError } from "../review/reviewers.js";
import { CliError, configFromEnv, json, withDatabase } from "./context.js";

/** The first line of stdin: `echo "$PASSWORD" | earmark reviewers create …`, or typed at the prompt. */
async function readPassword(): Promise<string> {
  if (process.stdin.isTTY)
    process.stderr.write("Password (at least 12 characters; it is echoed, so consider piping it): ");
  const rl = createInterface({ input: process.stdin });
  try {
    for await (const line of rl) return line.replace(/\r$/, "");
  } finally {
    rl.close();
  }
  return "";
}

/** `earmark reviewers …`: accounts of the review dashboard (not API accounts). */
export function registerReviewerCommands(program: Command): void {
  const reviewers = program
    .command("reviewers")
    .description("Manage review dashboard accounts (/review); works before the server starts");

  reviewers
    .command("create")
    .description("Create a reviewer; the password is read from the first line of stdin")
    .requiredOption("-e, --email <email>", "what the reviewer signs in with")
    .addOption(
      new Option("-r, --role <role>", "admins also see escalated items and the audit log")
        .choices(REVIEWER_ROLES)
        .default("reviewer"),
    )
    .action(async (opts: { email: string; role: ReviewerRole }) => {
      const password = await readPassword();
      if (password === "")
        throw new CliError("No password on stdin: pipe one in, e.g. `… < password.txt`.", 2);
      await withDatabase(configFromEnv(), "reviewers create", async ({ db }) => {
        try {
          const r = await createReviewer(db, { email: opts.email, role: opts.role, password, by: "cli" });
          json({ id: r.id, email: r.email, role: r.role });
        } catch (err) {
          if (err instanceof ReviewerInputError) throw new CliError(err.message);
          throw err;
        }
      });
    });

  reviewers
    .command("list")
    .description("List reviewers")
    .action(async () => {
      await withDatabase(configFromEnv(), "reviewers list", async ({ db }) => {
        for (const r of await listReviewers(db))
          json({ id: r.id, email: r.email, role: r.role, createdAt: r.createdAt, disabledAt: r.disabledAt });
      });
    });

  reviewers
    .command("disable <email>")
    .description("Disable a reviewer and end their sessions")
    .action(async (email: string) => {
      await withDatabase(configFromEnv(), "reviewers disable", async ({ db }) => {
        if (!(await disableReviewer(db, email, "cli"))) throw new CliError(`No active reviewer ${email}.`);
        json({ email, disabled: true });
      });
    });
}
