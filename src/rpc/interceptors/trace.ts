/**
 * One OpenTelemetry server span per RPC, on both ports: a wrapper over a binding's methods
 * like observe.ts, so Connect, gRPC-Web and plain gRPC calls are traced by the same code. The
 * parent is the W3C trace context the call carried (trace-context.ts). Loaded only when
 * tracing is on (app/tracing.ts): with it off, no binding is wrapped and no span object exists.
 *
 * Attributes: rpc.system, rpc.service, rpc.method, rpc.grpc.status_code; fulcrum.service and
 * fulcrum.backend from the request; for Select, fulcrum.backend is the chosen backend id (ids
 * comma-separated when count > 1) and fulcrum.strategy the service's strategy; fulcrum.result
 * is `ok` or the error code, fulcrum.failure_reason the refusal's reason (balancer/decision.ts,
 * e.g. NO_HEALTHY_BACKEND) or the error message. A request's payload is never recorded.
 */
import type { HandlerContext } from "@connectrpc/connect";
import {
  type Attributes,
  defaultTextMapGetter,
  ROOT_CONTEXT,
  type Span,
  SpanKind,
  SpanStatusCode,
  type TextMapPropagator,
  type Tracer,
} from "@opentelemetry/api";
import { FulcrumError } from "../../shared/errors.js";
import { type AnswerEach, type StreamAnswerer, wrapMethods } from "../answer-each.js";
import { GRPC_STATUS } from "../errors.js";
import type { ServiceBinding } from "../grpc-server.js";
import { TRACE_CARRIER } from "./trace-context.js";

/** What the wrapper needs. */
export interface RpcTracingOptions {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  /** The strategy a registered service selects with; undefined for an unknown service. */
  readonly strategyOf: (service: string) => string | undefined;
}

/** gRPC codes that mark a server span as failed (OpenTelemetry's RPC conventions). */
const SERVER_ERROR_CODES = new Set([2, 4, 12, 13, 14, 15]);
/** A failure message longer than this is cut in the span. */
const MAX_REASON_CHARS = 256;

type Message = Record<string, unknown>;

function requestAttributes(request: unknown, attributes: Attributes): void {
  if (typeof request !== "object" || request === null || Symbol.asyncIterator in request) return;
  const { service, backendId } = request as Message;
  if (typeof service === "string" && service) attributes["fulcrum.service"] = service;
  if (typeof backendId === "string" && backendId) attributes["fulcrum.backend"] = backendId;
}

function startSpan(options: RpcTracingOptions, name: string, args: unknown[]): Span {
  const context = args[1] as HandlerContext | undefined;
  const carrier = context?.values?.get(TRACE_CARRIER);
  const parent = carrier
    ? options.propagator.extract(ROOT_CONTEXT, carrier, defaultTextMapGetter)
    : ROOT_CONTEXT;
  const [service, method] = name.split("/") as [string, string];
  const attributes: Attributes = {
    "rpc.system": carrier?.system ?? "grpc",
    "rpc.service": service,
    "rpc.method": method,
  };
  requestAttributes(args[0], attributes);
  return options.tracer.startSpan(name, { kind: SpanKind.SERVER, attributes }, parent);
}

/** Select's answer: which backends, and the strategy of the service that chose them. */
function selectAttributes(span: Span, options: RpcTracingOptions, request: unknown, response: unknown): void {
  const service = (request as Message).service as string;
  const strategy = options.strategyOf(service);
  if (strategy) span.setAttribute("fulcrum.strategy", strategy);
  const backends = (response as { backends?: { id: string }[] } | undefined)?.backends;
  if (backends && backends.length > 0)
    span.setAttribute("fulcrum.backend", backends.map((b) => b.id).join(","));
}

function succeeded(span: Span): void {
  span.setAttributes({ "rpc.grpc.status_code": 0, "fulcrum.result": "ok" });
  span.end();
}

/** A stream the client closed (a Watch's usual end): CANCELLED, not a failure of ours. */
function cancelled(span: Span): void {
  span.setAttributes({ "rpc.grpc.status_code": 1, "fulcrum.result": "cancelled" });
  span.end();
}

function failed(span: Span, error: unknown): void {
  const failure = error instanceof FulcrumError ? error : undefined;
  const code = failure?.code ?? "internal";
  const status = GRPC_STATUS[code];
  // An unexpected error's message may say anything about our internals: it stays in the log.
  const reason = failure
    ? (failure.detail.reason ?? failure.message.slice(0, MAX_REASON_CHARS))
    : "internal error";
  span.setAttributes({
    "rpc.grpc.status_code": status,
    "fulcrum.result": code,
    "fulcrum.failure_reason": reason,
  });
  if (SERVER_ERROR_CODES.has(status)) span.setStatus({ code: SpanStatusCode.ERROR, message: reason });
  span.end();
}

/** A per-message stream (answer-each.ts) in a span from open to close, like its generator form. */
function traceEach(name: string, each: AnswerEach, options: RpcTracingOptions): AnswerEach {
  return (context) => {
    const span = startSpan(options, name, [undefined, context]);
    let answerer: StreamAnswerer;
    try {
      answerer = each(context);
    } catch (error) {
      failed(span, error);
      throw error;
    }
    return {
      answer: (request) => answerer.answer(request),
      close(error) {
        answerer.close?.(error);
        if (error !== undefined) failed(span, error);
        else if (context.signal.aborted) cancelled(span);
        else succeeded(span);
      },
    };
  };
}

/** Wraps every method of `binding` in a server span (see the file comment). */
export function traceBinding(binding: ServiceBinding, options: RpcTracingOptions): ServiceBinding {
  const impl: ServiceBinding["impl"] = {};
  for (const method of binding.service.methods) {
    const fn = binding.impl[method.localName];
    if (!fn) continue;
    const name = `${binding.service.typeName}/${method.name}`;
    const isSelect = method.name === "Select";
    const streamsOut = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
    impl[method.localName] = streamsOut
      ? async function* (...args: unknown[]) {
          const span = startSpan(options, name, args);
          let failure: { error: unknown } | undefined;
          try {
            yield* fn(...args);
          } catch (error) {
            failure = { error };
            throw error;
          } finally {
            if (failure) failed(span, failure.error);
            else if ((args[1] as HandlerContext | undefined)?.signal.aborted) cancelled(span);
            else succeeded(span);
          }
        }
      : (...args: unknown[]) => {
          const span = startSpan(options, name, args);
          const answered = (response: unknown) => {
            if (isSelect) selectAttributes(span, options, args[0], response);
            succeeded(span);
            return response;
          };
          const refused = (error: unknown) => {
            if (isSelect) selectAttributes(span, options, args[0], undefined);
            failed(span, error);
            throw error;
          };
          try {
            const result = fn(...args);
            return result instanceof Promise ? result.then(answered, refused) : answered(result);
          } catch (error) {
            return refused(error);
          }
        };
  }
  const answerEach = wrapMethods(binding.service, binding.answerEach, (method, each) =>
    traceEach(`${binding.service.typeName}/${method.name}`, each, options),
  );
  return { service: binding.service, impl, ...(answerEach && { answerEach }) };
}
