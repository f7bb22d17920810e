/**
 * The Probe the composition root hands to the prober: dispatches each check to the probe of
 * its kind (tcp, grpc, http).
 */
import type { Probe } from "../../health/probe.js";
import type { HealthCheckSpec } from "../../model/specs.js";
import { createGrpcProbe } from "./grpc-probe.js";
import { createHttpProbe } from "./http-probe.js";
import { createTcpProbe } from "./tcp-probe.js";

/** One Probe per check kind. */
export type ProbesByKind = Readonly<Record<HealthCheckSpec["probe"]["kind"], Probe>>;

/** A Probe that runs each check with the probe of its kind; `overrides` replace single kinds. */
export function createProbe(overrides: Partial<ProbesByKind> = {}): Probe {
  const probes: ProbesByKind = {
    tcp: createTcpProbe(),
    grpc: createGrpcProbe(),
    http: createHttpProbe(),
    ...overrides,
  };
  return { check: (target, signal) => probes[target.spec.probe.kind].check(target, signal) };
}
