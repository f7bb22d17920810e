/**
 * How many cases each fuzz property runs: FUZZ_RUNS (set by `npm run test:fuzz -- --runs N`),
 * else the short CI default. FUZZ_SEED replays a failing run; fast-check prints the seed and
 * the shrunk counterexample of every failure.
 */
import type { Parameters } from "fast-check";

/** fast-check parameters for a property whose CI share is `ciRuns` cases. */
export function fuzzParameters(ciRuns: number): Parameters<unknown> {
  const runs = Number(process.env.FUZZ_RUNS) || ciRuns;
  const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined;
  return { numRuns: runs, ...(seed !== undefined && { seed }), endOnFailure: true };
}

/** Test timeout scaled to the run count: about 20 ms a case, never under 60 s. */
export function fuzzTimeoutMs(ciRuns: number): number {
  const runs = Number(process.env.FUZZ_RUNS) || ciRuns;
  return Math.max(60_000, runs * 20);
}
