/** Helpers to build upload requests the way clients send them. */
import { expect } from "vitest";
import { UploadRecord } from "../../src/api/uploads/schemas.js";
import type { createApp } from "../../src/app.js";
import type { Worker } from "../../src/jobs/worker.js";
import type { z } from "../../src/zod.js";
export function multipart(
  file: Uint8Array | null,
  opts: { filename?: string; type?: string; metadata?: unknown; extra?: Record<string, string> } = {},
): FormData {
  const form = new FormData();
  if (opts.metadata !== undefined)
    form.set(
      "metadata",
      new Blob([typeof opts.metadata === "string" ? opts.metadata : JSON.stringify(opts.metadata)], {
        type: "application/json",
      }),
    );
  if (file)
    form.set(
      "file",
      new Blob([new Uint8Array(file)], { type: opts.type ?? "application/octet-stream" }),
      opts.filename ?? "audio.bin",
    );
  for (const [k, v] of Object.entries(opts.extra ?? {})) form.set(k, v);
  return form;
}

/**
 * Waits until `check` returns a value other than undefined, polling; throws with `what` on timeout. The
 * pause between polls grows from 50 ms to 500 ms: a check that calls the API must stay well under the
 * default rate limit (600 requests a minute per account) however slow the machine is.
 */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (let pause = 50; ; pause = Math.min(500, pause * 1.5)) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pause));
  }
}

/** The body of a response that must be 200; otherwise fails with the status and what the server said. */
export async function okBytes(res: Response, what: string): Promise<Uint8Array> {
  if (res.status !== 200) throw new Error(`${what}: HTTP ${res.status} ${await res.text()}`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Uploads `body` through the API, checks that it was accepted (202), and returns the upload's id. */
export async function postUpload(
  app: ReturnType<typeof createApp>,
  auth: { authorization: string },
  body: Uint8Array,
  metadata: Record<string, unknown>,
): Promise<string> {
  const res = await app.request("/v1/uploads", {
    method: "POST",
    body: multipart(body, { metadata }),
    headers: auth,
  });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

/** Uploads `body` through the API, lets the worker finish it, and returns the upload's record. */
export async function uploadAndDecide(
  app: ReturnType<typeof createApp>,
  worker: Worker,
  auth: { authorization: string },
  body: Uint8Array,
  metadata: Record<string, unknown>,
): Promise<z.infer<typeof UploadRecord>> {
  const id = await postUpload(app, auth, body, metadata);
  await worker.idle();
  return UploadRecord.parse(await (await app.request(`/v1/uploads/${id}`, { headers: auth })).json());
}
