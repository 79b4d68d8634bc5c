/**
 * The closed table of error codes Earmark answers with. Clients match on `code`; it never changes meaning.
 * Every HTTP error is an RFC 9457 problem document built from this table (see api/problem.ts).
 */
export const ERRORS = {
  "bad-request": { status: 400, title: "The request is malformed" },
  unauthorized: { status: 401, title: "Missing or invalid API key" },
  forbidden: { status: 403, title: "Not allowed" },
  "not-found": { status: 404, title: "No such resource" },
  "method-not-allowed": { status: 405, title: "Method not allowed" },
  conflict: { status: 409, title: "The resource is not in a state that allows this" },
  "rendition-not-ready": { status: 409, title: "The upload has no rendition yet" },
  "no-rendition": { status: 409, title: "The upload will not get a rendition" },
  "upload-in-progress": { status: 409, title: "The upload is still being processed" },
  "upload-removed": { status: 410, title: "The upload was removed" },
  "no-manifest": { status: 404, title: "The rendition carries no C2PA manifest" },
  "upload-too-large": { status: 413, title: "The upload exceeds the size limit" },
  "unsupported-media-type": { status: 415, title: "The audio format is not supported" },
  "unsupported-content-type": { status: 415, title: "The request body's content type is not accepted here" },
  "validation-failed": { status: 422, title: "The request does not match the schema" },
  "invalid-metadata": { status: 422, title: "The upload metadata is invalid" },
  "idempotency-key-reused": { status: 422, title: "The Idempotency-Key was used with a different request" },
  "empty-upload": { status: 422, title: "The upload is empty" },
  "missing-file": { status: 422, title: "The upload has no audio file part" },
  "audio-truncated": { status: 422, title: "The audio file is truncated" },
  "audio-corrupt": { status: 422, title: "The audio file is corrupt" },
  "audio-header-invalid": { status: 422, title: "The audio header is invalid" },
  "unsupported-sample-rate": { status: 422, title: "The sample rate is outside the supported range" },
  "unsupported-channel-count": { status: 422, title: "The channel count is outside the supported range" },
  "unsupported-encoding": { status: 422, title: "The audio encoding is not supported" },
  "duration-too-long": { status: 422, title: "The audio is longer than allowed" },
  "no-audio": { status: 422, title: "The file contains no decodable audio" },
  "range-not-satisfiable": { status: 416, title: "The requested byte range is outside the file" },
  "rate-limited": { status: 429, title: "Too many requests" },
  internal: { status: 500, title: "Internal error" },
  unavailable: { status: 503, title: "Service unavailable" },
} as const satisfies Record<string, { status: number; title: string }>;

export type ErrorCode = keyof typeof ERRORS;

/** One field-level validation problem, as carried in a problem document's `errors[]`. */
export interface FieldError {
  pointer: string;
  detail: string;
}

/** The one error class of the HTTP layer. `code` picks the status and title from {@link ERRORS}. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    /** Extension members of the problem document (never the RFC 9457 ones), plus headers and field errors. */
    readonly extra: {
      errors?: FieldError[];
      headers?: Record<string, string>;
      status?: never;
      type?: never;
      title?: never;
      detail?: never;
      instance?: never;
      [k: string]: unknown;
    } = {},
  ) {
    super(detail);
    this.name = "ApiError";
    this.status = ERRORS[code].status;
  }
}

/**
 * A problem with the audio itself (bad header, truncation, corrupt frames). Raised by probing at upload
 * time (→ 4xx answer) and by decoding in the worker (→ `status: failed` with `failure.code`). Never retried.
 */
export class AudioInputError extends Error {
  constructor(
    readonly code: Extract<
      ErrorCode,
      | "unsupported-media-type"
      | "empty-upload"
      | "audio-truncated"
      | "audio-corrupt"
      | "audio-header-invalid"
      | "unsupported-sample-rate"
      | "unsupported-channel-count"
      | "unsupported-encoding"
      | "duration-too-long"
      | "no-audio"
    >,
    readonly detail: string,
  ) {
    super(detail);
    this.name = "AudioInputError";
  }

  toApiError(): ApiError {
    return new ApiError(this.code, this.detail);
  }
}
