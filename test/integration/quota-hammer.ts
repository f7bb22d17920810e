/**
 * Global accuracy across replicas (behaviour.md Q6) at the limiter level: several limiters,
 * each on its own Redis connection (a replica), reserve one small limit as fast as they can
 * for several windows, with true-ups that refund part of each token estimate. Every admitted
 * reservation is recorded with the `now` its replica used; afterwards each algorithm's own
 * envelope is checked over every window:
 * - sliding / fixed window: any `buckets` consecutive buckets hold at most `limit`;
 * - token bucket: any interval [t1, t2] holds at most limit + (t2 - t1) x limit / window.
 * Over-admission is (worst window - limit) / limit, floored at 0. Bounded in time and count.
 */

import type { QuotaAlgorithm, QuotaLimitSpec } from "../../src/model/specs.js";
import type { QuotaLimiter } from "../../src/quota/quota-limiter.js";

/** Knobs of one hammer run. */
export interface HammerOptions {
  readonly algorithms: readonly QuotaAlgorithm[];
  /** Requests per window. Tokens get 10 x this. */
  readonly limit: number;
  readonly windowMs: number;
  /** How many windows each algorithm runs for. */
  readonly windows: number;
  readonly inFlightPerLimiter: number;
  readonly maxAttemptsPerLimiter: number;
}

const DEFAULTS: HammerOptions = {
  algorithms: ["sliding_window", "fixed_window", "token_bucket"],
  limit: 50,
  windowMs: 500,
  windows: 4,
  inFlightPerLimiter: 8,
  maxAttemptsPerLimiter: 50_000,
};
const TOKEN_ESTIMATE = 10;

interface Admission {
  readonly at: number;
  readonly requests: number;
  tokens: number;
}

/** The outcome: totals, the worst over-admission seen, and printable lines. */
export interface HammerResult {
  readonly admitted: number;
  readonly attempts: number;
  readonly worstOverAdmission: number;
  readonly lines: string[];
}

function windowWorst(
  admissions: readonly Admission[],
  spec: QuotaLimitSpec,
  pick: (a: Admission) => number,
): number {
  const buckets = spec.algorithm === "fixed_window" ? 1 : spec.buckets;
  const perBucket = new Map<number, number>();
  for (const a of admissions) {
    const index = Math.floor((a.at * buckets) / spec.windowMs);
    perBucket.set(index, (perBucket.get(index) ?? 0) + pick(a));
  }
  let worst = 0;
  for (const index of perBucket.keys()) {
    let sum = 0;
    for (let i = index; i < index + buckets; i++) sum += perBucket.get(i) ?? 0;
    worst = Math.max(worst, (sum - spec.limit) / spec.limit);
  }
  return worst;
}

function bucketWorst(
  admissions: readonly Admission[],
  spec: QuotaLimitSpec,
  pick: (a: Admission) => number,
): number {
  const sorted = [...admissions].sort((a, b) => a.at - b.at);
  let worst = 0;
  for (let i = 0; i < sorted.length; i++) {
    let sum = 0;
    for (let j = i; j < sorted.length; j++) {
      sum += pick(sorted[j]!);
      const allowed = spec.limit + ((sorted[j]!.at - sorted[i]!.at) * spec.limit) / spec.windowMs;
      worst = Math.max(worst, (sum - allowed) / spec.limit);
    }
  }
  return worst;
}

async function replica(
  limiter: QuotaLimiter,
  limits: QuotaLimitSpec[],
  backendId: string,
  endAt: number,
  options: HammerOptions,
  admissions: Admission[],
): Promise<number> {
  const key = { service: "q6", backendId };
  let attempts = 0;
  const loop = async () => {
    while (Date.now() < endAt && attempts < options.maxAttemptsPerLimiter) {
      attempts++;
      const now = Date.now();
      const r = await limiter.reserve(key, limits, { tokens: TOKEN_ESTIMATE }, now);
      if (!r.ok) continue;
      const admission: Admission = { at: now, requests: 1, tokens: TOKEN_ESTIMATE };
      admissions.push(admission);
      admission.tokens = 1 + (attempts % TOKEN_ESTIMATE);
      await limiter.trueUp(r.reservation, { tokens: admission.tokens }, Date.now());
    }
  };
  await Promise.all(Array.from({ length: options.inFlightPerLimiter }, loop));
  return attempts;
}

/** Hammers one backend per algorithm from every limiter at once; see the file header. */
export async function hammerOneLimit(
  limiters: readonly QuotaLimiter[],
  overrides: Partial<HammerOptions> = {},
): Promise<HammerResult> {
  const options = { ...DEFAULTS, ...overrides };
  const lines: string[] = [];
  let admitted = 0;
  let attempts = 0;
  let worstOverAdmission = 0;
  for (const algorithm of options.algorithms) {
    const base = { windowMs: options.windowMs, algorithm, buckets: 6 };
    const limits = [
      { ...base, dimension: "requests", limit: options.limit },
      { ...base, dimension: "tokens", limit: options.limit * TOKEN_ESTIMATE },
    ];
    const admissions: Admission[] = [];
    const backendId = `${algorithm}-${process.pid}-${Date.now()}`;
    const endAt = Date.now() + options.windows * options.windowMs;
    const counts = await Promise.all(
      limiters.map((l) => replica(l, limits, backendId, endAt, options, admissions)),
    );
    const check = algorithm === "token_bucket" ? bucketWorst : windowWorst;
    const requests = Math.max(
      0,
      check(admissions, limits[0]!, (a) => a.requests),
    );
    const tokens = Math.max(
      0,
      check(admissions, limits[1]!, (a) => a.tokens),
    );
    const tried = counts.reduce((a, b) => a + b, 0);
    admitted += admissions.length;
    attempts += tried;
    worstOverAdmission = Math.max(worstOverAdmission, requests, tokens);
    lines.push(
      `Q6 ${algorithm}: ${limiters.length} replicas x ${options.inFlightPerLimiter} in flight, ` +
        `${options.windows} windows of ${options.windowMs} ms, limit ${options.limit} requests + ` +
        `${options.limit * TOKEN_ESTIMATE} tokens: admitted ${admissions.length} of ${tried} attempts; ` +
        `worst over-admission requests ${(requests * 100).toFixed(2)}%, tokens (after true-up) ${(tokens * 100).toFixed(2)}%`,
    );
  }
  return { admitted, attempts, worstOverAdmission, lines };
}
