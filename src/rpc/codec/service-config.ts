/**
 * ServiceConfig <-> the core's config: decoded as the registry's input (unset fields stay
 * undefined; the registry resolves defaults and ranges), encoded from the resolved config as
 * GetService and Watch show it.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as T from "../../../gen/fulcrum/v1/types_pb.js";
import { DEFAULT_STRATEGY } from "../../balancer/strategies/parse-strategy.js";
import type { ServiceConfigInput } from "../../model/input.js";
import type * as M from "../../model/specs.js";
import type { FieldViolation } from "../../shared/errors.js";
import { decodeHealthCheck, encodeHealthCheck } from "./health-check.js";
import { enumName, enumValue, fromMs, toMs } from "./primitives.js";
import { decodeStrategySettings, encodeStrategySettings, strategyOfSettings } from "./strategy-settings.js";

function decodeStrategy(
  config: T.StrategyConfig,
  path: string,
  bad: FieldViolation[],
): ServiceConfigInput["strategy"] {
  const name = enumName(T.StrategySchema, config.strategy, `${path}.strategy`, bad);
  const settingsOf = strategyOfSettings(config.settings);
  if (settingsOf !== undefined && settingsOf !== (name ?? DEFAULT_STRATEGY)) {
    bad.push({
      field: `${path}.${settingsOf}`,
      description: `settings for ${settingsOf} given with strategy ${name ?? DEFAULT_STRATEGY}`,
    });
  }
  return {
    name,
    settings: decodeStrategySettings(config.settings, `${path}.${settingsOf}`, bad),
    fallback: config.fallback ? decodeStrategy(config.fallback, `${path}.fallback`, bad) : undefined,
  };
}

function decodeHealthState(value: T.HealthState, field: string, bad: FieldViolation[]) {
  return enumName(T.HealthStateSchema, value, field, bad) as M.HealthState | undefined;
}

function decodeHealthPolicy(
  h: T.HealthConfig,
  p: string,
  bad: FieldViolation[],
): ServiceConfigInput["health"] {
  return {
    failureThreshold: h.failureThreshold,
    recoverySuccesses: h.recoverySuccesses,
    probeIntervalMs: toMs(h.probeInterval, `${p}.probe_interval`, bad),
    allowedStates: h.allowedStates.map(
      (s, i) => decodeHealthState(s, `${p}.allowed_states[${i}]`, bad) ?? "unhealthy",
    ),
    initialState: decodeHealthState(h.initialState, `${p}.initial_state`, bad),
    check: h.check && decodeHealthCheck(h.check, `${p}.check`, bad),
    deregisterCriticalAfterMs: toMs(h.deregisterCriticalAfter, `${p}.deregister_critical_after`, bad),
  };
}

function decodeLoad(l: T.LoadConfig, p: string, bad: FieldViolation[]): ServiceConfigInput["load"] {
  return {
    panicThresholdPercent: l.panicThresholdPercent,
    failOpen: l.failOpen,
    slowStart: l.slowStart && {
      windowMs: toMs(l.slowStart.window, `${p}.slow_start.window`, bad),
      aggression: l.slowStart.aggression,
      minWeightPercent: l.slowStart.minWeightPercent,
    },
    backpressureSoftPercent: l.backpressureSoftPercent,
    backpressureHardPercent: l.backpressureHardPercent,
    zoneMinHealthyPercent: l.zoneMinHealthyPercent,
    ticketLeaseMs: toMs(l.ticketLease, `${p}.ticket_lease`, bad),
  };
}

/** A ServiceConfig as the registry's input; violations name the field under `config.`. */
export function decodeConfig(c: T.ServiceConfig, bad: FieldViolation[]): ServiceConfigInput {
  const p = "config";
  return {
    strategy: c.strategy ? decodeStrategy(c.strategy, `${p}.strategy`, bad) : undefined,
    health: c.health && decodeHealthPolicy(c.health, `${p}.health`, bad),
    outlier: c.outlier && {
      enabled: c.outlier.enabled,
      intervalMs: toMs(c.outlier.interval, `${p}.outlier.interval`, bad),
      baseEjectionTimeMs: toMs(c.outlier.baseEjectionTime, `${p}.outlier.base_ejection_time`, bad),
      maxEjectionTimeMs: toMs(c.outlier.maxEjectionTime, `${p}.outlier.max_ejection_time`, bad),
      maxEjectionPercent: c.outlier.maxEjectionPercent,
      successRate: c.outlier.successRate && { ...c.outlier.successRate },
      failurePercentage: c.outlier.failurePercentage && { ...c.outlier.failurePercentage },
    },
    quota: c.quota && {
      filterThreshold: c.quota.filterThreshold,
      shadow: c.quota.shadow,
      watchThresholds: c.quota.watchThresholds,
    },
    session: c.session && {
      routingMode: enumName(T.RoutingModeSchema, c.session.routingMode, `${p}.session.routing_mode`, bad) as
        | M.RoutingMode
        | undefined,
      statefulCommands: c.session.statefulCommands,
      modeReaderStateful: c.session.modeReaderStateful,
      idleTtlMs: toMs(c.session.idleTtl, `${p}.session.idle_ttl`, bad),
      allowRepin: c.session.allowRepin,
      negativeTtlMs: toMs(c.session.negativeTtl, `${p}.session.negative_ttl`, bad),
    },
    load: c.load && decodeLoad(c.load, `${p}.load`, bad),
  };
}

