/**
 * The tagged answers of the Select path (issue 11 point 4). The balancer, the quota gate and
 * the session router return these instead of throwing; callers switch on `kind`, and only
 * rpc/ turns a refusal into a gRPC status (rpc/refusal-status.ts).
 */
import type { Explanation } from "./explanation.js";

/** Why a Select got no backend. */
export type Refusal =
  | {
      /** The service is not registered (NOT_FOUND). */
      readonly kind: "not_found";
      readonly message: string;
    }
  | {
      /** No backend left: unhealthy, ejected, draining, or removed by a request filter (UNAVAILABLE). */
      readonly kind: "unavailable";
      readonly message: string;
      readonly explanation?: Explanation | undefined;
    }
  | {
      /** Backends were left by every filter but quota (RESOURCE_EXHAUSTED, Q5); RetryInfo when known. */
      readonly kind: "exhausted";
      readonly message: string;
      readonly retryAfterMs?: number | undefined;
      readonly explanation?: Explanation | undefined;
    };

/** NOT_FOUND for `service`. */
export function serviceNotFound(service: string): Refusal {
  return { kind: "not_found", message: `service ${JSON.stringify(service)} is not registered` };
}
