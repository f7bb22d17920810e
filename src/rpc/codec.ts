/**
 * Proto <-> domain, both ways. The only file that touches gen/ (architecture.md rule 3): the
 * service implementations see the generated types only through the aliases exported here.
 * Protocol-level checks (enum values, durations, oneof cases) happen here; range checks and
 * defaults belong to the core.
 */
import { create, type DescMessage, type Message, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { anyPack, type Duration, DurationSchema } from "@bufbuild/protobuf/wkt";
import * as B from "../../gen/fulcrum/v1/balancer_pb.js";
import * as R from "../../gen/fulcrum/v1/registry_pb.js";
import * as T from "../../gen/fulcrum/v1/types_pb.js";
import { BadRequestSchema, ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import { type Status, StatusSchema } from "../../gen/google/rpc/status_pb.js";
import type { Explanation } from "../balancer/explanation.js";
import type { CallResult as DomainCallResult, Outcome } from "../balancer/outcome.js";
import type { SelectQuery } from "../balancer/select-query.js";
import type { BackendInput, RegisterInput, ServiceConfigInput } from "../registry/input.js";
import type * as M from "../registry/model.js";
import type { ServiceSummary as DomainServiceSummary } from "../registry/service-registry.js";
import type {
  BackendStatus as DomainBackendStatus,
  ServiceStatus as DomainServiceStatus,
} from "../registry/status.js";
import type { SelectExtras } from "../sessions/session-router.js";
import { type FieldViolation, type FulcrumError, invalidArgument } from "../shared/errors.js";
import type { WatchMessage } from "../watch/watch-message.js";

export { BalancerService } from "../../gen/fulcrum/v1/balancer_pb.js";
export { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";
export type { Status } from "../../gen/google/rpc/status_pb.js";
export { StatusSchema } from "../../gen/google/rpc/status_pb.js";

const ERROR_DOMAIN = "fulcrum.v1";

// ---- primitives -------------------------------------------------------------------------

function toMs(duration: Duration | undefined, field: string, bad: FieldViolation[]): number | undefined {
  if (!duration) return undefined;
  const ms = Number(duration.seconds) * 1000 + duration.nanos / 1e6;
  if (ms < 0 || !Number.isFinite(ms)) bad.push({ field, description: `must not be negative, got ${ms} ms` });
  return ms;
}

function fromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

/** Lower-case enum name: Strategy.ROUND_ROBIN -> "round_robin"; UNSPECIFIED -> undefined. */
function enumName(
  e: Record<number, string>,
  value: number,
  field: string,
  bad: FieldViolation[],
): string | undefined {
  const name = e[value];
  if (name === undefined) {
    bad.push({ field, description: `unknown enum value ${value}` });
    return undefined;
  }
  return name === "UNSPECIFIED" ? undefined : name.toLowerCase();
}

function enumValue<E extends Record<string, string | number>>(e: E, name: string): E[keyof E] {
  return e[name.toUpperCase() as keyof E];
}

function camelToSnake(key: string): string {
  return key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function snakeToCamel(key: string): string {
  return key.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function throwIfBad(bad: FieldViolation[]): void {
  if (bad.length > 0) throw invalidArgument(bad);
}

// ---- registration -----------------------------------------------------------------------

function decodeHealthCheck(
  check: T.HealthCheck,
  path: string,
  bad: FieldViolation[],
): BackendInput["healthCheck"] {
  const timing = {
    intervalMs: toMs(check.interval, `${path}.interval`, bad),
    timeoutMs: toMs(check.timeout, `${path}.timeout`, bad),
    port: check.port,
  };
  switch (check.probe.case) {
    case "tcp":
      return { probe: { kind: "tcp" }, ...timing };
    case "grpc":
      return { probe: { kind: "grpc", service: check.probe.value.service }, ...timing };
    case "http": {
      const h = check.probe.value;
      return {
        probe: {
          kind: "http",
          path: h.path,
          expectedStatusMin: h.expectedStatusMin,
          expectedStatusMax: h.expectedStatusMax,
          host: h.host,
        },
        ...timing,
      };
    }
    default:
      return { ...timing };
  }
}

function decodeStrategy(
  config: T.StrategyConfig,
  path: string,
  bad: FieldViolation[],
): ServiceConfigInput["strategy"] {
  const name = enumName(T.Strategy, config.strategy, `${path}.strategy`, bad) ?? "round_robin";
  const settings: Record<string, number | string | boolean> = {};
  if (config.settings.case) {
    if (config.settings.case !== snakeToCamel(name)) {
      bad.push({
        field: `${path}.${camelToSnake(config.settings.case)}`,
        description: `settings for ${camelToSnake(config.settings.case)} given with strategy ${name}`,
      });
    }
    const oneof = `${path}.${camelToSnake(config.settings.case)}`;
    for (const [key, value] of Object.entries(config.settings.value)) {
      if (key === "$typeName") continue;
      const field = camelToSnake(key);
      if (key === "metric")
        settings[field] = enumName(T.LoadMetric, value as number, `${oneof}.${field}`, bad) ?? "in_flight";
      else if (typeof value === "object" && value !== null)
        settings[`${field}_ms`] = toMs(value as Duration, `${oneof}.${field}`, bad) ?? 0;
      else settings[field] = value as number | string | boolean;
    }
  }
  return {
    name,
    settings,
    fallback: config.fallback ? decodeStrategy(config.fallback, `${path}.fallback`, bad) : undefined,
  };
}

function decodeHealthState(
  value: T.HealthState,
  field: string,
  bad: FieldViolation[],
): M.HealthState | undefined {
  return enumName(T.HealthState, value, field, bad) as M.HealthState | undefined;
}

function decodeConfig(c: T.ServiceConfig, bad: FieldViolation[]): ServiceConfigInput {
  const p = "config";
  return {
    strategy: c.strategy ? decodeStrategy(c.strategy, `${p}.strategy`, bad) : undefined,
    health: c.health && {
      failureThreshold: c.health.failureThreshold,
      recoverySuccesses: c.health.recoverySuccesses,
      probeIntervalMs: toMs(c.health.probeInterval, `${p}.health.probe_interval`, bad),
      allowedStates: c.health.allowedStates.map(
        (s, i) => decodeHealthState(s, `${p}.health.allowed_states[${i}]`, bad) ?? "unhealthy",
      ),
      initialState: decodeHealthState(c.health.initialState, `${p}.health.initial_state`, bad),
      check: c.health.check && decodeHealthCheck(c.health.check, `${p}.health.check`, bad),
      deregisterCriticalAfterMs: toMs(
        c.health.deregisterCriticalAfter,
        `${p}.health.deregister_critical_after`,
        bad,
      ),
    },
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
      routingMode: enumName(T.RoutingMode, c.session.routingMode, `${p}.session.routing_mode`, bad) as
        | M.RoutingMode
        | undefined,
      statefulCommands: c.session.statefulCommands,
      modeReaderStateful: c.session.modeReaderStateful,
      idleTtlMs: toMs(c.session.idleTtl, `${p}.session.idle_ttl`, bad),
      allowRepin: c.session.allowRepin,
      negativeTtlMs: toMs(c.session.negativeTtl, `${p}.session.negative_ttl`, bad),
    },
    load: c.load && {
      panicThresholdPercent: c.load.panicThresholdPercent,
      failOpen: c.load.failOpen,
      slowStart: c.load.slowStart && {
        windowMs: toMs(c.load.slowStart.window, `${p}.load.slow_start.window`, bad),
        aggression: c.load.slowStart.aggression,
        minWeightPercent: c.load.slowStart.minWeightPercent,
      },
      backpressureSoftPercent: c.load.backpressureSoftPercent,
      backpressureHardPercent: c.load.backpressureHardPercent,
      zoneMinHealthyPercent: c.load.zoneMinHealthyPercent,
      ticketLeaseMs: toMs(c.load.ticketLease, `${p}.load.ticket_lease`, bad),
    },
  };
}

function decodeBackend(b: T.Backend, i: number, bad: FieldViolation[]): BackendInput {
  const path = `backends[${i}]`;
  return {
    id: b.id,
    address: b.address,
    weight: b.weight,
    zone: b.zone,
    tier: b.tier,
    labels: b.labels,
    maxConnections: b.maxConnections,
    quotas: b.quotas.map((q, j) => ({
      dimension: q.dimension,
      limit: q.limit,
      windowMs: toMs(q.window, `${path}.quotas[${j}].window`, bad),
      algorithm: enumName(T.QuotaAlgorithm, q.algorithm, `${path}.quotas[${j}].algorithm`, bad) as
        | M.QuotaAlgorithm
        | undefined,
      buckets: q.buckets,
    })),
    healthCheck: b.healthCheck && decodeHealthCheck(b.healthCheck, `${path}.health_check`, bad),
    leaseTtlMs: toMs(b.leaseTtl, `${path}.lease_ttl`, bad),
  };
}

/** RegisterRequest -> RegisterInput. */
export function decodeRegister(req: R.RegisterRequest): RegisterInput {
  const bad: FieldViolation[] = [];
  const mode = enumName(R.RegisterMode, req.mode, "mode", bad) ?? "replace";
  const input: RegisterInput = {
    service: req.service,
    config: req.config && decodeConfig(req.config, bad),
    backends: req.backends.map((b, i) => decodeBackend(b, i, bad)),
    mode: mode as RegisterInput["mode"],
  };
  throwIfBad(bad);
  return input;
}

/** DeregisterRequest -> domain arguments. */
export function decodeDeregister(req: R.DeregisterRequest): {
  service: string;
  backendIds: string[];
  drain: boolean;
  drainTimeoutMs: number;
} {
  const bad: FieldViolation[] = [];
  const drainTimeoutMs = toMs(req.drainTimeout, "drain_timeout", bad) ?? 0;
  if (!req.service) bad.push({ field: "service", description: "must not be empty" });
  throwIfBad(bad);
  return { service: req.service, backendIds: req.backendIds, drain: req.drain, drainTimeoutMs };
}

/** SetHealthRequest -> the state to set; only HEALTHY and UNHEALTHY may be forced. */
export function decodeSetHealth(req: R.SetHealthRequest): "healthy" | "unhealthy" {
  if (req.health !== T.HealthState.HEALTHY && req.health !== T.HealthState.UNHEALTHY) {
    throw invalidArgument([
      {
        field: "health",
        description: `must be HEALTHY or UNHEALTHY, got ${T.HealthState[req.health] ?? req.health}`,
      },
    ]);
  }
  return req.health === T.HealthState.HEALTHY ? "healthy" : "unhealthy";
}

// ---- status -----------------------------------------------------------------------------

function encodeHealthCheck(check: M.HealthCheckSpec): MessageInitShape<typeof T.HealthCheckSchema> {
  const p = check.probe;
  let probe: MessageInitShape<typeof T.HealthCheckSchema>["probe"];
  if (p.kind === "tcp") probe = { case: "tcp", value: {} };
  else if (p.kind === "grpc") probe = { case: "grpc", value: { service: p.service } };
  else
    probe = {
      case: "http",
      value: {
        path: p.path,
        expectedStatusMin: p.expectedStatusMin,
        expectedStatusMax: p.expectedStatusMax,
        host: p.host,
      },
    };
  return { probe, interval: fromMs(check.intervalMs), timeout: fromMs(check.timeoutMs), port: check.port };
}

function encodeStrategy(spec: M.StrategySpec): MessageInitShape<typeof T.StrategyConfigSchema> {
  const entries = Object.entries(spec.settings).map(([key, value]) => {
    if (key === "metric") return ["metric", enumValue(T.LoadMetric, String(value))];
    if (key.endsWith("_ms")) return [snakeToCamel(key.slice(0, -3)), fromMs(Number(value))];
    return [snakeToCamel(key), value];
  });
  const settings =
    entries.length > 0 ? { case: snakeToCamel(spec.name), value: Object.fromEntries(entries) } : undefined;
  return {
    strategy: enumValue(T.Strategy, spec.name),
    ...(settings && { settings: settings as MessageInitShape<typeof T.StrategyConfigSchema>["settings"] }),
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

function encodeBackendSpec(s: M.BackendSpec): MessageInitShape<typeof T.BackendSchema> {
  return {
    id: s.id,
    address: s.address,
    weight: s.weight,
    zone: s.zone,
    tier: s.tier,
    labels: { ...s.labels },
    maxConnections: s.maxConnections,
    quotas: s.quotas.map((q) => ({
      ...q,
      window: fromMs(q.windowMs),
      algorithm: enumValue(T.QuotaAlgorithm, q.algorithm),
    })),
    healthCheck: s.healthCheck && encodeHealthCheck(s.healthCheck),
    leaseTtl: s.leaseTtlMs ? fromMs(s.leaseTtlMs) : undefined,
  };
}

function encodeBackendStatus(b: DomainBackendStatus): T.BackendStatus {
  return create(T.BackendStatusSchema, {
    backend: encodeBackendSpec(b.spec),
    health: enumValue(T.HealthState, b.health),
    draining: b.draining,
    inFlight: b.inFlight,
    consecutiveFailures: b.consecutiveFailures,
    ewmaLatency: fromMs(b.ewmaLatencyMs),
    quotaRemaining: { ...b.quotaRemaining },
    pinnedSessions: b.pinnedSessions,
    ejected: b.ejected,
  });
}

/** ServiceStatus -> proto. */
export function encodeServiceStatus(s: DomainServiceStatus): T.ServiceStatus {
  return create(T.ServiceStatusSchema, {
    name: s.name,
    config: encodeConfig(s.config),
    version: BigInt(s.version),
    backends: s.backends.map(encodeBackendStatus),
  });
}

/** ListServices rows -> proto. */
export function encodeServiceList(rows: readonly DomainServiceSummary[]): R.ListServicesResponse {
  return create(R.ListServicesResponseSchema, {
    services: rows.map((r) => ({
      name: r.name,
      version: BigInt(r.version),
      backends: r.backends,
      healthy: r.healthy,
    })),
  });
}

// ---- select and report -------------------------------------------------------------------

/** SelectRequest -> query. Protocol-level only; limits are the core's. */
export function decodeSelect(req: B.SelectRequest): SelectQuery {
  return {
    hashKey: req.hashKey,
    exclude: req.exclude,
    zone: req.zone,
    labels: req.labels,
    count: req.count || 1,
    explain: req.explain,
  };
}

function encodeExplanation(e: Explanation): B.Explanation {
  return create(B.ExplanationSchema, {
    strategy: e.strategy,
    filters: [...e.filters],
    candidates: [...e.candidates],
    reason: e.reason,
  });
}

/** Session, resource and cost fields of a Select; cost values must be finite and >= 0. */
export function decodeSelectExtras(req: B.SelectRequest): SelectExtras {
  const bad: FieldViolation[] = [];
  for (const [dimension, units] of Object.entries(req.cost)) {
    if (!Number.isFinite(units) || units < 0)
      bad.push({ field: `cost[${dimension}]`, description: `must be a finite number >= 0, got ${units}` });
  }
  throwIfBad(bad);
  return { sessionId: req.sessionId, command: req.command, resourceKey: req.resourceKey, cost: req.cost };
}

/** EndSessionRequest -> service and session; both required. */
export function decodeEndSession(req: B.EndSessionRequest): { service: string; sessionId: string } {
  const bad: FieldViolation[] = [];
  if (!req.service) bad.push({ field: "service", description: "must not be empty" });
  if (!req.sessionId) bad.push({ field: "session_id", description: "must not be empty" });
  throwIfBad(bad);
  return { service: req.service, sessionId: req.sessionId };
}

/** A Selection -> SelectResponse. */
export function encodeSelection(
  s: {
    backends: readonly { spec: M.BackendSpec }[];
    ticket: string;
    degraded: boolean;
    version: number;
    explanation: Explanation | undefined;
  },
  sessionMode: "per_command" | "stateful" | undefined,
): B.SelectResponse {
  // A literal message (all fields set) instead of create(): this runs once per Select.
  return {
    $typeName: "fulcrum.v1.SelectResponse",
    backends: s.backends.map(({ spec }) => selectedBackendOf(spec)),
    ticket: s.ticket,
    sessionMode: sessionMode ? enumValue(T.SessionMode, sessionMode) : T.SessionMode.UNSPECIFIED,
    degraded: s.degraded,
    explanation: s.explanation && encodeExplanation(s.explanation),
    version: BigInt(s.version),
  };
}

/** A backend as Select returns it, built once per registration (specs are immutable). */
const selectedBackends = new WeakMap<M.BackendSpec, B.SelectedBackend>();
/** The same, encoded as SelectResponse field 1 (tag, length, bytes). */
const selectedBackendRecords = new WeakMap<B.SelectedBackend, Uint8Array>();

function selectedBackendOf(spec: M.BackendSpec): B.SelectedBackend {
  let selected = selectedBackends.get(spec);
  if (!selected) {
    selected = create(B.SelectedBackendSchema, {
      id: spec.id,
      address: spec.address,
      zone: spec.zone,
      labels: spec.labels,
    });
    selectedBackends.set(spec, selected);
  }
  return selected;
}

const utf8 = new TextEncoder();

/**
 * SelectResponse to bytes without reflection, for the hot path: the backends' encodings are
 * cached per registration and the few scalar fields are written directly (proto3 wire format,
 * fields in number order, as toBinary writes them). Undefined when the message carries an
 * explanation: the generic encoder takes that rare case.
 */
export function encodeSelectResponseFast(message: B.SelectResponse): Uint8Array | undefined {
  if (message.explanation) return undefined;
  const writer = new BinaryWriter();
  for (const backend of message.backends) {
    let record = selectedBackendRecords.get(backend);
    if (!record) {
      record = new BinaryWriter()
        .tag(1, WireType.LengthDelimited)
        .bytes(toBinary(B.SelectedBackendSchema, backend))
        .finish();
      selectedBackendRecords.set(backend, record);
    }
    writer.raw(record);
  }
  if (message.ticket) writer.tag(2, WireType.LengthDelimited).bytes(utf8.encode(message.ticket));
  if (message.sessionMode) writer.tag(3, WireType.Varint).int32(message.sessionMode);
  if (message.degraded) writer.tag(4, WireType.Varint).bool(true);
  if (message.version) writer.tag(6, WireType.Varint).uint64(message.version);
  return writer.finish();
}

/** Outcomes -> domain; duration problems are collected with the outcome's index. */
export function decodeOutcomes(outcomes: readonly B.Outcome[]): Outcome[] {
  const bad: FieldViolation[] = [];
  const decoded = outcomes.map((o, i) => ({
    ticket: o.ticket,
    service: o.service,
    backendId: o.backendId,
    result: enumName(T.CallResult, o.result, `outcomes[${i}].result`, bad) as DomainCallResult | undefined,
    latencyMs: toMs(o.latency, `outcomes[${i}].latency`, bad) ?? 0,
    usage: o.usage,
    retryAfterMs: toMs(o.retryAfter, `outcomes[${i}].retry_after`, bad) ?? 0,
    resourceKey: o.resourceKey,
    remaining: o.remaining,
  }));
  throwIfBad(bad);
  return decoded;
}

// ---- watch ------------------------------------------------------------------------------

/** WatchRequest -> services and resume versions. */
export function decodeWatch(req: B.WatchRequest): { services: string[]; resume: Map<string, number> } {
  return {
    services: req.services,
    resume: new Map(Object.entries(req.resumeVersions).map(([k, v]) => [k, Number(v)])),
  };
}

/** One change fans out to every watcher as the same object: encode it once. */
const encodedWatchMessages = new WeakMap<WatchMessage, B.WatchResponse>();

/** A watch message -> WatchResponse (the same object for every watcher of one change). */
export function encodeWatchMessage(m: WatchMessage): B.WatchResponse {
  const known = encodedWatchMessages.get(m);
  if (known) return known;
  const encoded = encodeWatchMessageOnce(m);
  encodedWatchMessages.set(m, encoded);
  return encoded;
}

function encodeWatchMessageOnce(m: WatchMessage): B.WatchResponse {
  const e = m.event;
  const event = ((): MessageInitShape<typeof B.WatchResponseSchema>["event"] => {
    switch (e.kind) {
      case "snapshot":
        return { case: "snapshot", value: encodeServiceStatus(e.status) };
      case "reset":
        return { case: "reset", value: { reason: e.reason } };
      case "heartbeat":
        return { case: "heartbeat", value: {} };
      case "backend_added":
        return { case: "backendAdded", value: encodeBackendStatus(e.backend) };
      case "backend_updated":
        return { case: "backendUpdated", value: encodeBackendStatus(e.backend) };
      case "backend_removed":
        return { case: "backendRemoved", value: { backendId: e.backendId, reason: e.reason } };
      case "health_changed":
        return {
          case: "healthChanged",
          value: {
            backendId: e.backendId,
            previous: enumValue(T.HealthState, e.previous),
            current: enumValue(T.HealthState, e.current),
            reason: e.reason,
          },
        };
      case "config_changed":
        return { case: "configChanged", value: encodeConfig(e.config) };
      case "service_removed":
        return { case: "serviceRemoved", value: {} };
      case "headroom_crossed":
        return {
          case: "headroomCrossed",
          value: {
            backendId: e.backendId,
            dimension: e.dimension,
            remainingRatio: e.remainingRatio,
            threshold: e.threshold,
            below: e.below,
          },
        };
    }
  })();
  return create(B.WatchResponseSchema, { service: m.service, version: BigInt(m.version), event });
}

// ---- errors -----------------------------------------------------------------------------

/** One google.rpc error detail: its schema and value (Connect's outgoing detail shape). */
export type ErrorDetailMessage = { desc: DescMessage; value: Message };

/** BadRequest, ErrorInfo and RetryInfo details of a FulcrumError, as its detail says. */
export function encodeErrorDetails(error: FulcrumError): ErrorDetailMessage[] {
  const { violations, reason, retryAfterMs } = error.detail;
  const details: ErrorDetailMessage[] = [];
  if (violations?.length)
    details.push({
      desc: BadRequestSchema,
      value: create(BadRequestSchema, { fieldViolations: [...violations] }),
    });
  if (reason)
    details.push({ desc: ErrorInfoSchema, value: create(ErrorInfoSchema, { reason, domain: ERROR_DOMAIN }) });
  if (retryAfterMs !== undefined)
    details.push({
      desc: RetryInfoSchema,
      value: create(RetryInfoSchema, { retryDelay: fromMs(retryAfterMs) }),
    });
  return details;
}

/** The google.rpc.Status of a FulcrumError (grpc-status-details-bin, and stream errors). */
export function encodeErrorStatus(error: FulcrumError, grpcCode: number): Status {
  const details = encodeErrorDetails(error).map(({ desc, value }) => anyPack(desc, value));
  return create(StatusSchema, { code: grpcCode, message: error.message, details });
}

/** Status -> the bytes of the grpc-status-details-bin trailer. */
export function statusToBinary(status: Status): Uint8Array {
  return toBinary(StatusSchema, status);
}

/** Message aliases the service implementations use. */
export type RegisterRequest = R.RegisterRequest;
export type SelectRequest = B.SelectRequest;
export type SelectStreamRequest = B.SelectStreamRequest;
export type SelectStreamResponse = B.SelectStreamResponse;
export type StreamReportsRequest = B.StreamReportsRequest;
export type WatchResponse = B.WatchResponse;
export const schemas = {
  RegisterResponse: R.RegisterResponseSchema,
  DeregisterResponse: R.DeregisterResponseSchema,
  HeartbeatResponse: R.HeartbeatResponseSchema,
  SetHealthResponse: R.SetHealthResponseSchema,
  GetServiceResponse: R.GetServiceResponseSchema,
  ReportResponse: B.ReportResponseSchema,
  StreamReportsResponse: B.StreamReportsResponseSchema,
  SelectStreamResponse: B.SelectStreamResponseSchema,
  EndSessionResponse: B.EndSessionResponseSchema,
} as const;
export { create };

/** Domain health state -> proto enum. */
export function encodeHealthState(state: M.HealthState): T.HealthState {
  return enumValue(T.HealthState, state);
}

export const SelectRequestSchema = B.SelectRequestSchema;

/** Hand-written encoders for hot messages, by type name; each may decline (undefined) a message. */
export const fastEncoders: ReadonlyMap<string, (message: never) => Uint8Array | undefined> = new Map([
  [B.SelectResponseSchema.typeName, encodeSelectResponseFast as (message: never) => Uint8Array | undefined],
]);

function healthName(state: T.HealthState): string {
  return T.HealthState[state] ?? String(state);
}

/** One line per Watch message, for people (`fulcrum watch`). */
export function describeWatchResponse(m: B.WatchResponse): string {
  const head = `v${m.version} ${m.service}`;
  const e = m.event;
  switch (e.case) {
    case "snapshot": {
      const list = e.value.backends.map(
        (b) => `${b.backend?.id} ${healthName(b.health)}${b.draining ? " DRAINING" : ""}`,
      );
      return `${head} snapshot: ${list.length} backends${list.length ? ` (${list.join(", ")})` : ""}`;
    }
    case "healthChanged":
      return `${head} ${e.value.backendId} ${healthName(e.value.previous)} -> ${healthName(e.value.current)} (${e.value.reason})`;
    case "backendAdded":
      return `${head} + ${e.value.backend?.id} ${e.value.backend?.address} ${healthName(e.value.health)}`;
    case "backendRemoved":
      return `${head} - ${e.value.backendId} (${e.value.reason})`;
    case "backendUpdated":
      return `${head} ~ ${e.value.backend?.id} weight ${e.value.backend?.weight}${e.value.draining ? " DRAINING" : ""}`;
    case "headroomCrossed":
      return `${head} ${e.value.backendId} ${e.value.dimension} headroom ${e.value.below ? "below" : "above"} ${e.value.threshold}`;
    case "configChanged":
      return `${head} config changed`;
    case "serviceRemoved":
      return `${head} service removed`;
    case "reset":
      return `${head} RESET (${e.value.reason})`;
    case "heartbeat":
      return "";
    default:
      return `${head} (unknown event)`;
  }
}

/** A WatchRequest for `services`. */
export function watchRequest(services: string[]): B.WatchRequest {
  return create(B.WatchRequestSchema, { services });
}
