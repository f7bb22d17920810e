/**
 * Random quota scenarios for property tests: a backend's limits and a sequence of
 * operations (reserve, check, true-up, release, mark, correct, time advance), a driver that
 * runs one against any QuotaLimiter and records a trace, and one that checks every step
 * against the reference model.
 */
import fc from "fast-check";
import { expect } from "vitest";
import type { QuotaLimitSpec } from "../../../src/model/specs.js";
import type { QuotaDenial, QuotaLimiter, Reservation } from "../../../src/quota/quota-limiter.js";
import type { QuotaStatus } from "../../../src/quota/quota-status.js";
import { type Held, type ModelDenial, ReferenceQuota } from "./reference-model.js";

/** One operation of a scenario. */
export type QuotaOp =
  | { readonly kind: "advance"; readonly ms: number }
  | {
      readonly kind: "reserve";
      readonly cost: Record<string, number>;
      readonly shadow: boolean;
      /** When the upstream counts the call, after the reserve (Q9). */
      readonly lagMs: number;
      /** How far real usage may run above the cost, per dimension (Q10). */
      readonly margin: Record<string, number>;
    }
  | { readonly kind: "check"; readonly cost: Record<string, number> }
  | {
      readonly kind: "trueUp";
      readonly pick: number;
      readonly usage: Record<string, number>;
      /** Usage held for a while (Q9). */
      readonly held: Held;
    }
  | { readonly kind: "release"; readonly pick: number }
  | { readonly kind: "mark"; readonly inMs: number }
  | { readonly kind: "correct"; readonly remaining: Record<string, number> };

/** A backend's limits and what happens to it. */
export interface QuotaScenario {
  readonly limits: QuotaLimitSpec[];
  readonly ops: QuotaOp[];
}

const DIMENSIONS = ["requests", "tokens", "images"] as const;
const WINDOWS_MS = [7, 100, 600, 999, 1_000, 60_000] as const;

const specArb = (dimension: string): fc.Arbitrary<QuotaLimitSpec> =>
  fc.record({
    dimension: fc.constant(dimension),
    limit: fc.integer({ min: 1, max: 20 }),
    windowMs: fc.constantFrom(...WINDOWS_MS),
    algorithm: fc.constantFrom("sliding_window" as const, "fixed_window" as const, "token_bucket" as const),
    buckets: fc.integer({ min: 1, max: 6 }),
  });

const limitsArb: fc.Arbitrary<QuotaLimitSpec[]> = fc
  .subarray([...DIMENSIONS], { minLength: 1 })
  .chain((names) => fc.tuple(...names.map(specArb)));

const unitsArb = (max: number) =>
  fc.dictionary(fc.constantFrom(...DIMENSIONS, "unlimited"), fc.integer({ min: 0, max }), { maxKeys: 4 });

