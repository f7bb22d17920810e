/** The `health` section of a service config (H1-H6): thresholds, probe interval, allowed and initial states. */
import type { PolicyParser } from "../model/policy-parser.js";
import type { HealthState } from "../model/specs.js";
import { DEFAULT_PROBE_INTERVAL_MS } from "../registry/defaults.js";
import { resolveHealthCheck } from "../registry/resolve-health-check.js";

/** Failed probes or outcomes in a row that take a backend down (H2). */
export const DEFAULT_FAILURE_THRESHOLD = 3;
/** Successes in a row that bring a recovering backend back (H3). */
export const DEFAULT_RECOVERY_SUCCESSES = 2;
/** States a Select may pick when the config names none. */
export const DEFAULT_ALLOWED_STATES: readonly HealthState[] = ["healthy", "degraded", "recovering"];
/** The state a new backend starts in. */
export const DEFAULT_INITIAL_STATE: HealthState = "healthy";
/** Largest failure threshold and recovery count a config may set. */
const MAX_THRESHOLD = 1000;

const HEALTH_STATES: readonly HealthState[] = ["healthy", "degraded", "unhealthy", "recovering"];

/** Parses `config.health`, recording every bad field under `path`. */
export const parseHealthPolicy: PolicyParser<"health"> = (input, path, v) => {
  const h = input ?? {};
  const allowedStates = h.allowedStates?.length ? h.allowedStates : DEFAULT_ALLOWED_STATES;
  for (const state of allowedStates) {
    if (!HEALTH_STATES.includes(state as HealthState))
      v.add(`${path}.allowed_states`, `unknown state ${state}`);
  }
  const initialState = h.initialState ?? DEFAULT_INITIAL_STATE;
  if (initialState !== "healthy" && initialState !== "recovering") {
    v.add(`${path}.initial_state`, `must be HEALTHY or RECOVERING, got ${initialState}`);
  }
  const threshold = (field: string, value: number | undefined, fallback: number) =>
    v.intInRange(`${path}.${field}`, value || undefined, 1, MAX_THRESHOLD, fallback);
  return {
    failureThreshold: threshold("failure_threshold", h.failureThreshold, DEFAULT_FAILURE_THRESHOLD),
    recoverySuccesses: threshold("recovery_successes", h.recoverySuccesses, DEFAULT_RECOVERY_SUCCESSES),
    probeIntervalMs: v.duration(`${path}.probe_interval`, h.probeIntervalMs, DEFAULT_PROBE_INTERVAL_MS),
    allowedStates: [...new Set(allowedStates as HealthState[])],
    initialState,
    check: h.check ? resolveHealthCheck(h.check, `${path}.check`, v) : undefined,
    deregisterCriticalAfterMs: v.duration(
      `${path}.deregister_critical_after`,
      h.deregisterCriticalAfterMs,
      0,
    ),
  };
};
