/**
 * A quota status aged to a later time with no traffic since it was taken: what the quota
 * view reads between limiter calls, so a backend the filter skips is not stuck at its last
 * figure until something else reads it again.
 */
import type { DimensionStatus, QuotaStatus, Recovery } from "./quota-status.js";

/**
 * `status` as it stands at `nowMs` with no other traffic since it was taken: the mark runs
 * down, window buckets leave in their steps, token buckets drain.
 */
export function agedStatus(status: QuotaStatus, nowMs: number): QuotaStatus {
  const elapsed = nowMs - status.atMs;
  const dimensions: Record<string, DimensionStatus> = {};
  for (const name in status.dimensions) {
    const d = status.dimensions[name]!;
    let usage: number;
    let recovery: Recovery;
    if (d.recovery.kind === "steps") {
      const left = d.recovery.steps.filter((step) => step.inMs > elapsed);
      let gone = 0;
      for (const step of d.recovery.steps) if (step.inMs <= elapsed) gone += step.units;
      usage = left.length === 0 ? 0 : Math.max(0, d.usage - gone);
      recovery = {
        kind: "steps",
        steps: left.map((step) => ({ inMs: step.inMs - elapsed, units: step.units })),
      };
    } else {
      const { scaledLevel, windowMs, startsInMs } = d.recovery;
      const level = Math.max(0, scaledLevel - Math.max(0, elapsed - startsInMs) * d.limit);
      usage = level / windowMs;
      recovery = {
        kind: "drain",
        scaledLevel: level,
        windowMs,
        startsInMs: Math.max(0, startsInMs - elapsed),
      };
    }
    dimensions[name] = { limit: d.limit, usage, remaining: Math.max(0, d.limit - usage), recovery };
  }
  return { atMs: nowMs, markedForMs: Math.max(0, status.markedForMs - elapsed), dimensions };
}

/**
 * The status a RATE_LIMITED mark until `untilMs` leaves at `nowMs` (Q4): `known` aged to
 * then with the mark, which a later mark never shortens; with nothing known, only the mark.
 */
export function markedStatus(known: QuotaStatus | undefined, untilMs: number, nowMs: number): QuotaStatus {
  const base = known
    ? agedStatus(known, Math.max(known.atMs, nowMs))
    : { atMs: nowMs, markedForMs: 0, dimensions: {} };
  return { ...base, markedForMs: Math.max(base.markedForMs, untilMs - base.atMs) };
}
