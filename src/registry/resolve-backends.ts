import type { BackendInput } from "../model/input.js";
import type { RegistryLimits } from "../model/limits.js";
import type { BackendSpec, QuotaAlgorithm, QuotaLimitSpec } from "../model/specs.js";
import { describeMs, type Violations } from "../model/violations.js";
import { parseHostPort } from "./address.js";
import * as D from "./defaults.js";
import { resolveHealthCheck } from "./resolve-health-check.js";

// Brackets and colons let an id default to an IPv6 address ("[::1]:80").
const NAME = /^[A-Za-z0-9[][A-Za-z0-9._\-/:[\]@]*$/;
const QUOTA_ALGORITHMS: readonly QuotaAlgorithm[] = ["sliding_window", "token_bucket", "fixed_window"];
const MAX_QUOTA_BUCKETS = 600;
/** The longest quota window: a year and a day. Windows are compared with the clock, never waited on with a timer. */
const MAX_QUOTA_WINDOW_MS = 366 * 86_400_000;

/** Checks a service or backend name; returns true when it is good. */
export function checkName(field: string, name: string, limits: RegistryLimits, v: Violations): boolean {
  if (!name) {
    v.add(field, "must not be empty");
    return false;
  }
  if (name.length > limits.maxNameLength) {
    v.add(field, `must be at most ${limits.maxNameLength} characters, got ${name.length}`);
    return false;
  }
  if (!NAME.test(name)) {
    v.add(
      field,
      `must start with a letter, digit or [ and hold only letters, digits and . _ - / : [ ] @, got ${JSON.stringify(name)}`,
    );
    return false;
  }
  return true;
}

/** Applies defaults to the requested backends and records every bad field; ids must be unique. */
export function resolveBackends(
  inputs: readonly BackendInput[],
  limits: RegistryLimits,
  v: Violations,
): BackendSpec[] {
  if (inputs.length > limits.maxBackendsPerService) {
    v.add(
      "backends",
      `at most ${limits.maxBackendsPerService} backends per service (limit max_backends_per_service), got ${inputs.length}`,
    );
    return [];
  }
  const seen = new Map<string, number>();
  return inputs.map((input, i) => {
    const path = `backends[${i}]`;
    const parsed = parseHostPort(input.address ?? "");
    if (typeof parsed === "string") v.add(`${path}.address`, parsed);
    const id = input.id || input.address || "";
    if (checkName(`${path}.id`, id, limits, v)) {
      const first = seen.get(id);
      if (first !== undefined)
        v.add(`${path}.id`, `duplicate id ${JSON.stringify(id)} (also backends[${first}])`);
      else seen.set(id, i);
    }
    const labels = input.labels ?? {};
    const labelKeys = Object.keys(labels);
    if (labelKeys.length > limits.maxLabelsPerBackend) {
      v.add(
        `${path}.labels`,
        `at most ${limits.maxLabelsPerBackend} labels (limit max_labels_per_backend), got ${labelKeys.length}`,
      );
    }
    for (const key of labelKeys) if (!key) v.add(`${path}.labels`, "label keys must not be empty");
    for (const key of labelKeys) {
      const bytes = Buffer.byteLength(key) + Buffer.byteLength(String(labels[key] ?? ""));
      if (bytes > limits.maxLabelBytes)
        v.add(
          `${path}.labels`,
          `label ${JSON.stringify(key.slice(0, 64))} is ${bytes} bytes (key + value), over max_label_bytes=${limits.maxLabelBytes}`,
        );
    }
    return {
      id,
      address: input.address ?? "",
      host: typeof parsed === "string" ? "" : parsed.host,
      port: typeof parsed === "string" ? 0 : parsed.port,
      weight: v.intInRange(`${path}.weight`, input.weight || undefined, 1, D.MAX_WEIGHT, D.DEFAULT_WEIGHT),
      zone: input.zone ?? "",
      tier: v.intInRange(`${path}.tier`, input.tier, 0, 1000, 0),
      labels: { ...labels } as Record<string, string>,
      maxConnections: v.intInRange(`${path}.max_connections`, input.maxConnections, 0, 10_000_000, 0),
      quotas: resolveQuotas(input.quotas ?? [], `${path}.quotas`, limits, v),
      healthCheck: input.healthCheck
        ? resolveHealthCheck(input.healthCheck, `${path}.health_check`, v)
        : undefined,
      leaseTtlMs: v.duration(`${path}.lease_ttl`, input.leaseTtlMs, 0),
    };
  });
}

function resolveQuotas(
  inputs: BackendInput["quotas"] & object,
  path: string,
  limits: RegistryLimits,
  v: Violations,
): QuotaLimitSpec[] {
  if (inputs.length > limits.maxQuotasPerBackend) {
    v.add(
      path,
      `at most ${limits.maxQuotasPerBackend} quota dimensions (limit max_quotas_per_backend), got ${inputs.length}`,
    );
    return [];
  }
  const dimensions = new Set<string>();
  return inputs.map((q, i) => {
    const at = `${path}[${i}]`;
    const dimension = q.dimension ?? "";
    if (!dimension) v.add(`${at}.dimension`, "must not be empty");
    else if (dimensions.has(dimension))
      v.add(`${at}.dimension`, `duplicate dimension ${JSON.stringify(dimension)}`);
    dimensions.add(dimension);
    if (q.limit === undefined || !Number.isFinite(q.limit) || q.limit <= 0)
      v.add(`${at}.limit`, `must be a number > 0, got ${q.limit ?? 0}`);
    if (!q.windowMs || !(q.windowMs > 0 && q.windowMs <= MAX_QUOTA_WINDOW_MS))
      v.add(
        `${at}.window`,
        `must be a duration > 0 and at most ${MAX_QUOTA_WINDOW_MS} ms (${describeMs(MAX_QUOTA_WINDOW_MS)}), got ${q.windowMs ?? 0} ms`,
      );
    const algorithm = q.algorithm ?? "sliding_window";
    if (!QUOTA_ALGORITHMS.includes(algorithm)) v.add(`${at}.algorithm`, `unknown algorithm ${algorithm}`);
    return {
      dimension,
      limit: q.limit ?? 0,
      windowMs: q.windowMs ?? 0,
      algorithm,
      buckets: v.intInRange(
        `${at}.buckets`,
        q.buckets || undefined,
        1,
        MAX_QUOTA_BUCKETS,
        D.DEFAULT_QUOTA_BUCKETS,
      ),
    };
  });
}
