/**
 * The one place a Select's refusal (balancer/decision.ts, sessions/session-refusals.ts)
 * becomes an error status: NOT_FOUND, UNAVAILABLE, RESOURCE_EXHAUSTED (quota, Q5;
 * backpressure) or FAILED_PRECONDITION (the session protocol, P1 P5 P6), each with its
 * ErrorInfo reason and a RetryInfo where a retry can succeed (E1; the reasons are listed
 * beside each refusal type).
 */
import type { Refusal } from "../balancer/decision.js";
import type { SessionRefusal } from "../sessions/session-refusals.js";
import { FulcrumError } from "../shared/errors.js";

/** The error the rpc edge answers for `refusal`: its reason as ErrorInfo, RetryInfo when a retry can succeed (E1). */
export function refusalError(refusal: Refusal | SessionRefusal): FulcrumError {
  if (refusal.kind === "session_refused")
    return new FulcrumError("failed_precondition", refusal.message, { reason: refusal.reason });
  const retry = refusal.kind === "not_found" ? undefined : refusal.retryAfterMs;
  const detail = { reason: refusal.reason, ...(retry !== undefined && { retryAfterMs: retry }) };
  switch (refusal.kind) {
    case "not_found":
      return new FulcrumError("not_found", refusal.message, detail);
    case "unavailable":
      // Backpressure is load, not an outage: a short back-off succeeds (RESOURCE_EXHAUSTED).
      return new FulcrumError(
        refusal.reason === "BACKPRESSURE" ? "resource_exhausted" : "unavailable",
        refusal.message,
        detail,
      );
    case "exhausted":
      return new FulcrumError("resource_exhausted", refusal.message, detail);
  }
}
