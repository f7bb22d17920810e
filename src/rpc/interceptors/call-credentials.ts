/**
 * What a call presented (a bearer token, a verified client certificate), read by each
 * transport and handed to the service wrappers through the handler context's values, so the
 * authorization rules (authorize.ts) are written once for both ports.
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { PeerCertificate, TLSSocket } from "node:tls";
import { type ContextValues, createContextKey, createContextValues } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import type { Credentials } from "../../auth/access-table.js";
import type { GrpcCallInfo } from "../grpc-server.js";

/** The context key holding a call's Credentials (none when the transport gave nothing). */
export const CALL_CREDENTIALS = createContextKey<Credentials>({});

const BEARER = /^Bearer\s+(\S+)\s*$/i;

function tokenOf(authorization: string | undefined): string | undefined {
  return authorization ? BEARER.exec(authorization)?.[1] : undefined;
}

/**
 * The identities of a verified client certificate: every DNS, URI and IP SAN, then the CN.
 * An empty certificate object (none presented) gives none.
 */
export function certificateIdentities(certificate: PeerCertificate | undefined): string[] {
  if (!certificate || Object.keys(certificate).length === 0) return [];
  const sans = (certificate.subjectaltname ?? "")
    .split(",")
    .map((entry) => entry.trim().replace(/^(DNS|URI|IP Address|email):/, ""))
    .filter(Boolean);
  const cn = certificate.subject?.CN;
  return [...sans, ...(typeof cn === "string" ? [cn] : [])];
}

/** Credentials of a Connect / gRPC-Web / HTTP request on the web port. */
export function credentialsOfHttpRequest(
  req: http.IncomingMessage | http2.Http2ServerRequest,
): ContextValues {
  const socket = req.socket as TLSSocket;
  const certificate = socket.authorized ? socket.getPeerCertificate() : undefined;
  const header = req.headers.authorization;
  return createContextValues().set(CALL_CREDENTIALS, {
    token: tokenOf(Array.isArray(header) ? header[0] : header),
    certificateIdentities: certificateIdentities(certificate),
  });
}

/** Credentials from grpc-js call metadata and the connection's TLS state. */
export function grpcCredentials(
  metadata: grpc.Metadata,
  auth: ReturnType<GrpcCallInfo["getAuthContext"]> | undefined,
): Credentials {
  const header = metadata.get("authorization")[0];
  return {
    token: tokenOf(typeof header === "string" ? header : header?.toString("utf8")),
    certificateIdentities: certificateIdentities(auth?.sslPeerCertificate),
  };
}

/** Credentials of a call on the grpc-js port, as context values. */
export function credentialsOfGrpcCall(call: GrpcCallInfo): ContextValues {
  return createContextValues().set(CALL_CREDENTIALS, grpcCredentials(call.metadata, call.getAuthContext()));
}
