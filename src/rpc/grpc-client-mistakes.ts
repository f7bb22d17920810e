/**
 * grpc-js answers some malformed requests with INTERNAL although the mistake is the client's:
 * a compressed body that does not decompress, an unparseable grpc-timeout header, a unary
 * call without exactly one request message (UNIMPLEMENTED). Those statuses are produced inside
 * grpc-js, before any handler or interceptor, so this module rewrites them at the one place
 * every status passes: the base call's sendStatus. Each rewrite names the header or limit.
 * Pinned grpc-js version; test/integration/malformed-grpc.test.ts fails if the texts change.
 */
import { createRequire } from "node:module";
import type { StatusObject } from "@grpc/grpc-js";

const INVALID_ARGUMENT = 3;
const UNIMPLEMENTED = 12;
const INTERNAL = 13;

type PartialStatus = Partial<StatusObject> & { code: number; details: string };
interface BaseCall {
  incomingEncoding?: string;
  sendStatus(status: PartialStatus): void;
}

/** The status to send instead of `status`, or `status` itself when it is not a client's mistake. */
export function clientMistakeStatus(status: PartialStatus, encoding: string | undefined): PartialStatus {
  const { code, details } = status;
  // Every answered call passes here: the usual codes return before anything is built.
  if (code !== INTERNAL && code !== UNIMPLEMENTED) return status;
  const as = (text: string): PartialStatus => ({ ...status, code: INVALID_ARGUMENT, details: text });
  if (code === INTERNAL && details === "Failed to decompress message")
    return as(
      `request message: the compressed flag is set but the body is not valid ${encoding ?? "compressed"} data (grpc-encoding: ${encoding ?? "unset"})`,
    );
  if (code === INTERNAL && details.startsWith("Invalid grpc-timeout value"))
    return as(
      `grpc-timeout: ${details.slice("Invalid grpc-timeout value ".length)} is not 1-8 digits followed by a unit H, M, S, m, u or n`,
    );
  if (code === INTERNAL && details.startsWith("Error deserializing request"))
    return as("request message: not a valid protobuf encoding of the request type");
  if (code === UNIMPLEMENTED && details.startsWith("Received no request message"))
    return as("request message: this method takes exactly one request message and the call carried none");
  if (code === UNIMPLEMENTED && details.startsWith("Received a second request message"))
    return as("request message: this method takes exactly one request message and the call carried more");
  return status;
}

let installed = false;

/** Rewrites grpc-js's statuses for clients' mistakes process-wide; idempotent. */
export function installClientMistakeStatuses(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const { BaseServerInterceptingCall } = require("@grpc/grpc-js/build/src/server-interceptors.js") as {
    BaseServerInterceptingCall: { prototype: BaseCall };
  };
  const original = BaseServerInterceptingCall.prototype.sendStatus;
  BaseServerInterceptingCall.prototype.sendStatus = function sendStatus(this: BaseCall, status) {
    original.call(this, clientMistakeStatus(status, this.incomingEncoding));
  };
}
