/**
 * The consecutive-count health state machine of one backend (behaviour.md H1, H2, H3, H6,
 * and the critical time of R5), as pure functions: a record and a signal in, the next record
 * and the transition (if any) out. Nothing here reads a clock or mutates its input; callers
 * pass `now` and store the returned record. Passive outcomes (Report) and active probes (H5)
 * feed the same machine.
 *
 * Why a state machine and not a flag: a single bad call should not take a backend out, and a
 * single good call should not put a flapping one back. Two thresholds give hysteresis.
 *
 * Rules (H1), with `threshold` = failureThreshold and `recovery` = recoverySuccesses:
 * - Healthy: `ceil(threshold / 2)` consecutive failures give Degraded, `threshold` give
 *   Unhealthy (so threshold 1 skips Degraded).
 * - Degraded: one success gives Healthy; reaching `threshold` failures gives Unhealthy.
 * - Unhealthy: a success gives Recovering; every failure restarts the probe clock (H2).
 * - Recovering: `recovery` consecutive successes give Healthy, counted from the first
 *   success after Unhealthy (so recovery 1 goes straight from Unhealthy to Healthy, as
 *   threshold 1 skips Degraded; a new backend on probation starts Recovering at 0); one
 *   failure gives Unhealthy and restarts the probe clock.
 * Invariant: after any signal at most one of the two counters is non-zero.
 *
 * Sources: Envoy active health checking (unhealthy_threshold / healthy_threshold), Consul
 * check thresholds (failures_before_critical / success_before_passing).
 */
import type { CallResult } from "../balancer/outcome.js";
import type { HealthPolicy, HealthState } from "../model/specs.js";

/** What one call or one probe says about a backend's health. */
export type HealthSignal = "success" | "failure";

/** The health fields of one backend; BackendState carries these under the same names. */
export interface HealthRecord {
  readonly health: HealthState;
  readonly consecutiveFailures: number;
  readonly consecutiveSuccesses: number;
  /**
   * Epoch ms the probe clock last started (H2): when the backend went Unhealthy, got its probe
   * selection, or failed again while Unhealthy. 0 when it never started.
   */
  readonly lastProbeAt: number;
  /** True while an Unhealthy backend's one probe selection awaits its outcome (H2). */
  readonly probeInFlight: boolean;
  /** Epoch ms the backend last went Unhealthy (R5 deregister-after-critical); 0 when not Unhealthy. */
  readonly unhealthySince: number;
}

/** A change of state, as Watch and metrics show it (`reason` is for people). */
export interface HealthTransition {
  readonly previous: HealthState;
  readonly current: HealthState;
  readonly reason: string;
}

/** The result of one step: the next record, and the transition when the state changed. */
export interface HealthStep {
  readonly record: HealthRecord;
  readonly transition: HealthTransition | undefined;
}

/** The part of a HealthPolicy the counters need. */
export type ThresholdPolicy = Pick<HealthPolicy, "failureThreshold" | "recoverySuccesses">;

/** The part of a HealthPolicy the probe selection (H2) needs. */
export type ProbeSelectionPolicy = Pick<HealthPolicy, "probeIntervalMs">;

/** The reason recorded by a SetHealth override (H6). */
export const SET_HEALTH_REASON = "set_health";

/** A fresh record in `initial` state (R4: Healthy, or Recovering for probation). */
export function initialHealthRecord(initial: HealthState, now: number): HealthRecord {
  return {
    health: initial,
    consecutiveFailures: 0,
    consecutiveSuccesses: 0,
    lastProbeAt: initial === "unhealthy" ? now : 0,
    probeInFlight: false,
    unhealthySince: initial === "unhealthy" ? now : 0,
  };
}

/**
 * The health signal of a call result (H3): success is a success; failure, timeout and
 * rejected are failures; rate_limited (quota's business) and not_found (the resource's, not
 * the backend's) are undefined: they must not touch health at all.
 */
export function signalOfResult(result: CallResult): HealthSignal | undefined {
  switch (result) {
    case "success":
      return "success";
    case "failure":
    case "timeout":
    case "rejected":
      return "failure";
    case "rate_limited":
    case "not_found":
      return undefined;
  }
}

/** Consecutive failures that make a Healthy backend Degraded: ceil(threshold / 2) (H1). */
export function degradedAfter(failureThreshold: number): number {
  return Math.ceil(Math.max(1, failureThreshold) / 2);
}

/**
 * One step of the H1 machine: `record` after `signal` at `now`. Pure; never throws. The
 * transition is set exactly when the returned state differs from `record.health`.
 */
export function applySignal(
  record: HealthRecord,
  signal: HealthSignal,
  policy: ThresholdPolicy,
  now: number,
): HealthStep {
  return signal === "success" ? onSuccess(record, policy) : onFailure(record, policy, now);
}

/**
 * Applies a Report's call result (H1 + H3): rate_limited and not_found return `record`
 * itself, unchanged, with no transition; every other result is `applySignal`.
 */
export function applyCallResult(
  record: HealthRecord,
  result: CallResult,
  policy: ThresholdPolicy,
  now: number,
): HealthStep {
  const signal = signalOfResult(result);
  if (signal === undefined) return { record, transition: undefined };
  return applySignal(record, signal, policy, now);
}

