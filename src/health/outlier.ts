/**
 * Outlier detection (behaviour.md H4): once per interval, compare the backends of a service
 * with each other and eject the ones that fail much more than their peers, for a time that
 * grows with each ejection. Pure: counters, policy, `now` and a Random in; the next records
 * and the ejections and returns out.
 *
 * Why: consecutive-failure health (H1) only sees a backend on its own; a backend failing 20%
 * of calls while its peers fail 1% never trips a threshold of 3 in a row, but is an outlier.
 *
 * Source: gRPC proposal A50 "xDS Outlier Detection Support"
 * (https://github.com/grpc/proposal/blob/master/A50-xds-outlier-detection.md), as implemented
 * by grpc-js load-balancer-outlier-detection.ts, which follows Envoy's outlier detection:
 * 1. Success rate: among backends with at least `request_volume` calls in the interval (skip
 *    unless at least `minimum_hosts` of them), eject a backend whose success rate is below
 *    mean - stdev * (stdev_factor / 1000) (population stdev), with probability
 *    enforcement_percentage / 100.
 * 2. Failure percentage: same volume and host gates; eject when failures * 100 / calls is
 *    above `threshold`, with probability enforcement_percentage / 100.
 * 3. Before each ejection, stop when ejected * 100 / backends >= max_ejection_percent (A50's
 *    rule: so at least one backend can be ejected whenever max_ejection_percent > 0).
 * 4. An ejection adds 1 to the backend's multiplier and lasts
 *    min(base_ejection_time * multiplier, max(base_ejection_time, max_ejection_time)); each
 *    sweep a backend spends un-ejected takes 1 off its multiplier (down to 0).
 * Fulcrum's additions: a backend already ejected is not a candidate again (counters here come
 * from Reports, which may still arrive for an ejected backend); an ejection never leaves a
 * service without an un-ejected backend (so a single-backend service is never emptied); a
 * rule is switched off by enforcement_percentage 0; a disabled policy returns every backend.
 */
import type { OutlierPolicy } from "../model/specs.js";
import type { Random } from "../shared/random.js";

/** One backend's outlier state: the counters of the interval being swept, and its ejection. */
export interface OutlierRecord {
  readonly successes: number;
  readonly failures: number;
  /** Epoch ms of the current ejection; 0 when not ejected. */
  readonly ejectedAt: number;
  /** A50 ejection time multiplier: +1 per ejection, -1 per sweep spent un-ejected. */
  readonly multiplier: number;
}

/** Which rule ejected a backend. */
export type EjectionRuleName = "success_rate" | "failure_percentage";

/** One ejection decided by a sweep. `until` is epoch ms (the earliest sweep that may return it). */
export interface Ejection {
  readonly backendId: string;
  readonly rule: EjectionRuleName;
  readonly until: number;
}

/** What a sweep decided. */
export interface OutlierSweep {
  /** The next record of every backend given, in the same order: counters zeroed for the next interval. */
  readonly records: ReadonlyMap<string, OutlierRecord>;
  readonly ejected: readonly Ejection[];
  /** Backends whose ejection time is over, in record order. */
  readonly returned: readonly string[];
}

/** A backend that has never been ejected, with empty counters. */
export const FRESH_OUTLIER_RECORD: OutlierRecord = { successes: 0, failures: 0, ejectedAt: 0, multiplier: 0 };

type Timing = Pick<OutlierPolicy, "baseEjectionTimeMs" | "maxEjectionTimeMs">;

interface Working {
  successes: number;
  failures: number;
  ejectedAt: number;
  multiplier: number;
}

/** A50 step 4: how long an ejection with this multiplier lasts, in ms. */
export function ejectionDurationMs(multiplier: number, policy: Timing): number {
  const cap = Math.max(policy.baseEjectionTimeMs, policy.maxEjectionTimeMs);
  return Math.min(policy.baseEjectionTimeMs * multiplier, cap);
}

/** Epoch ms until which `record` stays ejected; 0 when it is not ejected. */
export function ejectedUntil(record: OutlierRecord, policy: Timing): number {
  return record.ejectedAt > 0 ? record.ejectedAt + ejectionDurationMs(record.multiplier, policy) : 0;
}

