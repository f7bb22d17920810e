/**
 * The four xDS resources of one Fulcrum service (X1), all named after the service: a
 * Listener with an API listener (HttpConnectionManager over RDS, the router as its only
 * filter), a RouteConfiguration sending every path to the cluster, an EDS Cluster with the
 * mapped lb policy, and the ClusterLoadAssignment.
 */
import { createHash } from "node:crypto";
import type { ServiceStatus } from "../model/status.js";
import { HASH_KEY_HEADER, type LbMapping, lbMappingOf } from "./lb-policy.js";
import { loadAssignmentOf } from "./load-assignment.js";
import { type ResourceType, TYPE_URL } from "./xds-protos.js";

/** One resource as sent: its name, its body (a proto-loader object with `@type`), a content key. */
export interface XdsResource {
  readonly name: string;
  readonly body: object;
  /** Equal keys mean equal content: a stream skips resending an unchanged resource. */
  readonly key: string;
}

/** A service's resources at one version. */
export interface ServiceResources {
  /**
   * X3: the service version, identical on every replica; with a `-e<hash of ids>` suffix while this
   * replica has backends ejected (outlier ejection is decided per replica).
   */
  readonly version: string;
  readonly byType: Readonly<Record<ResourceType, XdsResource>>;
}

const ADS_SOURCE = { ads: {}, resource_api_version: "V3" };

function listenerOf(service: string): object {
  return {
    "@type": TYPE_URL.listener,
    name: service,
    api_listener: {
      api_listener: {
        "@type": TYPE_URL.httpConnectionManager,
        rds: { config_source: ADS_SOURCE, route_config_name: service },
        http_filters: [{ name: "envoy.filters.http.router", typed_config: { "@type": TYPE_URL.router } }],
      },
    },
  };
}

function routeOf(service: string, mapping: LbMapping): object {
  const hashPolicy =
    mapping.lbPolicy === "RING_HASH" ? [{ header: { header_name: HASH_KEY_HEADER }, terminal: true }] : [];
  return {
    "@type": TYPE_URL.route,
    name: service,
    virtual_hosts: [
      {
        name: service,
        domains: ["*"],
        routes: [{ match: { prefix: "" }, route: { cluster: service, hash_policy: hashPolicy } }],
      },
    ],
  };
}

function clusterOf(service: string, mapping: LbMapping): object {
  return {
    "@type": TYPE_URL.cluster,
    name: service,
    type: "EDS",
    eds_cluster_config: { eds_config: ADS_SOURCE, service_name: service },
    lb_policy: mapping.lbPolicy,
    // Envoy honours locality weights only when asked to (and not with hashing policies).
    ...(mapping.lbPolicy === "ROUND_ROBIN" && { common_lb_config: { locality_weighted_lb_config: {} } }),
  };
}

/** 12 hex digits of a SHA-256: short, and the same on every replica for the same input. */
export function shortHash(text: string): string {
  return createHash("sha256").update(text).digest("hex").slice(0, 12);
}

function resource(name: string, body: object): XdsResource {
  return { name, body, key: JSON.stringify(body) };
}

/** The version `serviceResourcesOf(status)` would carry, without building the resources. */
export function resourceVersionOf(status: ServiceStatus): string {
  const ejected = status.backends.filter((backend) => backend.ejected).map((backend) => backend.spec.id);
  return ejected.length > 0
    ? `${status.version}-e${shortHash(ejected.sort().join(","))}`
    : `${status.version}`;
}

/** Builds the resources of `status`. */
export function serviceResourcesOf(status: ServiceStatus): ServiceResources {
  const mapping = lbMappingOf(status.config.strategy.name);
  return {
    version: resourceVersionOf(status),
    byType: {
      listener: resource(status.name, listenerOf(status.name)),
      route: resource(status.name, routeOf(status.name, mapping)),
      cluster: resource(status.name, clusterOf(status.name, mapping)),
      endpoint: resource(status.name, loadAssignmentOf(status, mapping)),
    },
  };
}
