/** Helpers to build upload requests the way clients send them. */
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

/** Waits until `check` returns a value other than undefined, polling; throws with `what` on timeout. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 30_000,
): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
