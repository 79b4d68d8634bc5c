/**
 * Section 2: end-to-end uploads per minute. A fixed batch is uploaded as fast as the clients can, and the
 * clock runs from the first POST to the server-stamped decision time of the last upload.
 */
import { Client, summarizeOutcomes, type UploadBody, uploadLoad, waitFinished } from "./http.js";
import { type Deployment, startSingle, startSplit } from "./servers.js";
import { fmt, table } from "./util.js";

export interface ThroughputCase {
  setup: string;
  workers: number;
  uploads: number;
  audioS: number;
  /** Seconds from the first POST to the last 202. */
  uploadPhaseS: number;
  /** Seconds from the first POST to the last decision. */
  endToEndS: number;
  perMinute: number;
  /** Seconds of audio processed per second of wall time. */
  realTime: number;
  decided: number;
  failed: number;
  errors: number;
  firstError: string | null;
}

export async function runThroughput(
  tmp: string,
  body: UploadBody,
  audioS: number,
  opts: { postgres: boolean; uploads: number; clients: number },
  say: (line: string) => void,
): Promise<ThroughputCase[]> {
  const setups: { name: string; workers: number; start: () => Promise<Deployment> }[] = [];
  if (opts.postgres)
    for (const workers of [1, 2])
      setups.push({
        name: `Postgres: serve + ${workers} × worker (concurrency 1)`,
        workers,
        start: () => startSplit(tmp, workers),
      });
  setups.push({
    name: "PGlite: earmark start (1 in-process worker)",
    workers: 1,
    start: () => startSingle(tmp, { postgres: false, workers: 1 }),
  });

  const cases: ThroughputCase[] = [];
  for (const setup of setups) {
    say(`  ${setup.name}: starting…`);
    const dep = await setup.start();
    const client = new Client(dep.url, dep.key, opts.clients);
    try {
      const load = await uploadLoad(client, body, opts.uploads, opts.clients);
      const uploadPhaseS = load.wallS;
      const done = await waitFinished(client, load.ids, 3600, 250);
      const o = summarizeOutcomes(done.outcomes);
      const endMs = o.lastDecidedAtMs ?? done.observedEndMs;
      const endToEndS = (endMs - load.startedAtMs) / 1000;
      const c: ThroughputCase = {
        setup: setup.name,
        workers: setup.workers,
        uploads: opts.uploads,
        audioS,
        uploadPhaseS,
        endToEndS,
        perMinute: (o.decided / endToEndS) * 60,
        realTime: (o.decided * audioS) / endToEndS,
        decided: o.decided,
        failed: o.failed + (done.timedOut ? load.ids.length - done.outcomes.size : 0),
        errors: load.errors.length,
        firstError: load.errors[0] ?? o.firstFailure,
      };
      cases.push(c);
      say(
        `  ${setup.name}: ${c.decided}/${c.uploads} decided in ${fmt(endToEndS, 1)} s → ${fmt(c.perMinute, 1)} uploads/min`,
      );
    } finally {
      client.close();
      await dep.close();
    }
  }
  return cases;
}

export function throughputTable(cases: ThroughputCase[]): string {
  return table(
    ["setup", "uploads", "upload phase s", "end-to-end s", "uploads/min", "audio ×RT", "decided", "failed"],
    cases.map((c) => [
      c.setup,
      String(c.uploads),
      fmt(c.uploadPhaseS, 1),
      fmt(c.endToEndS, 1),
      fmt(c.perMinute, 1),
      fmt(c.realTime, 1),
      String(c.decided),
      String(c.failed + c.errors),
    ]),
  );
}
