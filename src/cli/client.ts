/**
 * The CLI's connection to a running server: gRPC (over connect-node's gRPC transport) to the
 * address given with --server, as `host:port` or a full `http://host:port` URL, with the
 * --token / FULCRUM_TOKEN bearer token when one is given, over TLS for `https://` or when
 * --tls-ca / --tls-cert are given.
 */
import { type Client, Code, ConnectError, createClient } from "@connectrpc/connect";
import { BalancerService } from "../../gen/fulcrum/v1/balancer_pb.js";
import { RegistryService } from "../../gen/fulcrum/v1/registry_pb.js";
import { type ClientTls, clientTransport } from "./client-transport.js";

/** Where the CLI talks to when --server is not given. */
export const DEFAULT_SERVER = "127.0.0.1:4770";

/** Both services of one server. */
export interface FulcrumClients {
  readonly registry: Client<typeof RegistryService>;
  readonly balancer: Client<typeof BalancerService>;
}

/** `host:port` -> `http://host:port` (`https://` when TLS files are given); a URL is kept as it is. */
export function serverUrl(server: string, tls?: ClientTls): string {
  if (/^https?:\/\//.test(server)) return server;
  return `${tls?.ca || tls?.cert ? "https" : "http"}://${server}`;
}

/** Clients of the server at `server` (host:port or URL), sending `token` and using `tls` when given. */
export function connectTo(server: string, token?: string, tls?: ClientTls): FulcrumClients {
  const transport = clientTransport({ server: serverUrl(server, tls), token, ...tls });
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
  if (error instanceof ConnectError && isTlsFailure(error)) return Code.Unavailable;
  return error instanceof ConnectError && error.code !== Code.Canceled ? error.code : 1;
}

/**
 * A failed TLS handshake (the server's certificate not trusted, our certificate refused):
 * connect-node reports it as INTERNAL, but the server never saw a call; Node's error code names it.
 */
function isTlsFailure(error: ConnectError): boolean {
  const code = (error.cause as NodeJS.ErrnoException | undefined)?.code ?? "";
  return /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_)/.test(code);
}

/** One line for a failed call: the status name and the server's message. */
export function describeFailure(error: unknown, server: string): string {
  if (!(error instanceof ConnectError)) return (error as Error).message ?? String(error);
  if (isTlsFailure(error))
    return `TLS with ${server} failed: ${error.rawMessage} (check --tls-ca, --tls-cert, --tls-key)`;
  if (error.code === Code.Unavailable) return `server ${server} is unavailable: ${error.rawMessage}`;
  if (error.code === Code.Unauthenticated)
    return `Unauthenticated: ${error.rawMessage} (give --token or set FULCRUM_TOKEN)`;
  return `${Code[error.code]}: ${error.rawMessage}`;
}
