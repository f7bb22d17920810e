/**
 * The one place a Select's refusal (balancer/decision.ts) becomes an error status: NOT_FOUND,
 * UNAVAILABLE, or RESOURCE_EXHAUSTED with RetryInfo when the quota layer knows when a backend
 * frees up (Q5).
 */
import type { Refusal } from "../balancer/decision.js";
import { FulcrumError } from "../shared/errors.js";

/** The error the rpc edge answers for `refusal`. */
export function refusalError(refusal: Refusal): FulcrumError {
  switch (refusal.kind) {
    case "not_found":
      return new FulcrumError("not_found", refusal.message);
    case "unavailable":
      return new FulcrumError("unavailable", refusal.message);
    case "exhausted":
      return new FulcrumError(
        "resource_exhausted",
        refusal.message,
        refusal.retryAfterMs === undefined ? {} : { retryAfterMs: refusal.retryAfterMs },
      );
  }
}
