/**
 * The Lua twin check: the same random scenarios run against the memory limiter (the
 * TypeScript math) and a Redis limiter (the Lua math) must give identical traces:
 * decisions, retry-afters, reservations and statuses, step by step. Statuses read back from
 * Redis come from what the Lua wrote, so any drift between the two shows up here.
 */
import fc from "fast-check";
import { expect } from "vitest";
import type { QuotaLimiter } from "../../src/quota/quota-limiter.js";
import { MemoryQuotaLimiter } from "../../src/store/memory/memory-quota-limiter.js";
import { scenarioArb, traceScenario } from "../unit/quota/quota-scenarios.js";

let seq = 0;

/** Runs `numRuns` random scenarios on `limiter` and on a MemoryQuotaLimiter; asserts equal traces. */
export async function expectSameAsMemory(limiter: QuotaLimiter, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(scenarioArb(30), async (scenario) => {
      const backendId = `twin-${process.pid}-${++seq}`;
      const expected = await traceScenario(new MemoryQuotaLimiter(), scenario, backendId);
      const actual = await traceScenario(limiter, scenario, backendId);
      expect(actual).toEqual(expected);
    }),
    { numRuns },
  );
}

/**
 * The same check with several scenarios at once on different backends, so their operations
 * leave in the same turn of the event loop and share batched script calls (quota-batch.ts).
 */
export async function expectSameAsMemoryBatched(limiter: QuotaLimiter, numRuns: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(scenarioArb(20), { minLength: 2, maxLength: 6 }), async (scenarios) => {
      const ids = scenarios.map(() => `twin-${process.pid}-${++seq}`);
      const memory = new MemoryQuotaLimiter();
      const expected = await Promise.all(scenarios.map((s, i) => traceScenario(memory, s, ids[i]!)));
      const actual = await Promise.all(scenarios.map((s, i) => traceScenario(limiter, s, ids[i]!)));
      expect(actual).toEqual(expected);
    }),
    { numRuns },
  );
}
