/**
 * Serving stored bytes over HTTP with single byte ranges: the API's renditions and the dashboard's player.
 *
 * @module
 */

import type { ByteSource } from "../audio/bytes.js";

function toWebStream(iterable: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = iterable[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { value, done } = await it.next();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** Parses a single `bytes=` range against a size; null for none, "invalid" when unsatisfiable. */
function parseRange(
  header: string | undefined,
  size: number,
): { start: number; end: number } | null | "invalid" {
  if (!header) return null;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "invalid";
  let start: number;
  let end: number;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) return "invalid";
    start = Math.max(0, size - suffix);
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return "invalid";
  return { start, end };
}

/**
 * The body of a GET of `source` honouring a single `Range` header: 200 with all of it, or 206 with the range;
 * `content-length` (and `content-range`) are added to `headers`. "invalid" for an unsatisfiable range, which
 * each caller answers with a 416 in its own form.
 */
export function rangedBody(
  source: ByteSource,
  rangeHeader: string | undefined,
  headers: Record<string, string>,
): { status: 200 | 206; body: ReadableStream<Uint8Array>; headers: Record<string, string> } | "invalid" {
  const range = parseRange(rangeHeader, source.size);
  if (range === "invalid") return "invalid";
  if (!range) {
    return {
      status: 200,
      body: toWebStream(source.stream(0, source.size)),
      headers: { ...headers, "content-length": String(source.size) },
    };
  }
  return {
    status: 206,
    body: toWebStream(source.stream(range.start, range.end + 1)),
    headers: {
      ...headers,
      "content-range": `bytes ${range.start}-${range.end}/${source.size}`,
      "content-length": String(range.end - range.start + 1),
    },
  };
}
