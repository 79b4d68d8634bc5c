/**
 * `npm run bench:policy [-- --uploads N] [--skip-postgres]`: how fast the default bundle decides, and how long
 * `earmark policy replay` takes over N stored uploads (default 100,000; target under 60 s on one core).
 * Prints figures, medians of several runs where cheap; never pass/fail.
 */
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { createAccount } from "../src/accounts/accounts.js";
import { type Database, openDatabase } from "../src/db/client.js";
import { decisions, policyRevisions, signals, uploads } from "../src/db/schema/index.js";
import { newId } from "../src/ids.js";
import { loadPolicyBundle, type PolicyBundle } from "../src/policy/bundle.js";
import { describeBundle } from "../src/policy/engine.js";
import { evaluatePolicy } from "../src/policy/evaluate.js";
import { buildPolicyInput, type DecisionFacts } from "../src/policy/input.js";
import { formatReplay, replayPolicy } from "../src/policy/replay.js";
import { NEUTRAL_FACTS } from "../src/policy/test-runner.js";
import { rng } from "../test/harness/audio.js";
import { freshPostgresDatabase } from "../test/harness/deps.js";

const { values: args } = parseArgs({
  options: {
    uploads: { type: "string", default: "100000" },
    "skip-postgres": { type: "boolean", default: false },
    runs: { type: "string", default: "5" },
  },
});
const N = Number(args.uploads);
const RUNS = Number(args.runs);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Varied but plausible stored facts: a mix of clean, disclosed, flooding, duplicate, silent and short uploads. */
function syntheticFacts(random: () => number, accountId: string, i: number): DecisionFacts {
  const f = structuredClone(NEUTRAL_FACTS);
  f.upload.id = newId("upl");
  f.upload.accountId = accountId;
  f.upload.metadata = { ...f.upload.metadata, title: `Track ${i}` };
  const r = random();
  const account = f.signals.account as {
    uploadsLastHour: number;
    sameFileUploads: number;
    recentDurationsS: number[];
  };
  const stats = f.signals.stats as {
    silenceRatio: number;
    spectralFlatness: number | null;
    durationS: number;
  };
  if (r < 0.1)
    f.upload.metadata.disclosure = {
      roles: { voice: "generated", lyrics: random() < 0.5 ? "assisted" : "none" },
    };
  else if (r < 0.15) account.uploadsLastHour = 20 + Math.floor(random() * 30);
  else if (r < 0.18) account.sameFileUploads = 1 + Math.floor(random() * 6);
  else if (r < 0.2) stats.silenceRatio = 0.99;
  else if (r < 0.23) {
    stats.durationS = 30 + random() * 9;
    (f.signals.decode as { durationS: number }).durationS = stats.durationS;
    account.recentDurationsS = Array.from({ length: 12 }, () => 30 + random() * 9);
  } else if (r < 0.25) f.upload.metadata.title = "Relaxing Sleep Music for Study and Focus";
  return f;
}

function benchDecisions(bundle: PolicyBundle): void {
  const random = rng(7);
  const inputs = Array.from({ length: 2000 }, (_, i) =>
    buildPolicyInput(syntheticFacts(random, "acc_bench", i)),
  );
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    let n = 0;
    const started = performance.now();
    while (performance.now() - started < 2000) {
      for (const input of inputs) evaluatePolicy(bundle, input);
      n += inputs.length;
    }
    rates.push(n / ((performance.now() - started) / 1000));
  }
  const rate = median(rates);
  console.log(
    `\n1. Decisions per second (default bundle, ${bundle.rules.length} rules, in memory, one core)`,
  );
  console.log(
    `   ${Math.round(rate).toLocaleString("en-US")} decisions/s (${(1e6 / rate).toFixed(1)} µs each), median of ${RUNS} runs of 2 s`,
  );
  console.log(`   runs: ${rates.map((x) => Math.round(x)).join(", ")}`);
}

