import { type Command, InvalidArgumentError, Option } from "commander";
import { formatProblem, loadPolicyBundle, type PolicyBundle, PolicyBundleError } from "../policy/bundle.js";
import { formatCases, overrideCases } from "../policy/cases.js";
import { describePolicyInput } from "../policy/cel-schema.js";
import { explainUpload } from "../policy/explain.js";
import { formatReplay, replayPolicy } from "../policy/replay.js";
import { formatTestReport, runPolicyTests } from "../policy/test-runner.js";
import { CliError, configFromEnv, withDatabase } from "./context.js";

function bundleDir(dir: string | undefined): string {
  if (dir) return dir;
  const configured = configFromEnv().policyDir;
  if (!configured)
    throw new CliError("Policies are switched off (EARMARK_POLICY_DIR=none); name a bundle directory.", 2);
  return configured;
}

/** Loads a bundle or prints its problems as `file:line:col: message` (GitHub annotations with --format github). */
async function loadOrReport(dir: string, format: string): Promise<PolicyBundle> {
  try {
    return await loadPolicyBundle(dir);
  } catch (err) {
    if (!(err instanceof PolicyBundleError)) throw err;
    for (const p of err.problems) {
      if (format === "github")
        process.stdout.write(
          `::error file=${p.file},line=${p.line},col=${p.col}::${p.ruleId ? `rule ${p.ruleId}: ` : ""}${p.message}\n`,
        );
      else process.stdout.write(`${formatProblem(p)}\n`);
    }
    throw new CliError(
      `${err.problems.length} problem${err.problems.length === 1 ? "" : "s"} in the policy bundle ${dir}.`,
    );
  }
}

function duration(value: string): number {
  const m = /^(\d+)\s*(d|h|m)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError("expected a duration such as 30d, 12h or 90m");
  return Number(m[1]) * { d: 86400_000, h: 3600_000, m: 60_000 }[m[2] as "d" | "h" | "m"];
}

function percent(value: string): number {
  const n = Number(value.replace(/%$/, ""));
  if (!Number.isFinite(n) || n < 0 || n > 100)
    throw new InvalidArgumentError("expected a percentage from 0 to 100");
  return n;
}

export function registerPolicyCommands(program: Command): void {
  const policy = program
    .command("policy")
    .description("Check, test, replay and explain the policy bundle (made for CI on a policy pull request)");

  policy
    .command("check [dir]")
    .description(
      "Validate the bundle: YAML schema, expression types against the signal schema, lint; exit 1 with file:line:col messages",
    )
    .addOption(
      new Option("-f, --format <format>", "output format").choices(["text", "github"]).default("text"),
    )
    .action(async (dir: string | undefined, opts: { format: string }) => {
      const bundle = await loadOrReport(bundleDir(dir), opts.format);
      process.stdout.write(
        `ok: ${bundle.rules.length} rules (${bundle.rules.filter((r) => r.mode === "shadow").length} shadow), ${bundle.constants.length} constants, ${Object.keys(bundle.labels).length} labels, ${bundle.tests.length} test cases; revision ${bundle.revision}${bundle.gitCommit ? ` (git ${bundle.gitCommit.slice(0, 7)})` : ""}\n`,
      );
    });

  policy
    .command("test [dir]")
    .description("Run the bundle's test cases and report rule coverage")
    .addOption(
      new Option("-f, --format <format>", "output format")
        .choices(["text", "junit", "github"])
        .default("text"),
    )
    .option(
      "--min-coverage <percent>",
      "fail when fewer rules than this are exercised by a passing case",
      percent,
    )
    .action(
      async (
        dir: string | undefined,
        opts: { format: "text" | "junit" | "github"; minCoverage?: number },
      ) => {
        const bundle = await loadOrReport(bundleDir(dir), opts.format);
        const report = runPolicyTests(bundle);
        process.stdout.write(`${formatTestReport(report, opts.format, { minCoverage: opts.minCoverage })}\n`);
        if (report.failed > 0)
          throw new CliError(`${report.failed} policy test case${report.failed === 1 ? "" : "s"} failed.`);
        if (opts.minCoverage !== undefined && report.coverage.ratio * 100 < opts.minCoverage)
          throw new CliError(
            `Rule coverage ${(report.coverage.ratio * 100).toFixed(0)}% is below --min-coverage ${opts.minCoverage}%.`,
          );
      },
    );

  policy
    .command("replay")
    .description(
      "Re-evaluate past uploads' stored signals with a candidate bundle and show what would change",
    )
    .requiredOption("-b, --bundle <dir>", "the candidate bundle")
    .option("--since <duration>", "only uploads from this far back (30d, 12h, 90m)", duration)
    .option("--limit <n>", "at most this many uploads", (v) => Number.parseInt(v, 10))
    .addOption(
      new Option("-f, --format <format>", "output format")
        .choices(["text", "markdown", "json"])
        .default("text"),
    )
    .action(
      async (opts: {
        bundle: string;
        since?: number;
        limit?: number;
        format: "text" | "markdown" | "json";
      }) => {
        const bundle = await loadOrReport(opts.bundle, "text");
        await withDatabase(
          configFromEnv(),
          "policy replay",
          async ({ db }) => {
            const report = await replayPolicy(db, bundle, {
              since: opts.since ? new Date(Date.now() - opts.since) : null,
              limit: opts.limit,
            });
            process.stdout.write(`${formatReplay(report, opts.format)}\n`);
          },
          { readOnly: true },
        );
      },
    );

  policy
    .command("explain <uploadId>")
    .description("The decisions taken on an upload and the policy trace, in words")
    .action(async (uploadId: string) => {
      await withDatabase(
        configFromEnv(),
        "policy explain",
        async ({ db }) => {
          const text = await explainUpload(db, uploadId);
          if (!text) throw new CliError(`No upload ${uploadId}.`);
          process.stdout.write(`${text}\n`);
        },
        { readOnly: true },
      );
    });

  policy
    .command("cases")
    .description("Write reviewer overrides as policy test cases (YAML `tests:` for a bundle directory)")
    .requiredOption("--from-overrides", "cases from uploads a reviewer decided differently from the policy")
    .option("--since <duration>", "only reviewer decisions from this far back (30d, 12h, 90m)", duration)
    .option("--limit <n>", "at most this many cases", (v) => Number.parseInt(v, 10))
    .action(async (opts: { since?: number; limit?: number }) => {
      await withDatabase(
        configFromEnv(),
        "policy cases",
        async ({ db }) => {
          const cases = await overrideCases(db, {
            since: opts.since ? new Date(Date.now() - opts.since) : undefined,
            limit: opts.limit,
          });
          process.stdout.write(formatCases(cases));
          process.stderr.write(
            `${cases.length} case${cases.length === 1 ? "" : "s"} from reviewer overrides.\n`,
          );
        },
        { readOnly: true },
      );
    });

  policy
    .command("schema")
    .description("Every field a rule can read, with its CEL type")
    .action(() => {
      process.stdout.write(`${describePolicyInput().join("\n")}\n`);
    });
}