/**
 * One outlier sweep over every backend of one service, at `now` (call it every
 * `policy.intervalMs`). `records` holds each backend's counters for the interval just ended;
 * store the returned records and count the next interval into them. Pure; never throws.
 */
export function sweepOutliers(
  records: ReadonlyMap<string, OutlierRecord>,
  policy: OutlierPolicy,
  now: number,
  random: Random,
): OutlierSweep {
  const work = new Map<string, Working>([...records].map(([id, r]) => [id, { ...r }]));
  if (!policy.enabled) return disabledSweep(work);
  const ejected: Ejection[] = [];
  const eject = (id: string, entry: Working, rule: EjectionRuleName) => {
    entry.ejectedAt = now;
    entry.multiplier += 1;
    ejected.push({ backendId: id, rule, until: now + ejectionDurationMs(entry.multiplier, policy) });
  };
  runSuccessRate(work, policy, random, eject);
  runFailurePercentage(work, policy, random, eject);
  const returned: string[] = [];
  for (const [id, entry] of work) {
    if (entry.ejectedAt === 0) {
      entry.multiplier = Math.max(0, entry.multiplier - 1);
    } else if (now >= ejectedUntil(entry, policy)) {
      entry.ejectedAt = 0;
      returned.push(id);
    }
  }
  return { records: finish(work), ejected, returned };
}

type Eject = (id: string, entry: Working, rule: EjectionRuleName) => void;

function runSuccessRate(work: Map<string, Working>, policy: OutlierPolicy, random: Random, eject: Eject) {
  const rule = policy.successRate;
  const volume = Math.max(1, rule.requestVolume);
  const rates = [...work.values()].filter((e) => calls(e) >= volume).map(successRate);
  if (rates.length === 0 || rates.length < rule.minimumHosts) return;
  const mean = rates.reduce((a, b) => a + b, 0) / rates.length;
  const variance = rates.reduce((sum, r) => sum + (r - mean) ** 2, 0) / rates.length;
  const cutoff = mean - Math.sqrt(variance) * (rule.stdevFactor / 1000);
  for (const [id, entry] of work) {
    if (!mayEjectMore(work, policy)) return;
    if (entry.ejectedAt > 0 || calls(entry) < volume) continue;
    if (successRate(entry) < cutoff && enforced(random, rule.enforcementPercentage))
      eject(id, entry, "success_rate");
  }
}

function runFailurePercentage(
  work: Map<string, Working>,
  policy: OutlierPolicy,
  random: Random,
  eject: Eject,
) {
  const rule = policy.failurePercentage;
  const volume = Math.max(1, rule.requestVolume);
  const candidates = [...work.values()].filter((e) => calls(e) >= volume).length;
  if (candidates === 0 || candidates < rule.minimumHosts) return;
  for (const [id, entry] of work) {
    if (!mayEjectMore(work, policy)) return;
    if (entry.ejectedAt > 0 || calls(entry) < volume) continue;
    const failurePercent = (entry.failures * 100) / calls(entry);
    if (failurePercent > rule.threshold && enforced(random, rule.enforcementPercentage))
      eject(id, entry, "failure_percentage");
  }
}

/** A50 step 3.i plus the floor: under max_ejection_percent, and one backend always stays in. */
function mayEjectMore(work: Map<string, Working>, policy: OutlierPolicy): boolean {
  let ejectedCount = 0;
  for (const entry of work.values()) if (entry.ejectedAt > 0) ejectedCount++;
  if (ejectedCount + 1 >= work.size) return false;
  return (ejectedCount * 100) / work.size < policy.maxEjectionPercent;
}

function enforced(random: Random, enforcementPercentage: number): boolean {
  return random.next() * 100 < enforcementPercentage;
}

function calls(entry: Working): number {
  return entry.successes + entry.failures;
}

function successRate(entry: Working): number {
  return entry.successes / calls(entry);
}

function disabledSweep(work: Map<string, Working>): OutlierSweep {
  const returned = [...work].filter(([, e]) => e.ejectedAt > 0).map(([id]) => id);
  for (const entry of work.values()) {
    entry.ejectedAt = 0;
    entry.multiplier = 0;
  }
  return { records: finish(work), ejected: [], returned };
}

function finish(work: Map<string, Working>): ReadonlyMap<string, OutlierRecord> {
  return new Map([...work].map(([id, e]) => [id, { ...e, successes: 0, failures: 0 }]));
}
