/**
 * Section 1: how fast uploads are accepted (202) under concurrent clients, against a real `earmark start`
 * with its in-process worker running, on embedded PGlite and on Postgres.
 */
import { Client, summarizeOutcomes, type UploadBody, uploadLoad, waitFinished } from "./http.js";
import { type Deployment, startSingle } from "./servers.js";
import { fmt, median, mib, percentile, table } from "./util.js";

export interface LatencyInput {
  name: string;
  label: string;
  body: UploadBody;
}

export interface LatencyRun {
  count: number;
  errors: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  perS: number;
  mibPerS: number;
  /** Seconds from the last 202 until the in-process worker had decided every upload of the run. */
  drainS: number;
  failed: number;
}

export interface LatencyTarget {
  backend: "pglite" | "postgres";
  /** In-process workers of `earmark start` (1 is the default; 0 = API only, for comparison). */
  workers: number;
}

export interface LatencyCase {
  backend: "pglite" | "postgres";
  workers: number;
  input: string;
  label: string;
  audioBytes: number;
  clients: number;
  runs: LatencyRun[];
  median: { p50Ms: number; p99Ms: number; perS: number; mibPerS: number; drainS: number };
  firstError: string | null;
}

/**
 * All servers are started first and the runs interleaved (run 1 of every server and input, then run 2, …), so
 * load from other work on a shared machine falls on every case alike rather than on whichever ran then.
 */
export async function runLatency(
  tmp: string,
  inputs: LatencyInput[],
  opts: { targets: LatencyTarget[]; clients: number; uploads: number; runs: number },
  say: (line: string) => void,
): Promise<LatencyCase[]> {
  const servers: { target: LatencyTarget; what: string; dep: Deployment; client: Client }[] = [];
  try {
    for (const target of opts.targets) {
      const { backend, workers } = target;
      say(
        `  starting \`earmark start\` on ${backend} (${workers} in-process worker${workers === 1 ? "" : "s"})…`,
      );
      const dep = await startSingle(tmp, { postgres: backend === "postgres", workers });
      const client = new Client(dep.url, dep.key, opts.clients);
      const what = `${backend}${workers === 1 ? "" : `, EARMARK_WORKERS=${workers}`}`;
      servers.push({ target, what, dep, client });
      // Warm-up: JIT, connection pools, the first database pages; not counted.
      for (const input of inputs) {
        const warm = await uploadLoad(client, input.body, opts.clients * 2, opts.clients);
        if (warm.errors.length > 0) throw new Error(`${what}: warm-up uploads failed: ${warm.errors[0]}`);
        if (workers > 0) await waitFinished(client, warm.ids, 600);
      }
    }
    const runs = new Map<string, LatencyRun[]>();
    const firstErrors = new Map<string, string>();
    for (let r = 0; r < opts.runs; r++) {
      for (const { target, what, client } of servers) {
        for (const input of inputs) {
          const key = `${what}/${input.name}`;
          const load = await uploadLoad(client, input.body, opts.uploads, opts.clients);
          const acceptedAt = Date.now();
          // With no worker nothing is processed: the uploads stay queued.
          const done =
            target.workers > 0
              ? await waitFinished(client, load.ids, 900)
              : { outcomes: new Map(), timedOut: false, observedEndMs: Number.NaN };
          const outcome = summarizeOutcomes(done.outcomes);
          const err = load.errors[0] ?? outcome.firstFailure;
          if (err && !firstErrors.has(key)) firstErrors.set(key, err);
          const ms = load.latencies.map((s) => s * 1000);
          const run: LatencyRun = {
            count: load.latencies.length,
            errors: load.errors.length,
            p50Ms: percentile(ms, 50),
            p99Ms: percentile(ms, 99),
            maxMs: Math.max(...ms),
            perS: load.latencies.length / load.wallS,
            mibPerS: mib(load.latencies.length * input.body.audioBytes) / load.wallS,
            drainS: (done.observedEndMs - acceptedAt) / 1000,
            failed: outcome.failed + (done.timedOut ? load.ids.length - done.outcomes.size : 0),
          };
          runs.set(key, [...(runs.get(key) ?? []), run]);
          say(
            `  run ${r + 1}/${opts.runs} ${what} ${input.name}: p50 ${fmt(run.p50Ms, 0)} ms, p99 ${fmt(run.p99Ms, 0)} ms, ${fmt(run.perS, 1)} uploads/s, ${target.workers > 0 ? `worker drained ${fmt(run.drainS, 1)} s later` : "no worker"}`,
          );
        }
      }
    }
    const cases: LatencyCase[] = [];
    for (const { target, what } of servers)
      for (const input of inputs) {
        const key = `${what}/${input.name}`;
        const rs = runs.get(key) ?? [];
        cases.push({
          backend: target.backend,
          workers: target.workers,
          input: input.name,
          label: input.label,
          audioBytes: input.body.audioBytes,
          clients: opts.clients,
          runs: rs,
          median: {
            p50Ms: median(rs.map((r) => r.p50Ms)),
            p99Ms: median(rs.map((r) => r.p99Ms)),
            perS: median(rs.map((r) => r.perS)),
            mibPerS: median(rs.map((r) => r.mibPerS)),
            drainS: median(rs.map((r) => r.drainS)),
          },
          firstError: firstErrors.get(key) ?? null,
        });
      }
    return cases;
  } finally {
    for (const s of servers) s.client.close();
    await Promise.all(servers.map((s) => s.dep.close()));
  }
}

export function latencyTable(cases: LatencyCase[]): string {
  return table(
    [
      "database",
      "input",
      "size MiB",
      "clients",
      "uploads×runs",
      "p50 ms",
      "p99 ms",
      "uploads/s",
      "MiB/s",
      "drain s",
      "errors",
      "failed",
    ],
    cases.map((c) => [
      `${c.backend === "pglite" ? "PGlite (embedded)" : "Postgres"}${c.workers === 1 ? "" : `, EARMARK_WORKERS=${c.workers}`}`,
      c.label,
      fmt(mib(c.audioBytes), 2),
      String(c.clients),
      `${c.runs[0]?.count ?? 0}×${c.runs.length}`,
      fmt(c.median.p50Ms, 0),
      fmt(c.median.p99Ms, 0),
      fmt(c.median.perS, 1),
      fmt(c.median.mibPerS, 1),
      fmt(c.median.drainS, 1),
      String(c.runs.reduce((a, r) => a + r.errors, 0)),
      String(c.runs.reduce((a, r) => a + r.failed, 0)),
    ]),
  );
}
