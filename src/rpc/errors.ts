import { type ErrorCode, type FieldViolation, FulcrumError } from "../shared/errors.js";

/** gRPC status codes by domain error code: the one table (README, "Errors"). */
export const GRPC_STATUS: Readonly<Record<ErrorCode, number>> = {
  invalid_argument: 3,
  not_found: 5,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  unauthenticated: 16,
};

/** Logs a cause the caller must not see. */
export type ErrorLogger = (message: string, cause: unknown) => void;

/**
 * How large an error answer may grow. Status message and details travel in HTTP/2 trailers,
 * which clients cap (grpc-js: 8 KiB of metadata; a larger block breaks the whole channel), so
 * both are bounded whatever the request held: 1,000 bad backends or a 65,000-character name.
 */
export interface ErrorSizeLimits {
  /** Field violations listed in the BadRequest detail; the rest are counted in one last entry. */
  readonly maxViolations: number;
  /** UTF-8 bytes of the message and of each violation's field and description. */
  readonly maxTextBytes: number;
}

/**
 * Any thrown value as a FulcrumError. Anything that is not already one is a bug on our side:
 * it is logged with its cause and answered with INTERNAL and a message that reveals nothing.
 */
export function asFulcrumError(error: unknown, log: ErrorLogger): FulcrumError {
  if (error instanceof FulcrumError) return error;
  log("unexpected error in handler", error);
  return new FulcrumError("internal", "internal error; the server logged the cause", {}, { cause: error });
}

/** `text` cut to at most `maxBytes` UTF-8 bytes, saying how much was cut. */
export function truncateText(text: string, maxBytes: number): string {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  const suffix = `... (${Buffer.byteLength(text)} bytes, cut at ${maxBytes})`;
  let kept = text.slice(0, maxBytes);
  while (Buffer.byteLength(kept) > maxBytes) kept = kept.slice(0, -1);
  // Never end on half a surrogate pair.
  if (/[\ud800-\udbff]$/.test(kept)) kept = kept.slice(0, -1);
  return `${kept}${suffix}`;
}

function boundViolations(violations: readonly FieldViolation[], limits: ErrorSizeLimits): FieldViolation[] {
  const listed = violations.slice(0, limits.maxViolations).map((v) => ({
    field: truncateText(v.field, limits.maxTextBytes),
    description: truncateText(v.description, limits.maxTextBytes),
  }));
  const rest = violations.length - listed.length;
  if (rest > 0)
    listed.push({
      field: "request",
      description: `and ${rest} more violations, not listed (limit limits.maxErrorViolations=${limits.maxViolations})`,
    });
  return listed;
}

/** `error` with its message and details within `limits`: what may go on the wire. */
export function boundedError(error: FulcrumError, limits: ErrorSizeLimits): FulcrumError {
  const violations = error.detail.violations;
  const fits =
    Buffer.byteLength(error.message) <= limits.maxTextBytes &&
    (violations === undefined ||
      (violations.length <= limits.maxViolations &&
        violations.every(
          (v) =>
            Buffer.byteLength(v.field) <= limits.maxTextBytes &&
            Buffer.byteLength(v.description) <= limits.maxTextBytes,
        )));
  if (fits) return error;
  const detail = violations
    ? { ...error.detail, violations: boundViolations(violations, limits) }
    : error.detail;
  return new FulcrumError(error.code, truncateText(error.message, limits.maxTextBytes), detail, {
    cause: error.cause,
  });
}
