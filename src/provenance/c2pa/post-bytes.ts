/**
 * One HTTP POST of bytes to a signing or time-stamping service, answered by bytes: the network failure or
 * the HTTP error becomes the caller's own error (`fail`), saying what went wrong in a few words. fetch
 * itself only says "fetch failed" and keeps the reason (refused, DNS, a bad port) in `cause`.
 */
export async function postBytes(
  url: string,
  request: { body: Uint8Array; headers: Record<string, string>; timeoutMs: number },
  fail: (reason: string) => Error,
): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url, {
      method: "POST",
      headers: request.headers,
      body: new Uint8Array(request.body),
      signal: AbortSignal.timeout(request.timeoutMs),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
    const why =
      (err as Error)?.name === "TimeoutError"
        ? `no answer within ${request.timeoutMs} ms`
        : (cause?.code ?? cause?.message ?? String(err));
    throw fail(`cannot be reached (${why})`);
  }
  const body = new Uint8Array(await res.arrayBuffer());
  if (!res.ok) throw fail(`answered HTTP ${res.status}`);
  return body;
}
