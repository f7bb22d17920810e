/**
 * The error a caller gets when the registry log failed a write: the message
 * says only what is true. "Nothing changed" only when the log certainly did not take the
 * change; otherwise that the outcome is unknown and how to learn it.
 */
import { FulcrumError } from "../shared/errors.js";
import { RegistryLogError } from "./registry-log.js";

/** ErrorInfo reason: the change was not applied; retrying is safe. */
export const REGISTRY_UNAVAILABLE = "REGISTRY_UNAVAILABLE";
/** ErrorInfo reason: the change may or may not have been applied; read before retrying. */
export const REGISTRY_OUTCOME_UNKNOWN = "REGISTRY_OUTCOME_UNKNOWN";
/** RetryInfo of a change that was not applied: about when a lost Redis connection is retried. */
const RETRY_AFTER_MS = 1_000;

/** The UNAVAILABLE a caller gets for a failed append of a change to `service`. */
export function logFailure(service: string, cause: unknown): FulcrumError {
  const name = JSON.stringify(service);
  const certain = cause instanceof RegistryLogError && cause.outcome === "not_applied";
  if (certain) {
    return new FulcrumError(
      "unavailable",
      `service ${name}: the shared registry store is unavailable, nothing changed; retry`,
      { reason: REGISTRY_UNAVAILABLE, retryAfterMs: RETRY_AFTER_MS },
      { cause },
    );
  }
  return new FulcrumError(
    "unavailable",
    `service ${name}: the shared registry store did not answer in time; the change may or may not have been applied (the store refuses it once its deadline has passed); read GetService and compare the version before retrying`,
    { reason: REGISTRY_OUTCOME_UNKNOWN },
    { cause },
  );
}
