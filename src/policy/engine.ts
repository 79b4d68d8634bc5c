import { type FSWatcher, watch } from "node:fs";
import type { Logger } from "pino";
import type { StoredRule } from "../db/schema/index.js";
import type { Decision, PolicyEngine } from "../pipeline/decide.js";
import { formatProblem, loadPolicyBundle, type PolicyBundle, PolicyBundleError } from "./bundle.js";
import { evaluatePolicy } from "./evaluate.js";
import { buildPolicyInput, type DecisionFacts } from "./input.js";

/** A bundle's rules in the form stored once per revision. */
export function describeBundle(b: PolicyBundle): {
  revision: string;
  gitCommit: string | null;
  rules: StoredRule[];
} {
  return {
    revision: b.revision,
    gitCommit: b.gitCommit,
    rules: b.rules.map((r) => ({
      id: r.id,
      description: r.description,
      when: r.when,
      action: r.action,
      labels: r.labels,
      reason: r.reason,
      priority: r.priority,
      mode: r.mode,
      owner: r.owner,
      file: r.file,
    })),
  };
}

/** The policy engine over a loaded bundle; the bundle can be swapped while the server runs. */
export class BundlePolicyEngine implements PolicyEngine {
  constructor(private current: PolicyBundle) {}

  get bundle(): PolicyBundle {
    return this.current;
  }

  get revision(): string {
    return this.current.revision;
  }

  decide(facts: DecisionFacts): Decision {
    return evaluatePolicy(this.current, buildPolicyInput(facts));
  }

  describe(): { revision: string; gitCommit: string | null; rules: StoredRule[] } {
    return describeBundle(this.current);
  }

  labels(): Readonly<Record<string, string>> {
    return this.current.labels;
  }

  replace(bundle: PolicyBundle): void {
    this.current = bundle;
  }
}

/**
 * Reloads the bundle on SIGHUP and when a file under `dir` changes. A bundle that fails to load is refused:
 * the active one stays, and the refusal is logged with every problem.
 */
export function watchPolicyBundle(
  engine: BundlePolicyEngine,
  dir: string,
  logger: Logger,
  opts: { debounceMs?: number } = {},
): () => void {
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  const reload = (why: string) => {
    running = running.then(async () => {
      try {
        const bundle = await loadPolicyBundle(dir);
        if (bundle.revision === engine.revision) return;
        const previous = engine.revision;
        engine.replace(bundle);
        logger.info(
          { why, previous, revision: bundle.revision, rules: bundle.rules.length },
          "policy bundle reloaded",
        );
      } catch (err) {
        const problems = err instanceof PolicyBundleError ? err.problems.map(formatProblem) : [String(err)];
        logger.error(
          { why, active: engine.revision, problems },
          "policy bundle refused; the active revision stays",
        );
      }
    });
  };
  const schedule = (why: string) => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(() => reload(why), opts.debounceMs ?? 250);
  };
  const onHup = () => schedule("SIGHUP");
  process.on("SIGHUP", onHup);
  let watcher: FSWatcher | null = null;
  try {
    watcher = watch(dir, { recursive: true }, (_event, file) => {
      if (file && /\.ya?ml$/.test(String(file))) schedule(`changed ${file}`);
    });
  } catch (err) {
    logger.warn({ err: String(err), dir }, "cannot watch the policy directory; reload with SIGHUP");
  }
  return () => {
    process.off("SIGHUP", onHup);
    watcher?.close();
    if (timer) clearTimeout(timer);
  };
}
