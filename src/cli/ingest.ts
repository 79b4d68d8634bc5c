import { randomBytes } from "node:crypto";
import { createReadStream, createWriteStream, openAsBlob } from "node:fs";
import { access, mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import pino from "pino";
import { createAccount, findAccountByName } from "../accounts/accounts.js";
import { lockDataDir, readLock } from "../db/lock.js";
import { buildDeps, type Deps } from "../deps.js";
import { ApiError } from "../errors.js";
import { newId } from "../ids.js";
import { claimUploadJob, completeJob, retryJob } from "../jobs/queue.js";
import { processUpload } from "../pipeline/orchestrator.js";
import { renditionKey } from "../pipeline/render.js";
import type { UploadMetadata } from "../uploads/metadata.js";
import { commitUpload, parseMetadata, storeAudio } from "../uploads/receive.js";
import { loadUploadRecord, type UploadRecord } from "../uploads/record.js";
import { CliError, configFromEnv } from "./context.js";

const EXT: Record<string, string> = {
  wav: "wav",
  mp3: "mp3",
  flac: "flac",
  "ogg-vorbis": "ogg",
  "ogg-opus": "opus",
  m4a: "m4a",
  aac: "aac",
};
const line = (value: unknown) => process.stdout.write(`${JSON.stringify(value)}\n`);
const TERMINAL = new Set(["decided", "held", "failed"]);

interface IngestOptions {
  metadata?: string;
  out?: string;
  account: string;
}

/**
 * `earmark ingest FILE…`: each file goes through the same receive → pipeline → decision path as an HTTP
 * upload. Embedded mode opens the data directory itself; if a server holds it, the files go through that
 * server's API when EARMARK_API_KEY is set, and otherwise the command says what to do.
 */
export async function ingestCommand(files: string[], opts: IngestOptions): Promise<void> {
  const config = configFromEnv();
  let metadata: UploadMetadata;
  try {
    metadata = parseMetadata(opts.metadata ?? null, "--metadata option");
  } catch (err) {
    if (err instanceof ApiError)
      throw new CliError(
        `${err.detail}${(err.extra.errors ?? []).map((e) => `\n  ${e.pointer}: ${e.detail}`).join("")}`,
        2,
      );
    throw err;
  }
  for (const f of files) await access(f).catch(() => Promise.reject(new CliError(`Cannot read ${f}.`, 2)));
  if (opts.out) await mkdir(opts.out, { recursive: true });

  if (!config.databaseUrl) {
    const holder = readLock(config.dataDir);
    if (holder) {
      const key = process.env.EARMARK_API_KEY;
      if (!key || !holder.url)
        throw new CliError(
          `A server (pid ${holder.pid}) holds the embedded database in ${config.dataDir}${holder.url ? ` and serves ${holder.url}` : ""}. ` +
            "Set EARMARK_API_KEY to ingest through that server, or stop it and run this command again.",
        );
      process.exitCode = await ingestViaServer(
        holder.url,
        key,
        files,
        opts.metadata ? metadata : null,
        opts.out,
      );
      return;
    }
  }
  const lock = config.databaseUrl ? null : lockDataDir(config.dataDir, "ingest");
  const deps = await buildDeps(config, { logger: pino({ level: "warn" }, pino.destination(2)) });
  try {
    process.exitCode = await ingestLocally(deps, files, metadata, opts);
  } finally {
    await deps.database.close();
    lock?.release();
  }
}

async function ingestLocally(
  deps: Deps,
  files: string[],
  metadata: UploadMetadata,
  opts: IngestOptions,
): Promise<number> {
  const db = deps.database.db;
  const account = (await findAccountByName(db, opts.account)) ?? (await createAccount(db, opts.account));
  const workerId = `ingest:${process.pid}:${randomBytes(3).toString("hex")}`;
  let failures = 0;
  for (const file of files) {
    const id = newId("upl");
    try {
      const stored = await storeAudio(deps, id, createReadStream(file));
      await commitUpload(deps, {
        id,
        accountId: account.id,
        stored,
        metadata,
        filename: path.basename(file),
        declaredContentType: null,
        idempotencyKey: null,
      });
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      line({
        file,
        error: { code: err.code, status: err.status, detail: err.detail, errors: err.extra.errors },
      });
      failures++;
      continue;
    }
    const job = await claimUploadJob(db, workerId, id, deps.config.jobs.leaseS);
    if (job) {
      try {
        await processUpload(deps, id, { signal: new AbortController().signal, attempt: job.attempts });
        await completeJob(db, job.id, workerId);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        process.stderr.write(`earmark: processing ${file} failed (${message}); a worker will retry it.\n`);
        await retryJob(db, job.id, workerId, message, deps.config.jobs.retryBaseS);
      }
    }
    const record = (await loadUploadRecord(db, id, deps.baseUrl))!;
    line(record);
    if (record.status !== "decided" && record.status !== "held") failures++;
    if (opts.out && record.rendition) {
      const source = await deps.blobs.open(renditionKey(record.id));
      if (source)
        await pipeline(Readable.from(source.stream()), createWriteStream(outPath(opts.out, file, record)));
    }
  }
  return failures > 0 ? 1 : 0;
}

function outPath(dir: string, file: string, record: UploadRecord): string {
  const base = path.basename(file).replace(/\.[^.]+$/, "");
  return path.join(dir, `${base}.${record.id}.${EXT[record.rendition!.format] ?? "bin"}`);
}

async function ingestViaServer(
  url: string,
  key: string,
  files: string[],
  metadata: UploadMetadata | null,
  out?: string,
): Promise<number> {
  const auth = { authorization: `Bearer ${key}` };
  let failures = 0;
  for (const file of files) {
    const form = new FormData();
    form.set("file", await openAsBlob(file), path.basename(file));
    if (metadata) form.set("metadata", new Blob([JSON.stringify(metadata)], { type: "application/json" }));
    const res = await fetch(`${url}/v1/uploads`, { method: "POST", headers: auth, body: form });
    const body = (await res.json()) as { id?: string; code?: string; detail?: string };
    if (res.status !== 202 || !body.id) {
      line({ file, error: body });
      failures++;
      continue;
    }
    let record: UploadRecord;
    for (;;) {
      record = (await (
        await fetch(`${url}/v1/uploads/${body.id}`, { headers: auth })
      ).json()) as UploadRecord;
      if (TERMINAL.has(record.status)) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    line(record);
    if (record.status === "failed") failures++;
    if (out && record.rendition) {
      const audio = await fetch(record.rendition.url, { headers: auth });
      await writeFile(outPath(out, file, record), Buffer.from(await audio.arrayBuffer()));
    }
  }
  return failures > 0 ? 1 : 0;
}
