/**
 * The CLI's connection to a running server: gRPC (over connect-node's gRPC transport) to the
 * address given with --server, as `host:port` or a full `http://host:port` URL, with the
 * --token / FULCRUM_TOKEN bearer token when one is given.
 */
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { BalancerService } from "../../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";
import { clientTransport } from "./client-transport.js";

/** Where the CLI talks to when --server is not given. */
export const DEFAULT_SERVER = "127.0.0.1:4770";

/** Both services of one server. */
export interface FulcrumClients {
  readonly registry: Client<typeof RegistryService>;
  readonly balancer: Client<typeof BalancerService>;
}

/** `host:port` -> `http://host:port`; a URL is kept as it is. */
export function serverUrl(server: string): string {
  return /^https?:\/\//.test(server) ? server : `http://${server}`;
}

/** Clients of the server at `server` (host:port or URL), sending `token` when given. */
export function connectTo(server: string, token?: string): FulcrumClients {
  const transport = clientTransport({ server: serverUrl(server), token });
  return {
    registry: createClient(RegistryService, transport),
    balancer: createClient(BalancerService, transport),
  };
}

/**
 * The exit code of a failed command: the gRPC status code (3 INVALID_ARGUMENT, 5 NOT_FOUND,
 * 14 UNAVAILABLE, ...), so scripts can tell failures apart; 1 for anything else.
 */
export function exitCodeOf(error: unknown): number {
  return error instanceof ConnectError && error.code !== Code.Canceled ? error.code : 1;
}

/** One line for a failed call: the status name and the server's message. */
export function describeFailure(error: unknown, server: string): string {
  if (!(error instanceof ConnectError)) return (error as Error).message ?? String(error);
  if (error.code === Code.Unavailable) return `server ${server} is unavailable: ${error.rawMessage}`;
  if (error.code === Code.Unauthenticated)
    return `Unauthenticated: ${error.rawMessage} (give --token or set FULCRUM_TOKEN)`;
  return `${Code[error.code]}: ${error.rawMessage}`;
}
