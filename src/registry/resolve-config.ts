import type { ServiceConfigInput } from "../model/input.js";
import type { HealthCheckSpec, HealthState, ServiceConfig } from "../model/specs.js";
import type { StrategyParser } from "../model/strategy-parser.js";
import type { Violations } from "../model/violations.js";
import * as D from "./defaults.js";
import { resolveHealthCheck } from "./resolve-health-check.js";

const HEALTH_STATES: readonly HealthState[] = ["healthy", "degraded", "unhealthy", "recovering"];

/** Applies defaults to a requested config and records every out-of-range field (proto paths). */
export function resolveServiceConfig(
  input: ServiceConfigInput | undefined,
  v: Violations,
  parseStrategy: StrategyParser,
): ServiceConfig {
  const c = input ?? {};
  const h = c.health ?? {};
  const o = c.outlier ?? {};
  const sr = o.successRate ?? {};
  const fp = o.failurePercentage ?? {};
  const q = c.quota ?? {};
  const s = c.session ?? {};
  const l = c.load ?? {};
  const allowedStates = h.allowedStates?.length ? h.allowedStates : ["healthy", "degraded", "recovering"];
  for (const state of allowedStates) {
    if (!HEALTH_STATES.includes(state as HealthState))
      v.add("config.health.allowed_states", `unknown state ${state}`);
  }
  const initialState = h.initialState ?? "healthy";
  if (initialState !== "healthy" && initialState !== "recovering") {
    v.add("config.health.initial_state", `must be HEALTHY or RECOVERING, got ${initialState}`);
  }
  const soft = v.intInRange(
    "config.load.backpressure_soft_percent",
    l.backpressureSoftPercent || undefined,
    1,
    1000,
    D.DEFAULT_BACKPRESSURE_SOFT_PERCENT,
  );
  const hard = v.intInRange(
    "config.load.backpressure_hard_percent",
    l.backpressureHardPercent || undefined,
    1,
    1000,
    D.DEFAULT_BACKPRESSURE_HARD_PERCENT,
  );
  if (hard < soft)
    v.add(
      "config.load.backpressure_hard_percent",
      `must be >= backpressure_soft_percent (${soft}), got ${hard}`,
    );
  const thresholds = q.watchThresholds?.length ? q.watchThresholds : D.DEFAULT_QUOTA_WATCH_THRESHOLDS;
  thresholds.forEach((t, i) => {
    v.numberInRange(`config.quota.watch_thresholds[${i}]`, t, 0, 1, 0);
  });
  const check: HealthCheckSpec | undefined = h.check
    ? resolveHealthCheck(h.check, "config.health.check", v)
    : undefined;
  const statefulCommands = (s.statefulCommands ?? []).map((cmd, i) => {
    const upper = (cmd ?? "").trim().toUpperCase();
    if (!upper) v.add(`config.session.stateful_commands[${i}]`, "must not be empty");
    return upper;
  });
  return {
    strategy: parseStrategy(c.strategy, "config.strategy", v),
    health: {
      failureThreshold: v.intInRange(
        "config.health.failure_threshold",
        h.failureThreshold || undefined,
        1,
        1000,
        D.DEFAULT_FAILURE_THRESHOLD,
      ),
      recoverySuccesses: v.intInRange(
        "config.health.recovery_successes",
        h.recoverySuccesses || undefined,
        1,
        1000,
        D.DEFAULT_RECOVERY_SUCCESSES,
      ),
      probeIntervalMs: v.duration(
        "config.health.probe_interval",
        h.probeIntervalMs,
        D.DEFAULT_PROBE_INTERVAL_MS,
      ),
      allowedStates: [...new Set(allowedStates as HealthState[])],
      initialState,
      check,
      deregisterCriticalAfterMs: v.duration(
        "config.health.deregister_critical_after",
        h.deregisterCriticalAfterMs,
        0,
      ),
    },
    outlier: {
      enabled: o.enabled ?? false,
      intervalMs: v.duration("config.outlier.interval", o.intervalMs, D.DEFAULT_OUTLIER_INTERVAL_MS),
      baseEjectionTimeMs: v.duration(
        "config.outlier.base_ejection_time",
        o.baseEjectionTimeMs,
        D.DEFAULT_BASE_EJECTION_TIME_MS,
      ),
      maxEjectionTimeMs: v.duration(
        "config.outlier.max_ejection_time",
        o.maxEjectionTimeMs,
        D.DEFAULT_MAX_EJECTION_TIME_MS,
      ),
      maxEjectionPercent: v.intInRange(
        "config.outlier.max_ejection_percent",
        o.maxEjectionPercent || undefined,
        1,
        100,
        D.DEFAULT_MAX_EJECTION_PERCENT,
      ),
      successRate: {
        stdevFactor: v.intInRange(
          "config.outlier.success_rate.stdev_factor",
          sr.stdevFactor || undefined,
          1,
          100_000,
          D.DEFAULT_SUCCESS_RATE_STDEV_FACTOR,
        ),
        enforcementPercentage: v.intInRange(
          "config.outlier.success_rate.enforcement_percentage",
          sr.enforcementPercentage || undefined,
          1,
          100,
          D.DEFAULT_ENFORCEMENT_PERCENTAGE,
        ),
        minimumHosts: v.intInRange(
          "config.outlier.success_rate.minimum_hosts",
          sr.minimumHosts || undefined,
          1,
          100_000,
          D.DEFAULT_SUCCESS_RATE_MINIMUM_HOSTS,
        ),
        requestVolume: v.intInRange(
          "config.outlier.success_rate.request_volume",
          sr.requestVolume || undefined,
          1,
          10_000_000,
          D.DEFAULT_EJECTION_REQUEST_VOLUME,
        ),
      },
      failurePercentage: {
        threshold: v.intInRange(
          "config.outlier.failure_percentage.threshold",
          fp.threshold || undefined,
          1,
          100,
          D.DEFAULT_FAILURE_PERCENTAGE_THRESHOLD,
        ),
        enforcementPercentage: v.intInRange(
          "config.outlier.failure_percentage.enforcement_percentage",
          fp.enforcementPercentage || undefined,
          1,
          100,
          D.DEFAULT_ENFORCEMENT_PERCENTAGE,
        ),
        minimumHosts: v.intInRange(
          "config.outlier.failure_percentage.minimum_hosts",
          fp.minimumHosts || undefined,
          1,
          100_000,
          D.DEFAULT_FAILURE_PERCENTAGE_MINIMUM_HOSTS,
        ),
        requestVolume: v.intInRange(
          "config.outlier.failure_percentage.request_volume",
          fp.requestVolume || undefined,
          1,
          10_000_000,
          D.DEFAULT_FAILURE_PERCENTAGE_REQUEST_VOLUME,
        ),
      },
    },
    quota: {
      filterThreshold: v.numberInRange("config.quota.filter_threshold", q.filterThreshold, 0, 1, 0),
      shadow: q.shadow ?? false,
      watchThresholds: [...thresholds] as number[],
    },
    session: {
      routingMode: s.routingMode ?? "hybrid",
      statefulCommands,
      modeReaderStateful: s.modeReaderStateful ?? false,
      idleTtlMs: v.duration("config.session.idle_ttl", s.idleTtlMs, D.DEFAULT_SESSION_IDLE_TTL_MS),
      allowRepin: s.allowRepin ?? false,
      negativeTtlMs: v.duration("config.session.negative_ttl", s.negativeTtlMs, D.DEFAULT_NEGATIVE_TTL_MS),
    },
    load: {
      panicThresholdPercent: v.intInRange(
        "config.load.panic_threshold_percent",
        l.panicThresholdPercent || undefined,
        0,
        100,
        D.DEFAULT_PANIC_THRESHOLD_PERCENT,
      ),
      failOpen: l.failOpen ?? false,
      slowStart: l.slowStart?.windowMs
        ? {
            windowMs: v.duration("config.load.slow_start.window", l.slowStart.windowMs, 0),
            aggression: v.numberInRange(
              "config.load.slow_start.aggression",
              l.slowStart.aggression || undefined,
              0.01,
              100,
              D.DEFAULT_SLOW_START_AGGRESSION,
            ),
            minWeightPercent: v.intInRange(
              "config.load.slow_start.min_weight_percent",
              l.slowStart.minWeightPercent || undefined,
              1,
              100,
              D.DEFAULT_SLOW_START_MIN_WEIGHT_PERCENT,
            ),
          }
        : undefined,
      backpressureSoftPercent: soft,
      backpressureHardPercent: hard,
      zoneMinHealthyPercent: v.intInRange(
        "config.load.zone_min_healthy_percent",
        l.zoneMinHealthyPercent || undefined,
        1,
        100,
        D.DEFAULT_ZONE_MIN_HEALTHY_PERCENT,
      ),
      ticketLeaseMs: v.duration("config.load.ticket_lease", l.ticketLeaseMs, D.DEFAULT_TICKET_LEASE_MS),
    },
  };
}
