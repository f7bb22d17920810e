/**
 * Clients of a TLS Fulcrum (behaviour.md A1): the certificate a port presents to a new
 * connection, and Connect, gRPC (connect-node) and grpc-js clients that trust the test CA and
 * may present a client certificate.
 */
import { get } from "node:https";
import { connect } from "node:tls";
import type { Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { bearerToken, clientTransport } from "../../src/cli/client-transport.js";
import { clientsOver } from "./auth.js";
import { grpc, grpcClients } from "./grpc-client.js";

/** What a test client trusts and presents. */
export interface ClientTls {
  readonly ca: Buffer;
  readonly cert?: Buffer | undefined;
  readonly key?: Buffer | undefined;
}

/** What a new connection to a port saw. */
export interface Handshake {
  readonly fingerprint256: string;
  readonly serialNumber: string;
  /** The protocol the server chose by ALPN, false when none. */
  readonly alpnProtocol: string | false | null;
}

/** Opens one TLS connection to 127.0.0.1:`port`, reads the server's certificate and closes. */
export function handshake(port: number, tls: ClientTls, alpn = ["h2", "http/1.1"]): Promise<Handshake> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: "127.0.0.1", port, ...tls, ALPNProtocols: alpn }, () => {
      const peer = socket.getPeerCertificate();
      resolve({
        fingerprint256: peer.fingerprint256,
        serialNumber: peer.serialNumber,
        alpnProtocol: socket.alpnProtocol,
      });
      socket.end();
    });
    socket.once("error", reject);
  });
}

/** GET `path` over HTTPS (HTTP/1.1) on the web port: the status code. */
export function httpsGet(port: number, path: string, tls: ClientTls): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = get({ host: "127.0.0.1", port, path, ...tls, agent: false }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    request.once("error", reject);
  });
}

/** Connect-protocol clients over HTTPS on the web port, HTTP/1.1 or HTTP/2 (ALPN). */
export function connectTlsClients(port: number, tls: ClientTls, httpVersion: "1.1" | "2", token?: string) {
  const transport: Transport = createConnectTransport({
    baseUrl: `https://127.0.0.1:${port}`,
    httpVersion,
    nodeOptions: { ...tls },
    interceptors: token ? [bearerToken(token)] : [],
  });
  return clientsOver(transport);
}

/** gRPC-protocol clients (connect-node over HTTP/2 with TLS), either port. */
export function grpcTlsClients(port: number, tls: ClientTls, token?: string) {
  return clientsOver(clientTransport({ server: `https://127.0.0.1:${port}`, token, ...tls }));
}

/** grpc-js channel credentials trusting `tls.ca`, presenting its client certificate if any. */
export function grpcJsCredentials(tls: ClientTls): grpc.ChannelCredentials {
  return grpc.credentials.createSsl(tls.ca, tls.key ?? null, tls.cert ?? null);
}

/** The reference grpc-js clients (grpc-client.ts) over TLS. */
export function grpcJsTlsClients(port: number, tls: ClientTls) {
  return grpcClients(port, grpcJsCredentials(tls));
}
