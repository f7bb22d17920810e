/**
 * `state.<kind>`: how each kind of shared state uses its L1 (in process) and L2 (Redis), and
 * what happens while Redis is away (docs/state.md has the promise of every mode per kind).
 * Kinds whose writes must be atomic across replicas (pins: the pin compare-and-set; quota:
 * the reserve script) keep their Lua path and fill or invalidate the L1 from its result, so
 * they take no read or write policy; negative-availability facts go through the tiered
 * cache both ways and take every policy. The quota view (what the quota filter and
 * most_available read of every backend, RATE_LIMITED marks included) is read through a tiered
 * cache whose L2 is the quota keys themselves: filled from the quota scripts' results, it
 * takes the read policies and refill but no write policy. The defaults keep the behaviour from before these
 * settings existed (facts are shared now, and a Redis failure leaves each replica its own).
 */
import { z } from "zod";

const positiveInt = z.number().int().positive();

/** The failure modes an operator chooses from (behaviour.md C5). */
export const STATE_FAILURE_MODES = ["l1Only", "error", "retry"] as const;
/** Tries of `retry` (the first included) unless `attempts` says otherwise. */
export const DEFAULT_STATE_RETRY_ATTEMPTS = 3;
/** The most tries `retry` may be given (as the tiered cache's own bound). */
export const MAX_STATE_RETRY_ATTEMPTS = 20;

const failureMode = z.enum(STATE_FAILURE_MODES);
const attempts = z.number().int().min(1).max(MAX_STATE_RETRY_ATTEMPTS).default(DEFAULT_STATE_RETRY_ATTEMPTS);

export const stateSchema = z
  .strictObject({
    pins: z
      .strictObject({
        /** Default `error`: new pins fail UNAVAILABLE while Redis is away (as before). */
        failureMode: failureMode.default("error"),
        attempts,
        /** Pins each replica keeps in its L1 (C1 capacity). */
        l1MaxEntries: positiveInt.default(100_000),
        /** How long the L1 answers alone for a pin; 0: a quarter of the service's idle TTL. */
        l1TtlMs: z.number().int().min(0).default(0),
      })
      .prefault({}),
    quota: z
      .strictObject({
        /** Default `l1Only`: each replica enforces its local share while Redis is away (as before). */
        failureMode: failureMode.default("l1Only"),
        attempts,
        /** After a Redis failure, how long `l1Only` stays on the local share before trying Redis again. */
        l1TtlMs: positiveInt.default(1_000),
      })
      .prefault({}),
    quotaView: z
      .strictObject({
        /** Default `l1Only`: a Select uses the statuses this replica has while Redis is away. */
        failureMode: failureMode.default("l1Only"),
        attempts,
        readPolicy: z.enum(["sequential", "race", "parallel"]).default("sequential"),
        refill: z.enum(["never", "always"]).default("always"),
        /** Backends whose quota status each replica keeps in its L1 (C1 capacity). */
        l1MaxEntries: positiveInt.default(10_000),
        /** How long an L1 status answers before Redis is read again; 0: until a quota script or a mark replaces it. */
        l1TtlMs: z.number().int().min(0).default(0),
      })
      .prefault({}),
    negative: z
      .strictObject({
        /** Default `l1Only`: a Select uses the facts this replica has while Redis is away. */
        failureMode: failureMode.default("l1Only"),
        attempts,
        readPolicy: z.enum(["sequential", "race", "parallel"]).default("sequential"),
        writePolicy: z.enum(["sequential", "optimisticParallel", "race"]).default("optimisticParallel"),
        refill: z.enum(["never", "always"]).default("always"),
        /** Resource keys whose shared facts each replica keeps in its L1 (C1 capacity); copies live as long as the facts, dropped when another replica writes. */
        l1MaxEntries: positiveInt.default(10_000),
      })
      .prefault({}),
  })
  .prefault({});

/** The validated `state` settings. */
export type StateConfig = z.infer<typeof stateSchema>;
/** One kind's failure mode setting. */
export type StateFailureMode = (typeof STATE_FAILURE_MODES)[number];

/** The tiered cache's FailureMode for a kind's settings. */
export function failureModeOf(settings: { failureMode: StateFailureMode; attempts: number }) {
  return settings.failureMode === "retry"
    ? ({ kind: "retry", attempts: settings.attempts } as const)
    : ({ kind: settings.failureMode } as const);
}
