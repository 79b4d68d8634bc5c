/**
 * One long file through the real ingestion path in a fresh process, so `maxRSS` is this process's own peak:
 * `storeAudio` (stream into the blob store, sniff, hash, probe) → `commitUpload` → the pipeline exactly as a
 * worker runs it (`processUpload`: decode stage, stats stage, decision, rendition, commit).
 *
 *   node --import tsx bench/ingest/rss-child.ts FILE      (EARMARK_DATA_DIR, optional DATABASE_URL)
 *
 * Prints one line `RSS_JSON {...}` with the peak RSS reached by the end of each phase.
 */
import { createReadStream, readFileSync } from "node:fs";
import pino from "pino";
import { createAccount } from "../../src/accounts/accounts.js";
import { loadConfig } from "../../src/config.js";
import { buildDeps } from "../../src/deps.js";
import { newId } from "../../src/ids.js";
import { claimUploadJob, completeJob } from "../../src/jobs/queue.js";
import { processUpload } from "../../src/pipeline/orchestrator.js";
import type { Stage } from "../../src/pipeline/stage.js";
import { DEFAULT_STAGES } from "../../src/pipeline/stages/index.js";
import { commitUpload, storeAudio } from "../../src/uploads/receive.js";
import { loadUploadRecord } from "../../src/uploads/record.js";

const file = process.argv[2];
if (!file) throw new Error("usage: rss-child.ts FILE");

const started = performance.now();
/** The kernel's own high-water mark of this process's RSS (Linux), as a cross-check of maxRSS. */
const vmHwmMiB = (): number | null => {
  try {
    const m = /^VmHWM:\s+(\d+) kB/m.exec(readFileSync("/proc/self/status", "utf8"));
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
};
const phases: { phase: string; maxRssMiB: number; rssMiB: number; atS: number }[] = [];
const mark = (phase: string) =>
  phases.push({
    phase,
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    rssMiB: process.memoryUsage().rss / 1024 / 1024,
    atS: (performance.now() - started) / 1000,
  });

mark("modules loaded");
// The real stages, each followed by a mark.
const stages: Stage[] = DEFAULT_STAGES.map((s) => ({
  ...s,
  async run(input, ctx) {
    const out = await s.run(input, ctx);
    mark(`${s.name} stage`);
    return out;
  },
}));
const config = loadConfig(process.env);
const deps = await buildDeps(config, { logger: pino({ level: "warn" }, pino.destination(2)), stages });
mark("database open");
const db = deps.database.db;
const account = await createAccount(db, "rss");
const id = newId("upl");
const stored = await storeAudio(deps, id, createReadStream(file));
mark("received (stored, hashed, probed)");
await commitUpload(deps, {
  id,
  accountId: account.id,
  stored,
  metadata: { kind: "podcast" },
  filename: file,
  declaredContentType: null,
  idempotencyKey: null,
});
const job = await claimUploadJob(db, "rss-bench", id, config.jobs.leaseS);
if (!job) throw new Error("no job was queued for the upload");
await processUpload(deps, id, { signal: new AbortController().signal, attempt: job.attempts });
await completeJob(db, job.id, "rss-bench");
mark("decided (decision, rendition, commit)");
const record = await loadUploadRecord(db, id, deps.baseUrl);
await deps.database.close();
const usage = process.resourceUsage();
process.stdout.write(
  `RSS_JSON ${JSON.stringify({
    file,
    sizeBytes: stored.sizeBytes,
    format: stored.probe.format,
    status: record?.status ?? "missing",
    failure: record?.failure ?? null,
    durationS: record?.signals.decode?.data.durationS ?? null,
    stageMs: {
      decode: record?.signals.decode?.durationMs ?? null,
      stats: record?.signals.stats?.durationMs ?? null,
    },
    database: deps.database.driver,
    maxRssMiB: usage.maxRSS / 1024,
    vmHwmMiB: vmHwmMiB(),
    userS: usage.userCPUTime / 1e6,
    systemS: usage.systemCPUTime / 1e6,
    wallS: (performance.now() - started) / 1000,
    phases,
  })}\n`,
);
