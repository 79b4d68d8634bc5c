/** Section 4: peak RSS of one long upload end to end, each in a fresh child process (rss-child.ts). */
import { mkdirSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freshPostgresDatabase } from "../../test/harness/deps.js";
import { earmarkCli, earmarkEnv, Proc } from "./procs.js";
import { fmt, mib, table } from "./util.js";

const CHILD = fileURLToPath(new URL("./rss-child.ts", import.meta.url));

export interface RssCase {
  label: string;
  database: "pglite" | "postgres";
  firstStart: boolean;
  sizeBytes: number;
  audioS: number | null;
  status: string;
  failure: unknown;
  maxRssMiB: number;
  /** The kernel's VmHWM at the end (Linux), a cross-check of maxRSS. */
  vmHwmMiB: number | null;
  /** RSS (not peak) when the upload was done. */
  endRssMiB: number | null;
  baselineMiB: number;
  afterReceiveMiB: number;
  afterDecodeMiB: number | null;
  afterStatsMiB: number | null;
  wallS: number;
  cpuS: number;
  stageMs: { decode: number | null; stats: number | null };
}

interface ChildReport {
  sizeBytes: number;
  status: string;
  failure: unknown;
  durationS: number | null;
  maxRssMiB: number;
  vmHwmMiB: number | null;
  userS: number;
  systemS: number;
  wallS: number;
  stageMs: { decode: number | null; stats: number | null };
  phases: { phase: string; maxRssMiB: number; rssMiB: number }[];
}

let n = 0;

/** Runs rss-child.ts with `args` on a fresh data directory (and database) and returns its report. */
async function child(
  tmp: string,
  args: string[],
  database: "pglite" | "postgres",
  name: string,
  opts: { premigrate: boolean },
): Promise<ChildReport> {
  const dataDir = path.join(tmp, `rss-data-${++n}`);
  mkdirSync(dataDir, { recursive: true });
  const db = database === "postgres" ? await freshPostgresDatabase() : null;
  try {
    const env = earmarkEnv({ EARMARK_DATA_DIR: dataDir, LOG_LEVEL: "warn", DATABASE_URL: db?.url });
    // A worker normally opens a database that exists: create and migrate it first, in another process.
    if (opts.premigrate) earmarkCli(["migrate"], env);
    const proc = new Proc(name, args, env, path.join(tmp, `rss-${n}.log`), ["--import", "tsx", CHILD], {
      ownRusage: true,
    });
    const timer = setTimeout(() => void proc.stop(5), 3600_000);
    await proc.wait();
    clearTimeout(timer);
    const m = /^RSS_JSON (.*)$/m.exec(proc.log());
    if (proc.exitCode !== 0 || !m) throw new Error(`${proc.name} failed (${proc.exitCode}):\n${proc.tail()}`);
    return JSON.parse(m[1]!) as ChildReport;
  } finally {
    await db?.drop();
  }
}

export interface RssRun {
  label: string;
  file: string;
  database: "pglite" | "postgres";
  /** Open a brand-new data directory in the same process (PGlite's initdb), as the very first `earmark start`. */
  firstStart?: boolean;
}

export async function runRss(tmp: string, runs: RssRun[], say: (line: string) => void): Promise<RssCase[]> {
  const cases: RssCase[] = [];
  for (const run of runs) {
    const where = `${run.database}${run.firstStart ? ", brand-new data directory" : ""}`;
    const r = await child(tmp, [run.file], run.database, `rss child (${run.label}, ${where})`, {
      premigrate: !run.firstStart,
    });
    const at = (phase: string) => r.phases.find((p) => p.phase === phase)?.maxRssMiB ?? null;
    const c: RssCase = {
      label: run.label,
      database: run.database,
      firstStart: run.firstStart ?? false,
      sizeBytes: r.sizeBytes,
      audioS: r.durationS,
      status: r.status,
      failure: r.failure,
      maxRssMiB: r.maxRssMiB,
      vmHwmMiB: r.vmHwmMiB,
      endRssMiB: r.phases.at(-1)?.rssMiB ?? null,
      baselineMiB: at("database open") ?? Number.NaN,
      afterReceiveMiB: at("received (stored, hashed, probed)") ?? Number.NaN,
      afterDecodeMiB: at("decode stage"),
      afterStatsMiB: at("stats stage"),
      wallS: r.wallS,
      cpuS: r.userS + r.systemS,
      stageMs: r.stageMs,
    };
    cases.push(c);
    say(
      `  ${run.label} on ${where}: ${c.status}, peak RSS ${fmt(c.maxRssMiB, 0)} MiB (${fmt(c.wallS, 1)} s wall)`,
    );
  }
  return cases;
}

export function rssTable(cases: RssCase[]): string {
  return table(
    [
      "file",
      "database",
      "MiB on disk",
      "audio min",
      "status",
      "after open",
      "after receive",
      "after decode",
      "after stats",
      "PEAK RSS MiB",
      "VmHWM MiB",
      "RSS at end",
      "decode s",
      "stats s",
      "wall s",
    ],
    cases.map((c) => [
      c.label,
      c.database === "pglite" ? (c.firstStart ? "PGlite, NEW data dir" : "PGlite") : "Postgres",
      fmt(mib(c.sizeBytes), 0),
      fmt(c.audioS === null ? null : c.audioS / 60, 1),
      c.status,
      fmt(c.baselineMiB, 0),
      fmt(c.afterReceiveMiB, 0),
      fmt(c.afterDecodeMiB, 0),
      fmt(c.afterStatsMiB, 0),
      fmt(c.maxRssMiB, 0),
      fmt(c.vmHwmMiB, 0),
      fmt(c.endRssMiB, 0),
      fmt(c.stageMs.decode === null ? null : c.stageMs.decode / 1000, 1),
      fmt(c.stageMs.stats === null ? null : c.stageMs.stats / 1000, 1),
      fmt(c.wallS, 1),
    ]),
  );
}
