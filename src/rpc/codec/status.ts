/** What the registry shows: GetService's ServiceStatus, ListServices rows, health states. */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import * as R from "../../../gen/fulcrum/v1/registry_pb.js";
import * as T from "../../../gen/fulcrum/v1/types_pb.js";
import type * as M from "../../model/specs.js";
import type { BackendStatus, ServiceStatus } from "../../model/status.js";
import type { ServiceSummary } from "../../registry/service-registry.js";
import { encodeHealthCheck } from "./health-check.js";
import { enumValue, fromMs } from "./primitives.js";
import { encodeConfig } from "./service-config.js";

/** Domain health state -> proto enum. */
export function encodeHealthState(state: M.HealthState): T.HealthState {
  return enumValue(T.HealthState, state);
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

/** One backend's status -> proto (GetService rows, Watch membership events). */
export function encodeBackendStatus(b: BackendStatus): T.BackendStatus {
  return create(T.BackendStatusSchema, {
    backend: encodeBackendSpec(b.spec),
    health: encodeHealthState(b.health),
    draining: b.draining,
    inFlight: b.inFlight,
    consecutiveFailures: b.consecutiveFailures,
    ewmaLatency: fromMs(b.ewmaLatencyMs),
    quotaRemaining: { ...b.quotaRemaining },
    pinnedSessions: b.pinnedSessions,
    ejected: b.ejected,
    selections: BigInt(b.selections),
    maintenance: b.maintenance,
  });
}

/** ServiceStatus -> proto. */
export function encodeServiceStatus(s: ServiceStatus): T.ServiceStatus {
  return create(T.ServiceStatusSchema, {
    name: s.name,
    config: encodeConfig(s.config),
    version: BigInt(s.version),
    backends: s.backends.map(encodeBackendStatus),
  });
}

/** GetService's answer. */
export function encodeGetServiceResponse(s: ServiceStatus): R.GetServiceResponse {
  return create(R.GetServiceResponseSchema, { service: encodeServiceStatus(s) });
}

/** ListServices rows -> proto. */
export function encodeServiceList(rows: readonly ServiceSummary[]): R.ListServicesResponse {
  return create(R.ListServicesResponseSchema, {
    services: rows.map((r) => ({
      name: r.name,
      version: BigInt(r.version),
      backends: r.backends,
      healthy: r.healthy,
    })),
  });
}
