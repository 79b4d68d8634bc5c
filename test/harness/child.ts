/**
 * A real Earmark process for crash tests, started with `node --import tsx test/harness/child.ts`.
 * EARMARK_CHILD=worker runs pipeline workers (Postgres); EARMARK_CHILD=server runs `earmark start`'s server.
 * With GATE_FILE set, the first stage writes that file and then hangs, so the test can kill the process
 * while a job is certainly in the middle of running.
 */
import { writeFileSync } from "node:fs";
import { loadConfig } from "../../src/config.js";
import { buildDeps } from "../../src/deps.js";
import { startWorker } from "../../src/jobs/kinds.js";
import type { Stage } from "../../src/pipeline/stage.js";
import { DEFAULT_STAGES } from "../../src/pipeline/stages/index.js";
import { startServer } from "../../src/server.js";

const gate = process.env.GATE_FILE;
const stages: readonly Stage[] = gate
  ? DEFAULT_STAGES.map((s, i) =>
      i === 0
        ? {
            ...s,
            async run() {
              writeFileSync(gate, String(process.pid));
              await new Promise(() => {});
              throw new Error("unreachable");
            },
          }
        : s,
    )
  : DEFAULT_STAGES;

const config = loadConfig(process.env);
if (process.env.EARMARK_CHILD === "worker") {
  const deps = await buildDeps(config, { stages });
  startWorker(deps, 1, { pollMs: 100 });
  process.stdout.write("CHILD_READY\n");
} else {
  const server = await startServer(config, { worker: true, command: "start", deps: { stages } });
  process.stdout.write(`CHILD_URL=${server.url}\n`);
}