function encodeStrategy(spec: M.StrategySpec): MessageInitShape<typeof T.StrategyConfigSchema> {
  const settings = encodeStrategySettings(spec.name, spec.settings);
  return {
    strategy: enumValue(T.Strategy, spec.name),
    ...(settings && { settings }),
    fallback: spec.fallback && encodeStrategy(spec.fallback),
  };
}

/** The resolved config, defaults included, as GetService and Watch show it. */
export function encodeConfig(c: M.ServiceConfig): T.ServiceConfig {
  return create(T.ServiceConfigSchema, {
    strategy: encodeStrategy(c.strategy),
    health: {
      failureThreshold: c.health.failureThreshold,
      recoverySuccesses: c.health.recoverySuccesses,
      probeInterval: fromMs(c.health.probeIntervalMs),
      allowedStates: c.health.allowedStates.map((s) => enumValue(T.HealthState, s)),
      initialState: enumValue(T.HealthState, c.health.initialState),
      check: c.health.check && encodeHealthCheck(c.health.check),
      deregisterCriticalAfter: c.health.deregisterCriticalAfterMs
        ? fromMs(c.health.deregisterCriticalAfterMs)
        : undefined,
    },
    outlier: {
      ...c.outlier,
      interval: fromMs(c.outlier.intervalMs),
      baseEjectionTime: fromMs(c.outlier.baseEjectionTimeMs),
      maxEjectionTime: fromMs(c.outlier.maxEjectionTimeMs),
    },
    quota: { ...c.quota, watchThresholds: [...c.quota.watchThresholds] },
    session: {
      routingMode: enumValue(T.RoutingMode, c.session.routingMode),
      statefulCommands: [...c.session.statefulCommands],
      modeReaderStateful: c.session.modeReaderStateful,
      idleTtl: fromMs(c.session.idleTtlMs),
      allowRepin: c.session.allowRepin,
      negativeTtl: fromMs(c.session.negativeTtlMs),
    },
    load: {
      panicThresholdPercent: c.load.panicThresholdPercent,
      failOpen: c.load.failOpen,
      slowStart: c.load.slowStart && {
        window: fromMs(c.load.slowStart.windowMs),
        aggression: c.load.slowStart.aggression,
        minWeightPercent: c.load.slowStart.minWeightPercent,
      },
      backpressureSoftPercent: c.load.backpressureSoftPercent,
      backpressureHardPercent: c.load.backpressureHardPercent,
      zoneMinHealthyPercent: c.load.zoneMinHealthyPercent,
      ticketLease: fromMs(c.load.ticketLeaseMs),
    },
  });
}
