/**
 * The tagged answers of the Select path. The balancer, the quota gate and
 * the session router return these instead of throwing; callers switch on `kind`, and only
 * rpc/ turns a refusal into a gRPC status (rpc/refusal-status.ts).
 */
import type { Explanation } from "./explanation.js";

/**
 * What a caller can act on (E1), sent as the ErrorInfo reason of the refusal:
 * - SERVICE_NOT_FOUND: register the service first; retrying as is cannot succeed.
 * - NO_BACKENDS: the service has no backends registered.
 * - NO_HEALTHY_BACKEND: every backend is unhealthy, ejected or draining; RetryInfo names the
 *   probe interval (the next chance for an unhealthy backend to be tried) or the end of the
 *   earliest ejection.
 * - NO_MATCHING_BACKEND: healthy backends exist, but the request's exclude or labels leave none.
 * - BACKPRESSURE: the backends left are past their hard in-flight share; RetryInfo is a short
 *   back-off (about one call's latency), after which in-flight calls have usually finished.
 * - QUOTA_EXHAUSTED: every backend left is out of quota for this cost; RetryInfo is when the
 *   first frees up (none when the cost exceeds every backend's whole limit).
 * - SESSION_BACKEND_LOST: the session's pinned backend is gone.
 */
export type RefusalReason =
  | "SERVICE_NOT_FOUND"
  | "NO_BACKENDS"
  | "NO_HEALTHY_BACKEND"
  | "NO_MATCHING_BACKEND"
  | "BACKPRESSURE"
  | "QUOTA_EXHAUSTED"
  | "SESSION_BACKEND_LOST";

/** Why a Select got no backend. */
export type Refusal =
  | {
      /** The service is not registered (NOT_FOUND). */
      readonly kind: "not_found";
      readonly reason: "SERVICE_NOT_FOUND";
      readonly message: string;
    }
  | {
      /**
       * No backend left: unhealthy, ejected, draining, removed by a request filter, or past
       * backpressure (UNAVAILABLE, or RESOURCE_EXHAUSTED for BACKPRESSURE).
       */
      readonly kind: "unavailable";
      readonly reason: RefusalReason;
      readonly message: string;
      /** When a retry of the same request can succeed, if that is known. */
      readonly retryAfterMs?: number | undefined;
      readonly explanation?: Explanation | undefined;
    }
  | {
      /** Backends were left by every filter but quota (RESOURCE_EXHAUSTED, Q5); RetryInfo when known. */
      readonly kind: "exhausted";
      readonly reason: "QUOTA_EXHAUSTED";
      readonly message: string;
      readonly retryAfterMs?: number | undefined;
      readonly explanation?: Explanation | undefined;
    };

/** NOT_FOUND for `service`. */
export function serviceNotFound(service: string): Refusal {
  return {
    kind: "not_found",
    reason: "SERVICE_NOT_FOUND",
    message: `service ${JSON.stringify(service)} is not registered`,
  };
}
