import { z } from "@hono/zod-openapi";
import type { Context, ErrorHandler, NotFoundHandler } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, ERRORS, type ErrorCode } from "../errors.js";
import { fieldErrors } from "../uploads/receive.js";
import { type AppEnv, baseUrlOf } from "./context.js";

/** RFC 9457 problem details, plus Earmark's stable `code` and the request id to quote in a support ticket. */
export const problemSchema = z
  .object({
    type: z.string().openapi({ example: "http://127.0.0.1:8080/problems/unsupported-media-type" }),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    instance: z.string(),
    code: z.enum(Object.keys(ERRORS) as [ErrorCode, ...ErrorCode[]]),
    requestId: z.string(),
    errors: z.array(z.object({ pointer: z.string(), detail: z.string() })).optional(),
  })
  .catchall(z.unknown())
  .openapi("Problem");

export type Problem = z.infer<typeof problemSchema>;

export const PROBLEM_CONTENT_TYPE = "application/problem+json";

/** OpenAPI response entries for the given problem statuses. */
export function problemResponses(...statuses: number[]) {
  return Object.fromEntries(
    statuses.map((s) => [
      s,
      {
        description: Object.values(ERRORS)
          .filter((e) => e.status === s)
          .map((e) => e.title)
          .join("; "),
        content: { [PROBLEM_CONTENT_TYPE]: { schema: problemSchema } },
      },
    ]),
  );
}

export function problemResponse(c: Context<AppEnv>, err: ApiError): Response {
  const { title, status } = ERRORS[err.code];
  const { errors, headers, ...extra } = err.extra;
  const body: Problem = {
    type: `${baseUrlOf(c)}/problems/${err.code}`,
    title,
    status,
    detail: err.detail,
    instance: new URL(c.req.url).pathname,
    code: err.code,
    requestId: c.get("requestId") ?? "",
    ...(errors ? { errors } : {}),
    ...extra,
  };
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": PROBLEM_CONTENT_TYPE, ...(headers ?? {}) },
  });
}

/** The one error handler: known errors become their problem; anything else is a logged 500 with no internals. */
export const onError: ErrorHandler<AppEnv> = (err, c) => {
  if (err instanceof ApiError) return problemResponse(c, err);
  if (err instanceof HTTPException) {
    // The framework raises these for bodies it cannot take (415: wrong content type; 400: not parseable).
    const code = (
      err.status === 415
        ? "unsupported-content-type"
        : (Object.entries(ERRORS).find(([, e]) => e.status === err.status)?.[0] ?? "bad-request")
    ) as ErrorCode;
    return problemResponse(c, new ApiError(code, err.message || ERRORS[code].title));
  }
  c.get("deps")?.logger.error({ err, requestId: c.get("requestId"), path: c.req.path }, "unhandled error");
  return problemResponse(
    c,
    new ApiError("internal", "Something went wrong on our side. Quote the requestId if you report it."),
  );
};

/**
 * Unmatched requests: `405` with `Allow` when the path exists under other methods, else `404`. `routes` is
 * read at the first unmatched request, when every route is registered.
 */
export function notFound(routes: () => readonly { method: string; path: string }[]): NotFoundHandler<AppEnv> {
  let patterns: { re: RegExp; method: string }[] | null = null;
  return (c) => {
    patterns ??= routes()
      .filter((r) => r.method !== "ALL") // middleware
      .map((r) => ({
        method: r.method,
        re: new RegExp(
          `^${r.path
            .split("/")
            .map((seg) => (seg.startsWith(":") ? "[^/]+" : seg.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")))
            .join("/")}$`,
        ),
      }));
    const pathname = new URL(c.req.url).pathname;
    const allowed = [...new Set(patterns.filter((p) => p.re.test(pathname)).map((p) => p.method))];
    if (allowed.length > 0) {
      if (allowed.includes("GET")) allowed.push("HEAD");
      return problemResponse(
        c,
        new ApiError(
          "method-not-allowed",
          `${pathname} does not take ${c.req.method}; it takes ${allowed.join(", ")}.`,
          { headers: { allow: allowed.join(", ") } },
        ),
      );
    }
    return problemResponse(c, new ApiError("not-found", `There is nothing at ${c.req.method} ${pathname}.`));
  };
}

/** Names for the validator's targets in pointers: the body is `/body`, not the parser's `json`. */
const TARGETS: Record<string, string> = {
  json: "body",
  form: "body",
  param: "path",
  query: "query",
  header: "header",
};

/** zod-openapi's validation hook: request validation failures become 422 problems with pointers. */
export function validationHook(
  result: { success: true } | { success: false; error: z.ZodError; target: string },
  c: Context<AppEnv>,
): Response | undefined {
  if (result.success) return undefined;
  const where = TARGETS[result.target] ?? result.target;
  return problemResponse(
    c,
    new ApiError("validation-failed", `The request ${where} does not match the schema.`, {
      errors: fieldErrors(result.error, `/${where}`),
    }),
  );
}
