/**
 * Key names of the quota limiter. Every key of one backend shares the hash tag
 * `{q:<service length>:<service>:<backend id>}` and so one Cluster slot (C13), which lets one
 * Lua script check and charge all of them atomically; the length prefix keeps
 * (service, backend) pairs from colliding whatever characters they hold. The prefix must not
 * contain braces.
 */

import type { QuotaLimitSpec } from "../../model/specs.js";
import { stateLayout } from "../../quota/dimension.js";
import type { BackendQuotaKey } from "../../quota/quota-limiter.js";

/** The hash tag (with prefix) every quota key of `key` starts with. */
export function quotaTag(prefix: string, key: BackendQuotaKey): string {
  return `${prefix}:{q:${key.service.length}:${key.service}:${key.backendId}}`;
}

/**
 * The keys of one backend: its RATE_LIMITED mark and one key per limit, named by the
 * state layout (a changed window or algorithm starts afresh) and the dimension, last.
 */
export function quotaKeys(
  prefix: string,
  key: BackendQuotaKey,
  limits: readonly QuotaLimitSpec[],
): { readonly mark: string; readonly dimensions: string[] } {
  const tag = quotaTag(prefix, key);
  return {
    mark: `${tag}:mark`,
    dimensions: limits.map((spec) => `${tag}:d:${stateLayout(spec)}:${spec.dimension}`),
  };
}
