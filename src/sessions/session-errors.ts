/**
 * The three session failures (README, "Errors"; docs/sessions.md): FAILED_PRECONDITION with a google.rpc
 * ErrorInfo reason a client can switch on. Each message names the service, the session and
 * the limit or backend involved; docs/sessions.md says what a client should do on each.
 */
import { FulcrumError } from "../shared/errors.js";

/** ErrorInfo reasons of session routing (README, "Errors"). */
export const SESSION_REASONS = {
  /** The pinned backend is unhealthy, drained past its deadline, or removed (P5). */
  backendLost: "SESSION_BACKEND_LOST",
  /** A PER_COMMAND service was given a stateful command (P1). */
  statefulNotAllowed: "STATEFUL_NOT_ALLOWED",
  /** Every candidate backend already holds max_connections - 1 pinned sessions (P6). */
  pinCapacity: "PIN_CAPACITY",
} as const;

/** One of SESSION_REASONS. */
export type SessionReason = (typeof SESSION_REASONS)[keyof typeof SESSION_REASONS];

/** Why a pinned backend can no longer serve its session (P5). */
export type LostCause = "unhealthy" | "drained" | "removed";

const LOST_WORDING: Readonly<Record<LostCause, string>> = {
  unhealthy: "is unhealthy",
  drained: "was drained past its drain deadline",
  removed: "is no longer registered",
};

/** FAILED_PRECONDITION / SESSION_BACKEND_LOST for a session whose pinned backend is gone. */
export function sessionBackendLost(
  service: string,
  sessionId: string,
  backendId: string,
  cause: LostCause,
): FulcrumError {
  return new FulcrumError(
    "failed_precondition",
    `session ${sessionId} of ${service}: pinned backend ${backendId} ${LOST_WORDING[cause]}; end the session and start a new one`,
    { reason: SESSION_REASONS.backendLost },
  );
}

/** FAILED_PRECONDITION / STATEFUL_NOT_ALLOWED for a stateful command on a PER_COMMAND service. */
export function statefulNotAllowed(service: string, command: string): FulcrumError {
  return new FulcrumError(
    "failed_precondition",
    `command ${JSON.stringify(command)} is stateful and ${service} routes per command (routing_mode PER_COMMAND)`,
    { reason: SESSION_REASONS.statefulNotAllowed },
  );
}

/** FAILED_PRECONDITION / PIN_CAPACITY when no candidate backend has a free pin slot. */
export function pinCapacityExhausted(service: string, sessionId: string, tried: number): FulcrumError {
  return new FulcrumError(
    "failed_precondition",
    `session ${sessionId} of ${service}: every eligible backend holds max_connections - 1 pinned sessions (${tried} at the limit)`,
    { reason: SESSION_REASONS.pinCapacity },
  );
}
