/**
 * The W3C trace context a call arrived with (`traceparent`, `tracestate`), read by each
 * transport into the handler context's values so one tracing wrapper (trace.ts) serves
 * both ports. Used only when tracing is on: with it off, no call reads these headers.
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { type ContextValues, createContextKey, createContextValues } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";

/** What a call carried for tracing, and which RPC system served it (rpc.system). */
export interface TraceCarrier {
  readonly traceparent?: string;
  readonly tracestate?: string;
  readonly system: "grpc" | "connect_rpc";
}

/** The context key holding a call's TraceCarrier. */
export const TRACE_CARRIER = createContextKey<TraceCarrier | undefined>(undefined);

type Header = string | string[] | Buffer | undefined;

function text(value: Header): string | undefined {
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined ? undefined : first.toString();
}

/** Values builder of a transport, as the servers take it (credentials from access control, say). */
export type ValuesOf<Call> = ((call: Call) => ContextValues) | undefined;

/** `base`'s values (or fresh ones) with the gRPC call's trace context added. */
export function withGrpcTraceCarrier<Call extends { metadata: grpc.Metadata }>(
  base: ValuesOf<Call>,
): (call: Call) => ContextValues {
  return (call) => {
    const values = base ? base(call) : createContextValues();
    return values.set(TRACE_CARRIER, {
      traceparent: text(call.metadata.get("traceparent")[0]),
      tracestate: text(call.metadata.get("tracestate")[0]),
      system: "grpc",
    });
  };
}

/** `base`'s values (or fresh ones) with the web request's trace context added. */
export function withHttpTraceCarrier(
  base: ValuesOf<http.IncomingMessage | http2.Http2ServerRequest>,
): (req: http.IncomingMessage | http2.Http2ServerRequest) => ContextValues {
  return (req) => {
    const values = base ? base(req) : createContextValues();
    return values.set(TRACE_CARRIER, {
      traceparent: text(req.headers.traceparent),
      tracestate: text(req.headers.tracestate),
      system: "connect_rpc",
    });
  };
}
