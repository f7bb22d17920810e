/**
 * The one error type the core raises for a caller's request. The rpc edge maps `code` to a
 * gRPC status (rpc/errors.ts); the message is sent, a `cause` is logged and never sent.
 */
export type ErrorCode =
  | "invalid_argument"
  | "not_found"
  | "unavailable"
  | "resource_exhausted"
  | "failed_precondition"
  | "unimplemented"
  | "unauthenticated"
  | "permission_denied"
  /** A bug on our side; only the rpc edge raises it. */
  | "internal";

/** One bad field of a request, named by its proto path (e.g. `backends[2].address`). */
export interface FieldViolation {
  readonly field: string;
  readonly description: string;
}

/** Extra detail the edge turns into google.rpc error details. */
export interface ErrorDetail {
  readonly violations?: readonly FieldViolation[];
  /** ErrorInfo reason, e.g. SESSION_BACKEND_LOST. */
  readonly reason?: string;
  /** RetryInfo delay. */
  readonly retryAfterMs?: number;
}

/** A request failure with a message that names the field or the limit. */
export class FulcrumError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly detail: ErrorDetail = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "FulcrumError";
  }
}

/** INVALID_ARGUMENT for a list of violations; the message names the first and counts the rest. */
export function invalidArgument(violations: readonly FieldViolation[]): FulcrumError {
  const [first] = violations;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  const message = first ? `${first.field}: ${first.description}${more}` : "invalid request";
  return new FulcrumError("invalid_argument", message, { violations });
}