const opArb = (windowMs: number): fc.Arbitrary<QuotaOp> =>
  fc.oneof(
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant("advance" as const),
        ms: fc.integer({ min: 0, max: Math.ceil(windowMs / 2) }),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        kind: fc.constant("reserve" as const),
        cost: unitsArb(8),
        shadow: fc.boolean(),
        lagMs: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: windowMs })),
        margin: fc.dictionary(
          fc.constantFrom(...DIMENSIONS),
          fc.constantFrom(0.5, 1, 1.1, 1.25, 1.5, 2, 3.7, 9),
          {
            maxKeys: 3,
          },
        ),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("check" as const), cost: unitsArb(8) }) },
    {
      weight: 3,
      arbitrary: fc.record({
        kind: fc.constant("trueUp" as const),
        pick: fc.nat(),
        usage: unitsArb(12),
        held: fc.record({
          units: unitsArb(6),
          holdMs: fc.integer({ min: 0, max: Math.ceil(windowMs * 1.5) }),
        }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("release" as const), pick: fc.nat() }) },
    {
      weight: 1,
      arbitrary: fc.record({
        kind: fc.constant("mark" as const),
        inMs: fc.integer({ min: 0, max: windowMs }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant("correct" as const), remaining: unitsArb(20) }) },
  );

/** Scenarios of up to `maxOps` operations. */
export function scenarioArb(maxOps = 40): fc.Arbitrary<QuotaScenario> {
  return limitsArb.chain((limits) => {
    const shortest = Math.min(...limits.map((l) => l.windowMs));
    return fc.record({ limits: fc.constant(limits), ops: fc.array(opArb(shortest), { maxLength: maxOps }) });
  });
}

/** Where scenarios start: the start of a minute, far from 0 like a real epoch clock. */
export const SCENARIO_START_MS = 1_700_000_040_000;

/** Runs `scenario` against `limiter` as backend `backendId`; returns every result, in order. */
export async function traceScenario(
  limiter: QuotaLimiter,
  scenario: QuotaScenario,
  backendId: string,
): Promise<unknown[]> {
  const key = { service: "prop", backendId };
  const open: Reservation[] = [];
  const trace: unknown[] = [];
  let now = SCENARIO_START_MS;
  const { limits } = scenario;
  for (const op of scenario.ops) {
    if (op.kind === "advance") now += op.ms;
    else if (op.kind === "reserve") {
      const mode = op.shadow ? "shadow" : "enforce";
      const options = { mode, upstreamLagMs: op.lagMs, margin: op.margin } as const;
      const r = await limiter.reserve(key, limits, op.cost, now, options);
      if (r.ok) open.push(r.reservation);
      trace.push(r);
    } else if (op.kind === "check") trace.push(await limiter.check(key, limits, op.cost, now));
    else if (op.kind === "trueUp" || op.kind === "release") {
      const reservation = open.splice(op.pick % Math.max(1, open.length), 1)[0];
      if (!reservation) continue;
      trace.push(
        op.kind === "trueUp"
          ? await limiter.trueUp(reservation, op.usage, now, op.held)
          : await limiter.release(reservation, now),
      );
    } else if (op.kind === "mark") await limiter.markExhausted(key, now + op.inMs, now);
    else trace.push(await limiter.correct(key, limits, op.remaining, now));
    trace.push(await limiter.remaining(key, limits, now));
  }
  return trace;
}

function expectStatusLikeModel(
  status: {
    markedForMs: number;
    dimensions: Record<string, { usage: number; remaining: number; limit: number }>;
  },
  model: ReferenceQuota,
  now: number,
): void {
  expect(status.markedForMs).toBe(model.markedForMs(now));
  const usage = Object.fromEntries(Object.entries(status.dimensions).map(([d, s]) => [d, s.usage]));
  expect(usage).toEqual(model.usage(now));
  for (const d of Object.values(status.dimensions)) expect(d.remaining).toBe(Math.max(0, d.limit - d.usage));
}

function expectDenial(actual: QuotaDenial | undefined, expected: ModelDenial | undefined): void {
  const seen = actual && {
    reason: actual.reason,
    dimension: actual.dimension,
    retryAfterMs: actual.retryAfterMs,
  };
  expect(seen).toEqual(expected);
}

function expectReport(
  r: { ignored: readonly string[]; status: QuotaStatus },
  cost: Record<string, number>,
  model: ReferenceQuota,
  now: number,
  limits: readonly QuotaLimitSpec[],
): void {
  expect(r.ignored).toEqual(Object.keys(cost).filter((d) => !limits.some((l) => l.dimension === d)));
  expectStatusLikeModel(r.status, model, now);
}

/** Runs `scenario` against `limiter` and the reference model side by side, checking every step. */
export async function checkAgainstModel(
  limiter: QuotaLimiter,
  scenario: QuotaScenario,
  backendId: string,
): Promise<void> {
  const key = { service: "model", backendId };
  const model = new ReferenceQuota(scenario.limits);
  const open: { reservation: Reservation; id: number }[] = [];
  let now = SCENARIO_START_MS;
  const { limits } = scenario;
  for (const op of scenario.ops) {
    if (op.kind === "advance") now += op.ms;
    else if (op.kind === "reserve") {
      const expected = model.reserve(op.cost, now, op.shadow, op.lagMs, op.margin);
      const mode = op.shadow ? "shadow" : "enforce";
      const options = { mode, upstreamLagMs: op.lagMs, margin: op.margin } as const;
      const r = await limiter.reserve(key, limits, op.cost, now, options);
      expectDenial(r.ok ? r.shadowDenial : r, expected.denial);
      if (r.ok) open.push({ reservation: r.reservation, id: expected.id! });
      expectReport(r, op.cost, model, now, limits);
    } else if (op.kind === "check") {
      const r = await limiter.check(key, limits, op.cost, now);
      expectDenial(r.ok ? undefined : r, model.denial(model.amountsOf(op.cost), now));
      expectReport(r, op.cost, model, now, limits);
    } else if (op.kind === "trueUp" || op.kind === "release") {
      const taken = open.splice(op.pick % Math.max(1, open.length), 1)[0];
      if (!taken) continue;
      if (op.kind === "trueUp") {
        model.trueUp(taken.id, op.usage, now, op.held);
        await limiter.trueUp(taken.reservation, op.usage, now, op.held);
      } else {
        model.release(taken.id, now);
        await limiter.release(taken.reservation, now);
      }
    } else if (op.kind === "mark") {
      model.mark(now + op.inMs);
      await limiter.markExhausted(key, now + op.inMs, now);
    } else {
      model.correct(op.remaining, now);
      await limiter.correct(key, limits, op.remaining, now);
    }
    expectStatusLikeModel(await limiter.remaining(key, limits, now), model, now);
  }
}