function onFailure(record: HealthRecord, policy: ThresholdPolicy, now: number): HealthStep {
  const failures = record.consecutiveFailures + 1;
  const counted: HealthRecord = { ...record, consecutiveFailures: failures, consecutiveSuccesses: 0 };
  switch (record.health) {
    case "unhealthy":
      return unchanged({ ...counted, lastProbeAt: now, probeInFlight: false });
    case "recovering":
      return moveTo(enterUnhealthy(counted, now), record.health, "failure while recovering");
    case "healthy":
    case "degraded": {
      const threshold = Math.max(1, policy.failureThreshold);
      if (failures >= threshold) {
        const reason = `${failures} consecutive failures (threshold ${threshold})`;
        return moveTo(enterUnhealthy(counted, now), record.health, reason);
      }
      const degradeAt = degradedAfter(threshold);
      if (record.health === "healthy" && failures >= degradeAt) {
        const reason = `${failures} consecutive failures (degraded at ${degradeAt})`;
        return moveTo({ ...counted, health: "degraded" }, record.health, reason);
      }
      return unchanged(counted);
    }
  }
}

function onSuccess(record: HealthRecord, policy: ThresholdPolicy): HealthStep {
  const successes = record.consecutiveSuccesses + 1;
  const counted: HealthRecord = {
    ...record,
    consecutiveFailures: 0,
    consecutiveSuccesses: successes,
    probeInFlight: false,
    unhealthySince: 0,
  };
  switch (record.health) {
    case "healthy":
      return unchanged(counted);
    case "degraded":
      return moveTo({ ...counted, health: "healthy" }, record.health, "success while degraded");
    case "unhealthy":
    case "recovering": {
      const needed = Math.max(1, policy.recoverySuccesses);
      if (successes >= needed) {
        const reason = `${successes} consecutive successes (recovery ${needed})`;
        return moveTo({ ...counted, health: "healthy" }, record.health, reason);
      }
      if (record.health === "unhealthy")
        return moveTo({ ...counted, health: "recovering" }, record.health, "success while unhealthy");
      return unchanged(counted);
    }
  }
}

/**
 * H2: whether an Unhealthy backend may get its one probe selection at `now`: it is
 * Unhealthy, no probe selection is outstanding, and `probeIntervalMs` has passed since the
 * probe clock last started. False for every other state (they are filtered by H7 instead).
 */
export function mayProbeSelect(record: HealthRecord, policy: ProbeSelectionPolicy, now: number): boolean {
  return record.health === "unhealthy" && !record.probeInFlight && now >= nextProbeAt(record, policy);
}

/** H2: epoch ms from which an Unhealthy backend may get a probe selection (once none is out). */
export function nextProbeAt(record: HealthRecord, policy: ProbeSelectionPolicy): number {
  return record.lastProbeAt + policy.probeIntervalMs;
}

/**
 * H2: the record after Select picked the backend as its probe: one probe at a time, and the
 * probe clock restarts. The probe's Report then goes through `applyCallResult` as usual.
 */
export function markProbeSelected(record: HealthRecord, now: number): HealthRecord {
  return { ...record, probeInFlight: true, lastProbeAt: now };
}

/**
 * H2: frees the probe slot when the probe selection ends without a health signal (its ticket
 * expired, or its Report was rate_limited or not_found). The probe clock keeps running from
 * the selection, so the next probe comes one interval after the last.
 */
export function releaseProbe(record: HealthRecord): HealthRecord {
  return record.probeInFlight ? { ...record, probeInFlight: false } : record;
}

/**
 * H6 SetHealth override. `healthy` resets both counters and any probe slot; `unhealthy` takes
 * effect at once (whatever the counters say) and starts the probe clock. A transition is
 * returned only when the state changes; the counters reset even when it does not.
 */
export function overrideHealth(
  record: HealthRecord,
  target: "healthy" | "unhealthy",
  now: number,
  reason: string = SET_HEALTH_REASON,
): HealthStep {
  const next: HealthRecord =
    target === "healthy"
      ? {
          ...record,
          health: "healthy",
          consecutiveFailures: 0,
          consecutiveSuccesses: 0,
          probeInFlight: false,
          unhealthySince: 0,
        }
      : enterUnhealthy({ ...record, consecutiveSuccesses: 0 }, now);
  return record.health === target ? unchanged(next) : moveTo(next, record.health, reason);
}

/**
 * R5 deregister-after-critical: whether a backend has stayed Unhealthy for at least
 * `deregisterCriticalAfterMs` (0: never). Recovering is not Unhealthy: a backend that passes a
 * check and fails again starts its critical time over.
 */
export function deregisterDue(
  record: HealthRecord,
  policy: Pick<HealthPolicy, "deregisterCriticalAfterMs">,
  now: number,
): boolean {
  return (
    policy.deregisterCriticalAfterMs > 0 &&
    record.health === "unhealthy" &&
    now - record.unhealthySince >= policy.deregisterCriticalAfterMs
  );
}

function enterUnhealthy(record: HealthRecord, now: number): HealthRecord {
  const since = record.health === "unhealthy" ? record.unhealthySince : now;
  return { ...record, health: "unhealthy", lastProbeAt: now, probeInFlight: false, unhealthySince: since };
}

function unchanged(record: HealthRecord): HealthStep {
  return { record, transition: undefined };
}

function moveTo(record: HealthRecord, previous: HealthState, reason: string): HealthStep {
  return { record, transition: { previous, current: record.health, reason } };
}
