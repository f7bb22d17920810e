/**
 * The three session refusals (README, "Errors"; docs/sessions.md): decisions of the Select
 * path like the balancer's refusals, which rpc/ answers as FAILED_PRECONDITION with a
 * google.rpc ErrorInfo reason a client can switch on. Each message names the service, the
 * session and the limit or backend involved; docs/sessions.md says what a client should do on each.
 */

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

/** The session protocol turns the Select down (P1, P5, P6); retrying it as is cannot succeed. */
export interface SessionRefusal {
  readonly kind: "session_refused";
  readonly reason: SessionReason;
  readonly message: string;
}

/** Why a pinned backend can no longer serve its session (P5). */
export type LostCause = "unhealthy" | "drained" | "removed";

const LOST_WORDING: Readonly<Record<LostCause, string>> = {
  unhealthy: "is unhealthy",
  drained: "was drained past its drain deadline",
  removed: "is no longer registered",
};

/** SESSION_BACKEND_LOST: the session's pinned backend is gone (P5). */
export function sessionBackendLost(
  service: string,
  sessionId: string,
  backendId: string,
  cause: LostCause,
): SessionRefusal {
  return {
    kind: "session_refused",
    reason: SESSION_REASONS.backendLost,
    message: `session ${sessionId} of ${service}: pinned backend ${backendId} ${LOST_WORDING[cause]}; end the session and start a new one`,
  };
}

/** STATEFUL_NOT_ALLOWED: a stateful command on a PER_COMMAND service (P1). */
export function statefulNotAllowed(service: string, command: string): SessionRefusal {
  return {
    kind: "session_refused",
    reason: SESSION_REASONS.statefulNotAllowed,
    message: `command ${JSON.stringify(command)} is stateful and ${service} routes per command (routing_mode PER_COMMAND)`,
  };
}

/** PIN_CAPACITY: no candidate backend has a free pin slot (P6). */
export function pinCapacityExhausted(service: string, sessionId: string, tried: number): SessionRefusal {
  return {
    kind: "session_refused",
    reason: SESSION_REASONS.pinCapacity,
    message: `session ${sessionId} of ${service}: every eligible backend holds max_connections - 1 pinned sessions (${tried} at the limit)`,
  };
}
