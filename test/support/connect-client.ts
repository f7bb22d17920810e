import { createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { BalancerService } from "../../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";

/** Connect-protocol clients (HTTP/1.1) against the web port. */
export function connectClients(webPort: number) {
  const transport = createConnectTransport({ baseUrl: `http://127.0.0.1:${webPort}`, httpVersion: "1.1" });
  return {
    registry: createClient(RegistryService, transport),
    balancer: createClient(BalancerService, transport),
  };
}

/** gRPC-protocol clients over h2c, against either port. */
export function grpcTransportClients(port: number) {
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` });
  return {
    registry: createClient(RegistryService, transport),
    balancer: createClient(BalancerService, transport),
  };
}
