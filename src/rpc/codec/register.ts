/** The registry's requests and answers: Register, Deregister, Heartbeat, SetHealth. */
import { create } from "@bufbuild/protobuf";
import * as R from "../../../gen/fulcrum/v1/registry_pb.js";
import * as T from "../../../gen/fulcrum/v1/types_pb.js";
import type { BackendInput, RegisterInput, RegisterMode } from "../../model/input.js";
import type * as M from "../../model/specs.js";
import type { FieldViolation } from "../../shared/errors.js";
import { invalidArgument } from "../../shared/errors.js";
import { unknownEnumValue } from "./enum-names.js";
import { decodeHealthCheck } from "./health-check.js";
import { enumName, enumValue, throwIfBad, toMs } from "./primitives.js";
import { decodeConfig } from "./service-config.js";

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
      algorithm: enumName(T.QuotaAlgorithmSchema, q.algorithm, `${path}.quotas[${j}].algorithm`, bad) as
        | M.QuotaAlgorithm
        | undefined,
      buckets: q.buckets,
    })),
    healthCheck: b.healthCheck && decodeHealthCheck(b.healthCheck, `${path}.health_check`, bad),
    leaseTtlMs: toMs(b.leaseTtl, `${path}.lease_ttl`, bad),
  };
}

/** RegisterRequest -> RegisterInput; an unset mode is left to the registry's default. */
export function decodeRegister(req: R.RegisterRequest): RegisterInput {
  const bad: FieldViolation[] = [];
  const input: RegisterInput = {
    service: req.service,
    config: req.config && decodeConfig(req.config, bad),
    backends: req.backends.map((b, i) => decodeBackend(b, i, bad)),
    mode: enumName(R.RegisterModeSchema, req.mode, "mode", bad) as RegisterMode | undefined,
  };
  throwIfBad(bad);
  return input;
}

/** Register's answer. */
export function encodeRegisterResponse(result: { version: number; changed: boolean }): R.RegisterResponse {
  return create(R.RegisterResponseSchema, { version: BigInt(result.version), changed: result.changed });
}

/** DeregisterRequest -> domain arguments; the service is required. */
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

/** Deregister's answer. */
export function encodeDeregisterResponse(result: {
  version: number;
  removed: number;
  draining: number;
}): R.DeregisterResponse {
  return create(R.DeregisterResponseSchema, { ...result, version: BigInt(result.version) });
}

/** Heartbeat's answer. */
export function encodeHeartbeatResponse(result: {
  renewed: number;
  unknownIds: readonly string[];
}): R.HeartbeatResponse {
  return create(R.HeartbeatResponseSchema, { renewed: result.renewed, unknownIds: [...result.unknownIds] });
}

/** SetHealthRequest -> the state to set; only HEALTHY and UNHEALTHY may be forced, anything else names `health`. */
export function decodeSetHealth(req: R.SetHealthRequest): "healthy" | "unhealthy" {
  if (req.health === T.HealthState.HEALTHY) return "healthy";
  if (req.health === T.HealthState.UNHEALTHY) return "unhealthy";
  const known = T.HealthStateSchema.value[req.health];
  const description = known
    ? `must be HEALTH_STATE_HEALTHY or HEALTH_STATE_UNHEALTHY, got ${known.name}`
    : unknownEnumValue(T.HealthStateSchema, req.health);
  throw invalidArgument([{ field: "health", description }]);
}

/** SetHealth's answer: the version after the change and the state before it. */
export function encodeSetHealthResponse(result: {
  version: number;
  previous: M.HealthState;
}): R.SetHealthResponse {
  return create(R.SetHealthResponseSchema, {
    version: BigInt(result.version),
    previous: enumValue(T.HealthState, result.previous),
  });
}
