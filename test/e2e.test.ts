/**
 * End to end over a real socket: `startServer` as `earmark start` runs it (API + in-process worker), real
 * HTTP clients, audio in every container the test can encode, and a webhook receiver that checks signatures.
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config.js";
import { type RunningServer, startServer } from "../src/server.js";
import type { UploadRecord } from "../src/uploads/record.js";
import { verifyWebhook } from "../src/webhooks/signing.js";
import {
  encodeFlac,
  encodeMp3,
  encodeOggVorbis,
  encodeOpus,
  encodeWav,
  makeSignal,
} from "./harness/audio.js";
import { expectRenditionOf } from "./harness/c2pa.js";
import { DRIVERS, freshPostgresDatabase } from "./harness/deps.js";
import { eventually, multipart, okBytes } from "./harness/http.js";

interface Received {
  headers: IncomingMessage["headers"];
  body: string;
}

describe.each(DRIVERS)("end to end over HTTP (%s)", (driver) => {
  let dir: string;
  let server: RunningServer;
  let dropDb: (() => Promise<void>) | null = null;
  let key: string;
  const deliveries: Received[] = [];
  const receiver = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => (body += d));
    req.on("end", () => {
      deliveries.push({ headers: req.headers, body });
      res.writeHead(204).end();
    });
  });

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "earmark-e2e-"));
    let databaseUrl = "";
    if (driver === "postgres") {
      const pg = await freshPostgresDatabase();
      databaseUrl = pg.url;
      dropDb = pg.drop;
    }
    const lines: string[] = [];
    server = await startServer(
      loadConfig({
        EARMARK_DATA_DIR: dir,
        PORT: "0",
        LOG_LEVEL: "silent",
        DATABASE_URL: databaseUrl,
        EARMARK_WORKERS: "2",
        EARMARK_WEBHOOK_ALLOW_PRIVATE: "true", // the receiver below listens on 127.0.0.1
      }),
      { worker: true, command: "start", print: (l) => lines.push(l) },
    );
    key = /^EARMARK_API_KEY=(\S+)$/m.exec(lines.join("\n"))?.[1] ?? "";
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
  });
  afterAll(async () => {
    await server?.close();
    await new Promise((r) => receiver.close(r));
    await dropDb?.();
    await rm(dir, { recursive: true, force: true });
  });

  const api = (p: string, init: RequestInit = {}) =>
    fetch(`${server.url}${p}`, {
      ...init,
      headers: { authorization: `Bearer ${key}`, ...(init.headers ?? {}) },
    });

  it("printed a first API key on a line of its own, which works", async () => {
    expect(key).toMatch(/^em_/);
    expect((await api("/v1/uploads")).status).toBe(200);
  });

  it("gives slow large uploads an hour, but headers only a minute", () => {
    expect(server.httpServer.requestTimeout).toBe(3600_000);
    expect(server.httpServer.headersTimeout).toBe(60_000);
  });

  it("is healthy and ready, and documents itself", async () => {
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect(await (await fetch(`${server.url}/readyz`)).json()).toMatchObject({ status: "ready" });
    const doc = (await (await fetch(`${server.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: object;
    };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths)).toContain("/v1/uploads");
    expect(await (await fetch(`${server.url}/docs`)).text()).toContain("/v1/uploads/{id}/rendition");
  });

  it("takes WAV, MP3, FLAC, Ogg Vorbis and Ogg Opus to a decision, a rendition and a signed webhook", async () => {
    const secret = (
      (await (
        await api("/v1/webhooks", {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook` }),
        })
      ).json()) as { secret: string }
    ).secret;

    const s44 = makeSignal({ seconds: 4, sampleRate: 44100 });
    const s48 = makeSignal({ seconds: 4, sampleRate: 48000, channels: 1 });
    const cases = [
      { name: "wav", bytes: encodeWav(s44, "s24"), rate: 44100, channels: 2 },
      { name: "mp3", bytes: await encodeMp3(s44), rate: 44100, channels: 2 },
      { name: "flac", bytes: await encodeFlac(s44), rate: 44100, channels: 2 },
      { name: "ogg-vorbis", bytes: await encodeOggVorbis(s44), rate: 44100, channels: 2 },
      { name: "ogg-opus", bytes: await encodeOpus(s48), rate: 48000, channels: 1 },
    ];
    const ids = new Map<string, string>();
    // Concurrently, as clients would.
    await Promise.all(
      cases.map(async (c) => {
        const res = await api("/v1/uploads", {
          method: "POST",
          body: multipart(c.bytes, {
            filename: `e2e.${c.name}`,
            metadata: { title: `E2E ${c.name}`, kind: "music" },
          }),
        });
        expect(res.status, c.name).toBe(202);
        ids.set(c.name, ((await res.json()) as { id: string }).id);
      }),
    );
    for (const c of cases) {
      const id = ids.get(c.name)!;
      const record = await eventually(async () => {
        const r = (await (await api(`/v1/uploads/${id}`)).json()) as UploadRecord;
        return r.status === "decided" || r.status === "failed" ? r : undefined;
      }, `${c.name} to be decided`);
      expect(record.status, `${c.name}: ${JSON.stringify(record.failure)}`).toBe("decided");
      expect(record.file.format).toBe(c.name);
      const decoded = record.signals.decode!.data;
      expect(decoded).toMatchObject({ format: c.name, sampleRate: c.rate, channels: c.channels });
      // Lossy codecs pad or trim a little at the ends.
      expect(Math.abs(decoded.durationS - 4)).toBeLessThan(0.1);
      expect(record.signals.stats!.data.integratedLoudnessLufs).toBeGreaterThan(-30);
      const audio = await api(`/v1/uploads/${id}/rendition`);
      await expectRenditionOf(await okBytes(audio, `${c.name} rendition`), c.bytes, record.file.format, dir);
    }

    const decided = await eventually(
      async () => (deliveries.length >= cases.length ? deliveries : undefined),
      "a webhook per upload",
    );
    const events = decided.map((d) => {
      const ok = verifyWebhook(
        secret,
        {
          id: String(d.headers["webhook-id"]),
          timestamp: String(d.headers["webhook-timestamp"]),
          signature: String(d.headers["webhook-signature"]),
        },
        d.body,
      );
      expect(ok).toBe(true);
      return JSON.parse(d.body) as { type: string; data: UploadRecord };
    });
    expect(events.every((e) => e.type === "upload.decided")).toBe(true);
    expect(new Set(events.map((e) => e.data.id))).toEqual(new Set(ids.values()));
    expect(events.every((e) => e.data.decision?.action === "allow")).toBe(true);
  });

  it("answers a text file named .mp3 with 415 problem+json and keeps serving", async () => {
    const res = await api("/v1/uploads", {
      method: "POST",
      body: multipart(new TextEncoder().encode("not audio\n"), { filename: "x.mp3", type: "audio/mpeg" }),
    });
    expect(res.status).toBe(415);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(((await res.json()) as { code: string }).code).toBe("unsupported-media-type");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
  });

  it("takes a large upload sent as a chunked stream", async () => {
    // 60 s of 48 kHz stereo 24-bit (~17 MB), sent as a stream of chunks.
    const sig = makeSignal({ seconds: 60, sampleRate: 48000 });
    const bytes = encodeWav(sig, "s24");
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 1 << 16) controller.enqueue(bytes.subarray(i, i + (1 << 16)));
        controller.close();
      },
    });
    const res = await api("/v1/uploads?title=Long", {
      method: "POST",
      body,
      headers: { "content-type": "audio/wav" },
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const record = await eventually(async () => {
      const r = (await (await api(`/v1/uploads/${id}`)).json()) as UploadRecord;
      return r.status === "decided" ? r : undefined;
    }, "the long upload to be decided");
    expect(record.file.sizeBytes).toBe(bytes.length);
    expect(record.signals.decode!.data.frames).toBe(60 * 48000);
  });
});
