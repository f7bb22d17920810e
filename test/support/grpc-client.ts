/**
 * The independent reference client: @grpc/grpc-js with @grpc/proto-loader reading proto/
 * directly, sharing no code with the server's codec.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";

const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));

const definition = protoLoader.loadSync(["fulcrum/v1/registry.proto", "fulcrum/v1/balancer.proto"], {
  includeDirs: [PROTO_DIR],
  keepCase: true,
  longs: String,
  enums: String,
  defaults: true,
  oneofs: true,
});
// biome-ignore lint/suspicious/noExplicitAny: proto-loader builds the client classes at run time.
const pkg = grpc.loadPackageDefinition(definition) as any;

// biome-ignore lint/suspicious/noExplicitAny: dynamic client.
export type DynamicClient = any;

/** Registry and balancer clients on `port` (plaintext unless `credentials`); `close` ends both channels. */
export function grpcClients(
  port: number,
  credentials = grpc.credentials.createInsecure(),
): {
  registry: DynamicClient;
  balancer: DynamicClient;
  close(): void;
} {
  const address = `127.0.0.1:${port}`;
  const registry = new pkg.fulcrum.v1.RegistryService(address, credentials);
  const balancer = new pkg.fulcrum.v1.BalancerService(address, credentials);
  return {
    registry,
    balancer,
    close() {
      registry.close();
      balancer.close();
    },
  };
}

/** Calls a unary method and resolves with the response, or rejects with the ServiceError. */
export function unary<T = Record<string, unknown>>(
  client: DynamicClient,
  method: string,
  request: unknown,
): Promise<T> {
  return new Promise((resolve, reject) => {
    client[method](request, (error: grpc.ServiceError | null, response: T) =>
      error ? reject(error) : resolve(response),
    );
  });
}

/** Calls a unary method expecting failure; resolves with the ServiceError. */
export async function unaryError(
  client: DynamicClient,
  method: string,
  request: unknown,
): Promise<grpc.ServiceError> {
  try {
    await unary(client, method, request);
  } catch (error) {
    return error as grpc.ServiceError;
  }
  throw new Error(`${method} succeeded but a failure was expected`);
}

export { grpc };
