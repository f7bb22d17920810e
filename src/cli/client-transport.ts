/**
 * How every CLI command (and the dashboard's server side) reaches a Fulcrum: one gRPC
 * transport to `--server`, carrying the caller's token as `authorization: Bearer <token>`
 * (behaviour.md A2) and, for https:// servers, the CA and client certificate to use. Commands
 * take these from `clientConnectionFlags` (main.ts) so `--token` / FULCRUM_TOKEN work the same
 * for all of them.
 */
import type { Interceptor, Transport } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";

/** Where and as whom a command connects. */
export interface ClientConnection {
  /** http://host:port (plaintext) or https://host:port (TLS). */
  readonly server: string;
  /** Bearer token; unset sends none. Never printed. */
  readonly token?: string | undefined;
  /** PEM CA that signs the server's certificate (https:// only); unset: the system CAs. */
  readonly ca?: Buffer | undefined;
  /** PEM client certificate and key, for servers that require mutual TLS. */
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

/** An interceptor adding `authorization: Bearer <token>` to every call. */
export function bearerToken(token: string): Interceptor {
  return (next) => (request) => {
    request.header.set("authorization", `Bearer ${token}`);
    return next(request);
  };
}

/** The PEM files a client command was given (--tls-ca, --tls-cert, --tls-key), read. */
export type ClientTls = Pick<ClientConnection, "ca" | "cert" | "key">;

/** A gRPC transport for `connection` (pass it to connect's createClient). */
export function clientTransport(connection: ClientConnection): Transport {
  const { ca, cert, key } = connection;
  return createGrpcTransport({
    baseUrl: connection.server,
    interceptors: connection.token ? [bearerToken(connection.token)] : [],
    ...((ca || cert || key) && { nodeOptions: { ca, cert, key } }),
  });
}
