/**
 * A service's backends as an EDS ClusterLoadAssignment that proxyless gRPC accepts: one
 * locality per backend (zone from `zone`, sub-zone the backend id, so no two entries share a
 * locality and priority), priorities from tiers renumbered 0, 1, 2... without gaps, and only
 * IP-literal addresses.
 */
import { isIP } from "node:net";
import type { BackendStatus, ServiceStatus } from "../model/status.js";
import type { LbMapping } from "./lb-policy.js";
import { TYPE_URL } from "./xds-protos.js";

/** Envoy's HealthStatus names as Fulcrum emits them. */
export type EndpointHealth = "HEALTHY" | "UNHEALTHY" | "DRAINING";

/**
 * X2: a drain is DRAINING; an ejected backend is UNHEALTHY; otherwise Fulcrum's four states
 * map to HEALTHY and UNHEALTHY. DEGRADED and RECOVERING still get traffic from Select, and
 * gRPC clients drop endpoints marked DEGRADED, so both become HEALTHY.
 */
export function endpointHealthOf(backend: BackendStatus): EndpointHealth {
  if (backend.draining) return "DRAINING";
  if (backend.ejected || backend.health === "unhealthy") return "UNHEALTHY";
  return "HEALTHY";
}

/**
 * Backends the assignment can carry: IP-literal hosts only (clients do not resolve names
 * in EDS, and resolving them here would let replicas disagree), first of each address.
 */
export function servableBackends(status: ServiceStatus): { kept: BackendStatus[]; skipped: string[] } {
  const kept: BackendStatus[] = [];
  const skipped: string[] = [];
  const seen = new Set<string>();
  const ordered = [...status.backends].sort((a, b) => (a.spec.id < b.spec.id ? -1 : 1));
  for (const backend of ordered) {
    const address = `${backend.spec.host}|${backend.spec.port}`;
    if (isIP(backend.spec.host) === 0 || seen.has(address)) skipped.push(backend.spec.id);
    else {
      seen.add(address);
      kept.push(backend);
    }
  }
  return { kept, skipped };
}

/** The ClusterLoadAssignment of `status`, as a proto-loader object tagged with its `@type`. */
export function loadAssignmentOf(status: ServiceStatus, mapping: LbMapping): object {
  const { kept } = servableBackends(status);
  const tiers = [...new Set(kept.map((backend) => backend.spec.tier))].sort((a, b) => a - b);
  const endpoints = kept.map((backend) => ({
    locality: { region: "", zone: backend.spec.zone, sub_zone: backend.spec.id },
    priority: tiers.indexOf(backend.spec.tier),
    load_balancing_weight: { value: mapping.weightedLocalities ? backend.spec.weight : 1 },
    lb_endpoints: [
      {
        endpoint: {
          address: { socket_address: { address: backend.spec.host, port_value: backend.spec.port } },
          hostname: backend.spec.id,
        },
        health_status: endpointHealthOf(backend),
        load_balancing_weight: { value: backend.spec.weight },
      },
    ],
  }));
  return { "@type": TYPE_URL.endpoint, cluster_name: status.name, endpoints };
}