async function seed(database: Database, bundle: PolicyBundle, n: number): Promise<void> {
  const db = database.db;
  const random = rng(11);
  const accounts = await Promise.all(
    Array.from({ length: 50 }, (_, i) => createAccount(db, `bench-${i}-${newId("x").slice(-6)}`)),
  );
  await db.insert(policyRevisions).values(describeBundle(bundle)).onConflictDoNothing();
  const now = Date.now();
  for (let start = 0; start < n; start += 500) {
    const batch = Array.from({ length: Math.min(500, n - start) }, (_, k) =>
      syntheticFacts(random, accounts[(start + k) % accounts.length]!.id, start + k),
    );
    await db.insert(uploads).values(
      batch.map((f, k) => ({
        id: f.upload.id,
        accountId: f.upload.accountId,
        status: "decided" as const,
        metadata: f.upload.metadata,
        blobKey: `uploads/${f.upload.id}/original`,
        sha256: "0".repeat(64),
        sizeBytes: f.upload.sizeBytes,
        probe: {
          format: "mp3" as const,
          codec: "mp3",
          sampleRate: 44100,
          channels: 2,
          bitDepth: null,
          durationS: 180,
          audioOffset: 0,
          audioBytes: f.upload.sizeBytes,
          details: {},
        },
        createdAt: new Date(now - (n - start - k) * 1000),
      })),
    );
    await db.insert(signals).values(
      batch.flatMap((f) =>
        Object.entries(f.signals).map(([stage, data]) => ({
          uploadId: f.upload.id,
          stage,
          version: `${stage}-1`,
          data,
          durationMs: 1,
        })),
      ),
    );
    await db.insert(decisions).values(
      batch.map((f) => {
        const d = evaluatePolicy(bundle, buildPolicyInput(f));
        return {
          id: newId("dec"),
          uploadId: f.upload.id,
          action: d.action,
          labels: d.labels,
          reasons: d.reasons,
          policyRevision: d.policyRevision,
          trace: d.trace,
          decidedBy: "policy",
        };
      }),
    );
  }
}

async function benchReplay(
  driver: "pglite" | "postgres",
  bundle: PolicyBundle,
  candidate: PolicyBundle,
): Promise<void> {
  let dir: string | null = null;
  let drop: (() => Promise<void>) | null = null;
  let database: Database;
  if (driver === "pglite") {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-bench-policy-"));
    database = await openDatabase({ kind: "pglite", dataDir: path.join(dir, "pglite") });
  } else {
    const pg = await freshPostgresDatabase();
    drop = pg.drop;
    database = await openDatabase({ kind: "postgres", url: pg.url, maxConnections: 2 });
  }
  try {
    await database.migrate();
    const t0 = performance.now();
    await seed(database, bundle, N);
    console.log(
      `   ${driver}: seeded ${N.toLocaleString("en-US")} uploads with signals and decisions in ${((performance.now() - t0) / 1000).toFixed(1)} s (setup, not measured)`,
    );
    const times: number[] = [];
    let last = null as Awaited<ReturnType<typeof replayPolicy>> | null;
    for (let run = 0; run < 3; run++) {
      const r = await replayPolicy(database.db, candidate, {});
      times.push(r.durationMs / 1000);
      last = r;
    }
    const t = median(times);
    console.log(
      `   ${driver}: replay of ${last!.replayed.toLocaleString("en-US")} uploads: ${t.toFixed(1)} s (${Math.round(last!.replayed / t).toLocaleString("en-US")} uploads/s), median of 3; runs ${times.map((x) => x.toFixed(1)).join(", ")} s`,
    );
    console.log(
      formatReplay(last!, "text")
        .split("\n")
        .slice(2, 8)
        .map((l) => `      ${l}`)
        .join("\n"),
    );
  } finally {
    await database.close();
    if (dir) await rm(dir, { recursive: true, force: true });
    await drop?.();
  }
}

const bundle = await loadPolicyBundle(path.resolve("policies"), { git: false });
console.log(
  `Earmark policy benchmark — node ${process.version}, ${os.cpus()[0]?.model} × ${os.cpus().length}, load ${os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(" ")}`,
);
console.log(
  `command: npm run bench:policy -- --uploads ${N}${args["skip-postgres"] ? " --skip-postgres" : ""}`,
);
benchDecisions(bundle);

// The candidate: the shipped bundle with a stricter flood threshold, so the replay has flips to report.
const candidateDir = await mkdtemp(path.join(os.tmpdir(), "earmark-bench-candidate-"));
const { cp, readFile, writeFile } = await import("node:fs/promises");
await cp(path.resolve("policies"), candidateDir, { recursive: true, filter: (s) => !s.endsWith(".ts") });
const spam = path.join(candidateDir, "spam.yaml");
await writeFile(
  spam,
  (await readFile(spam, "utf8")).replace("MAX_UPLOADS_PER_HOUR: 30", "MAX_UPLOADS_PER_HOUR: 25"),
);
const candidate = await loadPolicyBundle(candidateDir, { git: false });
console.log(
  `\n2. Replay of ${N.toLocaleString("en-US")} stored uploads with a candidate bundle (target: under 60 s on one core)`,
);
await benchReplay("pglite", bundle, candidate);
if (process.env.DATABASE_URL && !args["skip-postgres"]) await benchReplay("postgres", bundle, candidate);
await rm(candidateDir, { recursive: true, force: true });
