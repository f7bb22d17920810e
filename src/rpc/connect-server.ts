/**
 * Serves the same service implementations with @connectrpc/connect-node on the web port:
 * Connect, gRPC-Web and gRPC, over HTTP/1.1 (browsers, curl) and h2c on one port, told apart
 * by the HTTP/2 connection preface. Plain HTTP routes (/healthz, /readyz, /metrics, the
 * dashboard) are served by the fallback handler. Sockets, timeouts and shutdown: web-listener.ts.
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  type ContextValues,
  createConnectRouter,
} from "@connectrpc/connect";
import {
  compressionBrotli,
  compressionGzip,
  universalResponseToNodeResponse,
} from "@connectrpc/connect-node";
import { type FieldViolation, invalidArgument } from "../shared/errors.js";
import * as codec from "./codec/index.js";
import { withCors } from "./cors.js";
import {
  asFulcrumError,
  boundedError,
  type ErrorLogger,
  type ErrorSizeLimits,
  GRPC_STATUS,
} from "./errors.js";
import type { ServiceBinding } from "./grpc-server.js";
import type { TlsSource } from "./tls/tls-source.js";
import { startWebListener, type WebTimeouts } from "./web-listener.js";
import { guardRequests } from "./web-request-guard.js";
import { universalRequestOf } from "./web-universal-request.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** A plain HTTP handler for paths that are not RPCs; false when it does not serve the path. */
export type HttpRoute = (req: NodeRequest, res: NodeResponse) => boolean;

/** Options of the web server. */
export interface ConnectServerOptions {
  readonly host: string;
  readonly port: number;
  readonly bindings: readonly ServiceBinding[];
  readonly routes: readonly HttpRoute[];
  /** Origins allowed to call across origins (CORS); `*` allows any; empty allows none. */
  readonly corsOrigins: readonly string[];
  readonly maxMessageBytes: number;
  readonly errorLimits: ErrorSizeLimits;
  readonly timeouts: WebTimeouts;
  readonly log: ErrorLogger;
  /** TLS (HTTP/1.1 and HTTP/2 by ALPN); unset, plaintext HTTP/1.1 and h2c. */
  readonly tls?: TlsSource | undefined;
  /** Per-request context values (the caller's credentials). */
  readonly contextValues?: (req: NodeRequest) => ContextValues;
}

/** A running web server. */
export interface ConnectServerHandle {
  readonly port: number;
  /** Stops taking requests at once; idle connections close; anything left after the deadline is cut. */
  close(deadlineMs: number): Promise<void>;
}

function toConnectError(error: unknown, log: ErrorLogger, limits: ErrorSizeLimits): ConnectError {
  if (error instanceof ConnectError) return error;
  const failure = boundedError(asFulcrumError(error, log), limits);
  const details = codec.encodeErrorDetails(failure);
  return new ConnectError(failure.message, GRPC_STATUS[failure.code], undefined, details);
}

/** Wraps every method so a FulcrumError leaves as a ConnectError with its details. */
function withConnectErrors(
  binding: ServiceBinding,
  log: ErrorLogger,
  limits: ErrorSizeLimits,
): ServiceBinding["impl"] {
  const wrapped: ServiceBinding["impl"] = {};
  for (const method of binding.service.methods) {
    const fn = binding.impl[method.localName];
    if (!fn) continue;
    const streamsOut = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
    wrapped[method.localName] = streamsOut
      ? async function* (...args: unknown[]) {
          try {
            yield* fn(...args);
          } catch (error) {
            throw toConnectError(error, log, limits);
          }
        }
      : async (...args: unknown[]) => {
          try {
            return await fn(...args);
          } catch (error) {
            throw toConnectError(error, log, limits);
          }
        };
  }
  return wrapped;
}

/**
 * Routes each method of `binding` with its own JSON read options: unknown fields and enum
 * names are INVALID_ARGUMENT naming the field path (docs/behaviour.md O5), before the method runs.
 */
function routeStrictly(
  router: ConnectRouter,
  binding: ServiceBinding,
  log: ErrorLogger,
  limits: ErrorSizeLimits,
) {
  const impl = withConnectErrors(binding, log, limits);
  const reject = (violation: FieldViolation) => toConnectError(invalidArgument([violation]), log, limits);
  for (const method of binding.service.methods) {
    const fn = impl[method.localName];
    if (fn)
      router.rpc(method as never, fn as never, {
        jsonOptions: codec.strictJsonOptions(method.input, reject),
      });
  }
}

/**
 * The Node request handler: connect-node's adapter (the request side is our own,
 * web-universal-request.ts), with every RPC's body checked before connect-es parses it
 * (web-request-guard.ts), so a client's bad bytes are INVALID_ARGUMENT.
 */
function webHandler(options: ConnectServerOptions) {
  const compressions = [compressionGzip, compressionBrotli];
  const router = createConnectRouter({
    readMaxBytes: options.maxMessageBytes,
    writeMaxBytes: options.maxMessageBytes,
    acceptCompression: compressions,
  });
  for (const binding of options.bindings) routeStrictly(router, binding, options.log, options.errorLimits);
  const guard = {
    readMaxBytes: options.maxMessageBytes,
    compressions,
    toConnectError: (error: unknown) => toConnectError(error, options.log, options.errorLimits),
  };
  const rpcs = new Map(
    router.handlers.map((handler) => [handler.requestPath, guardRequests(handler, guard)]),
  );
  return (req: NodeRequest, res: NodeResponse) => {
    const rpc = rpcs.get(req.url?.split("?", 2)[0] ?? "");
    if (!rpc) {
      for (const route of options.routes) if (route(req, res)) return;
      res.writeHead(404, { "content-type": "text/plain" });
      res.end("not found\n");
      return;
    }
    const request = universalRequestOf(req, res, options.contextValues?.(req));
    if (!request) {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end("the request names no usable host (Host header or :authority)\n");
      return;
    }
    rpc(request)
      .then((response) => universalResponseToNodeResponse(response, res))
      .catch((reason) => {
        if (ConnectError.from(reason).code !== Code.Aborted) options.log(`web rpc ${req.url} failed`, reason);
      });
  };
}

/** Starts the web server; resolves once it listens. */
export async function startConnectServer(options: ConnectServerOptions): Promise<ConnectServerHandle> {
  const listener = await startWebListener(
    options.host,
    options.port,
    withCors(options.corsOrigins, webHandler(options)),
    options.timeouts,
    options.tls,
  );
  return { port: listener.port, close: (deadlineMs) => listener.close(deadlineMs) };
}
