/**
 * Connect clients (gRPC protocol over h2c) for the benches, with an explicit close so no
 * HTTP/2 session outlives a bench, and the fixture every bench selects from.
 */
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";
import { BalancerService } from "../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../gen/fulcrum/v1/registry_pb.js";
import { Strategy } from "../gen/fulcrum/v1/types_pb.js";

/** The service the benches register and select from. */
export const BENCH_SERVICE = "bench";
/** Backends of {@link BENCH_SERVICE}. */
export const BENCH_BACKENDS = 10;

/** Registry and balancer clients over one HTTP/2 connection to 127.0.0.1:`port`. */
export function benchClients(port: number) {
  const sessionManager = new Http2SessionManager(`http://127.0.0.1:${port}`);
  const transport = createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}`, sessionManager });
  return {
    registry: createClient(RegistryService, transport),
    balancer: createClient(BalancerService, transport),
    /** Closes the connection. */
    close: () => sessionManager.abort(),
  };
}

/** Registers {@link BENCH_SERVICE}: 10 backends on 10.0.0.x:8080, round robin, in memory. */
export async function registerBenchService(port: number): Promise<void> {
  const clients = benchClients(port);
  try {
    await clients.registry.register({
      service: BENCH_SERVICE,
      config: { strategy: { strategy: Strategy.ROUND_ROBIN } },
      backends: Array.from({ length: BENCH_BACKENDS }, (_, i) => ({
        id: `b${i + 1}`,
        address: `10.0.0.${i + 1}:8080`,
      })),
    });
  } finally {
    clients.close();
  }
}
