/**
 * The xDS v3 protos as @grpc/grpc-js-xds ships them (its vendored copy of the Envoy API, xds,
 * googleapis and protoc-gen-validate), loaded with @grpc/proto-loader: the ADS service plus
 * every resource type Fulcrum serves, in one root so `Any` fields written as
 * `{ "@type": url, ...fields }` are encoded by the type they name.
 */
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

/** Type URLs of the four resource types (and the two typed configs inside a Listener). */
export const TYPE_URL = {
  listener: "type.googleapis.com/envoy.config.listener.v3.Listener",
  route: "type.googleapis.com/envoy.config.route.v3.RouteConfiguration",
  cluster: "type.googleapis.com/envoy.config.cluster.v3.Cluster",
  endpoint: "type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment",
  httpConnectionManager:
    "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager",
  router: "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router",
} as const;

/** One of the four resource types Fulcrum serves. */
export type ResourceType = "listener" | "route" | "cluster" | "endpoint";

/** The resource types, in the order a client needs them (LDS, RDS, CDS, EDS). */
export const RESOURCE_TYPES: readonly ResourceType[] = ["listener", "route", "cluster", "endpoint"];

/** The resource type a type URL names, or undefined for one Fulcrum does not serve. */
export function resourceTypeOf(typeUrl: string): ResourceType | undefined {
  return RESOURCE_TYPES.find((type) => TYPE_URL[type] === typeUrl);
}

const FILES = [
  "envoy/service/discovery/v3/ads.proto",
  "envoy/config/listener/v3/listener.proto",
  "envoy/config/route/v3/route.proto",
  "envoy/config/cluster/v3/cluster.proto",
  "envoy/config/endpoint/v3/endpoint.proto",
  "envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto",
  "envoy/extensions/filters/http/router/v3/router.proto",
];

function protoRoots(): string[] {
  const packageDir = dirname(createRequire(import.meta.url).resolve("@grpc/grpc-js-xds/package.json"));
  return ["envoy-api", "xds", "googleapis", "protoc-gen-validate"].map((dir) =>
    join(packageDir, "deps", dir),
  );
}

let loaded: grpc.ServiceDefinition | undefined;

/**
 * The AggregatedDiscoveryService definition for a grpc-js server. Requests arrive as plain
 * objects with snake_case fields, enums as names, defaults filled in. Parsing the Envoy
 * protos costs about a second of CPU, so it happens once per process.
 */
export function loadAdsService(): grpc.ServiceDefinition {
  loaded ??= parseAdsService();
  return loaded;
}

function parseAdsService(): grpc.ServiceDefinition {
  const definition = protoLoader.loadSync(FILES, {
    keepCase: true,
    longs: String,
    enums: String,
    defaults: true,
    oneofs: true,
    json: true,
    includeDirs: protoRoots(),
  });
  const root = grpc.loadPackageDefinition(definition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: grpc.ServiceClientConstructor } } } };
  };
  return root.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
}
