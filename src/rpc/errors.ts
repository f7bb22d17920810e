import { type ErrorCode, FulcrumError } from "../shared/errors.js";

/** gRPC status codes by domain error code: the one table (api.md, Errors). */
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
 * Any thrown value as a FulcrumError. Anything that is not already one is a bug on our side:
 * it is logged with its cause and answered with INTERNAL and a message that reveals nothing.
 */
export function asFulcrumError(error: unknown, log: ErrorLogger): FulcrumError {
  if (error instanceof FulcrumError) return error;
  log("unexpected error in handler", error);
  return new FulcrumError("internal", "internal error; the server logged the cause", {}, { cause: error });
}
