/**
 * Why a `fetch` to a signing or time-stamping service threw, in a few words: fetch itself only says
 * "fetch failed" and keeps the reason (refused, DNS, a bad port) in `cause`; a timeout is an AbortSignal's.
 */
export function whyFetchFailed(err: unknown, timeoutMs: number): string {
  if ((err as Error)?.name === "TimeoutError") return `no answer within ${timeoutMs} ms`;
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? String(err);
}
