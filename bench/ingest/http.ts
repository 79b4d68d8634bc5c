/** The benchmark's HTTP client: multipart uploads over keep-alive sockets, timed per request, and polling. */
import { randomBytes } from "node:crypto";
import http from "node:http";
import { now, sleep } from "./util.js";

export interface UploadBody {
  body: Buffer;
  contentType: string;
  /** Audio bytes in the body. */
  audioBytes: number;
}

/** A `multipart/form-data` body with a `metadata` part and the `file` part, built once and sent many times. */
export function multipartBody(audio: Buffer, filename: string, mime: string, metadata: object): UploadBody {
  const boundary = `----earmark-bench-${randomBytes(8).toString("hex")}`;
  const head =
    `--${boundary}\r\ncontent-disposition: form-data; name="metadata"\r\ncontent-type: application/json\r\n\r\n` +
    `${JSON.stringify(metadata)}\r\n` +
    `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="${filename}"\r\ncontent-type: ${mime}\r\n\r\n`;
  return {
    body: Buffer.concat([Buffer.from(head), audio, Buffer.from(`\r\n--${boundary}--\r\n`)]),
    contentType: `multipart/form-data; boundary=${boundary}`,
    audioBytes: audio.length,
  };
}

export interface Response {
  status: number;
  text: string;
  seconds: number;
}

export class Client {
  private readonly agent: http.Agent;
  private readonly base: URL;

  constructor(
    baseUrl: string,
    private readonly key: string,
    sockets: number,
  ) {
    this.base = new URL(baseUrl);
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  request(method: string, path: string, body?: UploadBody): Promise<Response> {
    return new Promise((resolve, reject) => {
      const started = now();
      const headers: Record<string, string | number> = { authorization: `Bearer ${this.key}` };
      if (body) {
        headers["content-type"] = body.contentType;
        headers["content-length"] = body.body.length;
      }
      const req = http.request(
        { host: this.base.hostname, port: this.base.port, path, method, headers, agent: this.agent },
        (res) => {
          const parts: Buffer[] = [];
          res.on("data", (b: Buffer) => parts.push(b));
          res.on("end", () =>
            resolve({
              status: res.statusCode ?? 0,
              text: Buffer.concat(parts).toString("utf8"),
              seconds: now() - started,
            }),
          );
          res.on("error", reject);
        },
      );
      req.setTimeout(300_000, () => req.destroy(new Error(`${method} ${path}: no answer in 300 s`)));
      req.on("error", reject);
      req.end(body?.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

export interface LoadResult {
  /** Accept latency of each successful upload, seconds. */
  latencies: number[];
  wallS: number;
  ids: string[];
  errors: string[];
  /** Date.now() when the first request was sent. */
  startedAtMs: number;
}

/** Sends `count` uploads of one body from `clients` concurrent clients (each sends one after another). */
export async function uploadLoad(
  client: Client,
  body: UploadBody,
  count: number,
  clients: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const ids: string[] = [];
  const errors: string[] = [];
  let next = 0;
  const startedAtMs = Date.now();
  const started = now();
  const worker = async () => {
    while (next < count) {
      next++;
      try {
        const r = await client.request("POST", "/v1/uploads", body);
        if (r.status !== 202) {
          errors.push(`${r.status} ${r.text.slice(0, 200)}`);
          continue;
        }
        latencies.push(r.seconds);
        ids.push((JSON.parse(r.text) as { id: string }).id);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(clients, count) }, worker));
  return { latencies, wallS: now() - started, ids, errors, startedAtMs };
}

export interface Outcome {
  status: string;
  /** Server time of the decision (ms since epoch), when decided. */
  decidedAtMs: number | null;
  failure: string | null;
}

const TERMINAL = new Set(["decided", "held", "failed"]);

/**
 * Polls `GET /v1/uploads/{id}` until every upload is decided, held or failed (or `timeoutS` passes). Walks
 * the ids in order and only re-asks about the first unfinished one each tick, so polling stays cheap.
 */
export async function waitFinished(
  client: Client,
  ids: readonly string[],
  timeoutS: number,
  pollMs = 200,
): Promise<{ outcomes: Map<string, Outcome>; timedOut: boolean; observedEndMs: number }> {
  const outcomes = new Map<string, Outcome>();
  const deadline = Date.now() + timeoutS * 1000;
  let i = 0;
  while (i < ids.length) {
    const id = ids[i]!;
    const r = await client.request("GET", `/v1/uploads/${id}`);
    if (r.status === 200) {
      const rec = JSON.parse(r.text) as {
        status: string;
        decision: { decidedAt: string } | null;
        failure: { code: string; detail: string } | null;
      };
      if (TERMINAL.has(rec.status)) {
        outcomes.set(id, {
          status: rec.status,
          decidedAtMs: rec.decision ? Date.parse(rec.decision.decidedAt) : null,
          failure: rec.failure ? `${rec.failure.code}: ${rec.failure.detail}` : null,
        });
        i++;
        continue;
      }
    }
    if (Date.now() > deadline) return { outcomes, timedOut: true, observedEndMs: Date.now() };
    await sleep(pollMs);
  }
  return { outcomes, timedOut: false, observedEndMs: Date.now() };
}

export function summarizeOutcomes(outcomes: Map<string, Outcome>): {
  decided: number;
  failed: number;
  firstFailure: string | null;
  lastDecidedAtMs: number | null;
} {
  let decided = 0;
  let failed = 0;
  let firstFailure: string | null = null;
  let last: number | null = null;
  for (const o of outcomes.values()) {
    if (o.status === "failed") {
      failed++;
      firstFailure ??= o.failure;
    } else decided++;
    if (o.decidedAtMs !== null) last = Math.max(last ?? 0, o.decidedAtMs);
  }
  return { decided, failed, firstFailure, lastDecidedAtMs: last };
}
