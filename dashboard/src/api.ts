/**
 * The page's API clients: Connect protocol (binary) to the origin that served the page, with
 * the operator's token, when one is given, as `authorization: Bearer <token>` on every call,
 * so the server's authorization decides what the page may see and do.
 */
import { type Client, ConnectError, createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { BalancerService } from "../../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";

/** Both services' clients. */
export interface Api {
  readonly balancer: Client<typeof BalancerService>;
  readonly registry: Client<typeof RegistryService>;
}

/** Clients that read the token at each call (it may change while the page is open). */
export function createApi(token: () => string): Api {
  const bearer: Interceptor = (next) => (request) => {
    const value = token();
    if (value) request.header.set("authorization", `Bearer ${value}`);
    return next(request);
  };
  const transport = createConnectTransport({
    baseUrl: window.location.origin,
    useBinaryFormat: true,
    interceptors: [bearer],
  });
  return {
    balancer: createClient(BalancerService, transport),
    registry: createClient(RegistryService, transport),
  };
}

/** A failed call as one line: the status name and the server's message. */
export function describeError(error: unknown): string {
  return ConnectError.from(error).message;
}
