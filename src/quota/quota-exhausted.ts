import type { Refusal } from "../balancer/decision.js";

/**
 * The QUOTA_EXHAUSTED refusal after `tried` backends could not take a request's cost: its
 * RetryInfo is when the first of them frees up (`retryAfterMs`, rounded up to whole ms), and
 * none when the cost is larger than any backend's whole limit (Infinity: a retry cannot help).
 */
export function quotaExhausted(service: string, tried: number, retryAfterMs: number): Refusal {
  const retry = Number.isFinite(retryAfterMs) ? Math.max(1, Math.ceil(retryAfterMs)) : undefined;
  const when =
    retry === undefined
      ? "the cost is larger than any backend's whole limit"
      : `the first frees up in ${retry} ms`;
  return {
    kind: "exhausted",
    reason: "QUOTA_EXHAUSTED",
    message: `service ${JSON.stringify(service)}: ${tried} eligible backend(s) out of quota for this cost; ${when}`,
    ...(retry !== undefined && { retryAfterMs: retry }),
  };
}
