/**
 * Serves service implementations over @grpc/grpc-js (the fast plain-gRPC port), using the
 * buf-generated schemas for (de)serialization, plus grpc.health.v1 and server reflection.
 * Errors become a status with google.rpc details in grpc-status-details-bin.
 */

import type { DescMessage, DescMethod, DescService, Message } from "@bufbuild/protobuf";
import type { ContextValues, HandlerContext } from "@connectrpc/connect";
import * as grpc from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import type { AnswerEach, AnswerEachMethods } from "./answer-each.js";
import * as codec from "./codec/index.js";
import {
  asFulcrumError,
  boundedError,
  type ErrorLogger,
  type ErrorSizeLimits,
  GRPC_STATUS,
} from "./errors.js";
import { runAnswerStream } from "./grpc-answer-stream.js";
import { installClientMistakeStatuses } from "./grpc-client-mistakes.js";
import { runPushStream } from "./grpc-push-stream.js";
import { decodeRequest, MalformedRequest } from "./malformed-request.js";
import type { PushEach, PushEachMethods } from "./push-each.js";
import { addReflection } from "./reflection.js";

/** A service descriptor with its implementation (Connect's ServiceImpl shape). */
export interface ServiceBinding {
  readonly service: DescService;
  // biome-ignore lint/suspicious/noExplicitAny: the implementation's methods are called by name.
  readonly impl: Record<string, (...args: any[]) => any>;
  /** Bidi methods that also come in per-message form (answer-each.ts), by local name. */
  readonly answerEach?: AnswerEachMethods;
  /** Server-streaming methods that also come in push form (push-each.ts), by local name. */
  readonly pushEach?: PushEachMethods;
}

/** What every kind of grpc-js call tells about its caller. */
export type GrpcCallInfo = Pick<grpc.ServerUnaryCall<unknown, unknown>, "metadata" | "getAuthContext">;

/** Options of the gRPC server. */
export interface GrpcServerOptions {
  readonly host: string;
  readonly port: number;
  readonly bindings: readonly ServiceBinding[];
  readonly maxMessageBytes: number;
  /** A connection without calls for this long gets GOAWAY and is closed (silent sockets too). */
  readonly idleTimeoutMs: number;
  readonly errorLimits: ErrorSizeLimits;
  readonly log: ErrorLogger;
  /** The server's encoding cache, shared with the service implementations. */
  readonly encodings: codec.EncodingCache;
  /** Per-call context values (the caller's credentials); unset, unary calls share one context. */
  readonly contextValuesOf?: (call: GrpcCallInfo) => ContextValues;
  /** grpc-js server interceptors, for every service served here (health and reflection too). */
  readonly interceptors?: grpc.ServerInterceptor[];
  /** TLS (and mTLS) credentials; unset, plaintext h2c. */
  readonly credentials?: grpc.ServerCredentials;
}

/** A running gRPC server. */
export interface GrpcServerHandle {
  readonly port: number;
  readonly health: HealthImplementation;
  /** Stops accepting, lets calls finish until the deadline, then cancels the rest. */
  close(deadlineMs: number): Promise<void>;
}

type Encode = (message: never) => Uint8Array;

/**
 * grpc-js wants a Buffer: a view over the encoded bytes, no copy. Bytes pass through as they
 * are: stream handlers encode their answers themselves (writeAll) to count them.
 */
function asBuffer(encode: Encode) {
  return (message: unknown) => {
    const bytes = message instanceof Uint8Array ? message : encode(message as never);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
}

/** Never throws: bytes that do not decode become a MalformedRequest the handler answers. */
function deserializer(desc: DescMessage) {
  // grpc-js hands every message over as a Buffer, which the hand-written readers take.
  const decode = codec.messageDecoder(desc) as (bytes: Uint8Array) => Message;
  return (bytes: Buffer) => decodeRequest(desc, bytes, decode);
}

/** How a handler turns a thrown value into the status it sends. */
type StatusOf = (error: unknown) => grpc.StatusObject;

function toServiceError(error: unknown, log: ErrorLogger, limits: ErrorSizeLimits): grpc.StatusObject {
  const failure = boundedError(asFulcrumError(error, log), limits);
  const code = GRPC_STATUS[failure.code];
  const metadata = new grpc.Metadata();
  metadata.set(
    "grpc-status-details-bin",
    Buffer.from(codec.statusToBinary(codec.encodeErrorStatus(failure, code))),
  );
  return { code, details: failure.message, metadata };
}

/** Ends a streaming call with `status`: grpc-js sends it as trailers after the queued writes. */
function failStream(
  call: grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
  status: grpc.StatusObject,
) {
  call.emit("error", Object.assign(new Error(status.details), status));
}

/** Unary handlers never wait on the signal: one shared, never-aborted context saves an AbortController per call. */
const UNARY_CONTEXT = { signal: new AbortController().signal } as HandlerContext;

/** Builds a call's context values, when the server was given a way to. */
type ValuesOf = GrpcServerOptions["contextValuesOf"];

function unaryContextOf(call: GrpcCallInfo, valuesOf: ValuesOf): HandlerContext {
  return valuesOf
    ? ({ signal: UNARY_CONTEXT.signal, values: valuesOf(call) } as HandlerContext)
    : UNARY_CONTEXT;
}

/** A context whose signal aborts when a streaming call is cancelled or closed. */
function streamContextOf(call: NodeJS.EventEmitter & GrpcCallInfo, valuesOf: ValuesOf): HandlerContext {
  const controller = new AbortController();
  const abort = () => {
    if (!controller.signal.aborted) controller.abort();
  };
  call.once("cancelled", abort);
  call.once("close", abort);
  return { signal: controller.signal, ...(valuesOf && { values: valuesOf(call) }) } as HandlerContext;
}

/**
 * The requests of a client stream. `destroyOnReturn: false`: when the handler's loop ends,
 * the call must stay open so the answers still queued are written and the status is sent.
 */
async function* requestsOf(
  call: grpc.ServerReadableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>,
) {
  for await (const request of call.iterator({ destroyOnReturn: false })) {
    if (request instanceof MalformedRequest) throw request.error;
    yield request;
  }
}

/**
 * Messages a stream may hold unwritten before its producer waits for them to be flushed.
 * grpc-js streams signal backpressure at 16 queued objects; waiting there stalls a busy
 * SelectStream between every few answers, while this bound still caps a slow reader.
 */
const MAX_BUFFERED_WRITES = 256;
/**
 * Bytes a stream may hold unwritten (grpc-js's buffer and the HTTP/2 stream's) before its
 * producer waits: with big messages a count alone would let a reader that never reads hold
 * 256 of them. Past it, a Watch's own byte-bounded queue takes over.
 */
const MAX_BUFFERED_BYTES = 1024 * 1024;

type WritableCall = grpc.ServerWritableStream<unknown, unknown> | grpc.ServerDuplexStream<unknown, unknown>;

/** Resolves once `bytes`, and so everything written before them, has left grpc-js, or the call ends. */
function writeFlushed(call: WritableCall, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("cancelled", done);
      call.off("close", done);
      resolve();
    };
    call.once("cancelled", done);
    call.once("close", done);
    call.write(bytes, done);
  });
}

/**
 * Writes an async iterable to a writable call, encoded here so its bytes are known, honouring
 * backpressure in messages and in bytes.
 */
async function writeAll(call: WritableCall, source: AsyncIterable<unknown>, encode: Encode) {
  let unflushedBytes = 0;
  for await (const message of source) {
    if (call.cancelled) break;
    const bytes = encode(message as never);
    unflushedBytes += bytes.byteLength;
    if (unflushedBytes < MAX_BUFFERED_BYTES && call.writableLength < MAX_BUFFERED_WRITES) {
      call.write(bytes);
      continue;
    }
    await writeFlushed(call, bytes);
    unflushedBytes = 0;
  }
}

/** The other forms of a method (answer-each.ts, push-each.ts), when the binding has them. */
interface MethodForms {
  readonly each: AnswerEach | undefined;
  readonly push: PushEach | undefined;
}

function handlerFor(
  method: DescMethod,
  fn: (...args: unknown[]) => unknown,
  statusOf: StatusOf,
  valuesOf: ValuesOf,
  encode: Encode,
  { each, push }: MethodForms,
): grpc.UntypedHandleCall {
  const options = {
    statusOf,
    fail: failStream,
    encode,
    maxBuffered: MAX_BUFFERED_WRITES,
    maxBufferedBytes: MAX_BUFFERED_BYTES,
  };
  if (each && method.methodKind === "bidi_streaming")
    return (call: grpc.ServerDuplexStream<unknown, unknown>) =>
      runAnswerStream(call, each, streamContextOf(call, valuesOf), options);
  if (push && method.methodKind === "server_streaming")
    return (call: grpc.ServerWritableStream<unknown, unknown>) => {
      if (call.request instanceof MalformedRequest) return failStream(call, statusOf(call.request.error));
      runPushStream(call, push, streamContextOf(call, valuesOf), options);
    };
  switch (method.methodKind) {
    case "unary":
      return (call: grpc.ServerUnaryCall<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        if (call.request instanceof MalformedRequest) return callback(statusOf(call.request.error));
        try {
          const result = fn(call.request, unaryContextOf(call, valuesOf));
          if (result instanceof Promise)
            result.then(
              (r) => callback(null, r),
              (e) => callback(statusOf(e)),
            );
          else callback(null, result);
        } catch (error) {
          callback(statusOf(error));
        }
      };
    case "server_streaming":
      return (call: grpc.ServerWritableStream<unknown, unknown>) => {
        if (call.request instanceof MalformedRequest) return failStream(call, statusOf(call.request.error));
        const answers = fn(call.request, streamContextOf(call, valuesOf)) as AsyncIterable<unknown>;
        writeAll(call, answers, encode).then(
          () => call.end(),
          (error) => failStream(call, statusOf(error)),
        );
      };
    case "client_streaming":
      return (call: grpc.ServerReadableStream<unknown, unknown>, callback: grpc.sendUnaryData<unknown>) => {
        (fn(requestsOf(call), streamContextOf(call, valuesOf)) as Promise<unknown>).then(
          (r) => callback(null, r),
          (e) => callback(statusOf(e)),
        );
      };
    case "bidi_streaming":
      return (call: grpc.ServerDuplexStream<unknown, unknown>) => {
        const answers = fn(requestsOf(call), streamContextOf(call, valuesOf)) as AsyncIterable<unknown>;
        writeAll(call, answers, encode).then(
          () => call.end(),
          (error) => failStream(call, statusOf(error)),
        );
      };
  }
}

function definitionOf(
  binding: ServiceBinding,
  statusOf: StatusOf,
  encodings: codec.EncodingCache,
  valuesOf: ValuesOf,
) {
  const definition: Record<string, grpc.MethodDefinition<unknown, unknown>> = {};
  const handlers: grpc.UntypedServiceImplementation = {};
  for (const method of binding.service.methods) {
    const encodeResponse = codec.responseEncoder(method, encodings);
    definition[method.localName] = {
      path: `/${binding.service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      requestSerialize: asBuffer(codec.messageEncoder(method.input, encodings)),
      requestDeserialize: deserializer(method.input),
      responseSerialize: asBuffer(encodeResponse),
      responseDeserialize: deserializer(method.output),
      originalName: method.name,
    };
    const fn = binding.impl[method.localName];
    const forms = {
      each: binding.answerEach?.[method.localName],
      push: binding.pushEach?.[method.localName],
    };
    if (fn) handlers[method.localName] = handlerFor(method, fn, statusOf, valuesOf, encodeResponse, forms);
  }
  return { definition, handlers };
}

/** Starts the gRPC server; resolves once it listens. */
export async function startGrpcServer(options: GrpcServerOptions): Promise<GrpcServerHandle> {
  installClientMistakeStatuses();
  const statusOf: StatusOf = (error) => toServiceError(error, options.log, options.errorLimits);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
    "grpc.max_connection_idle_ms": options.idleTimeoutMs,
    ...(options.interceptors && { interceptors: options.interceptors }),
  });
  for (const binding of options.bindings) {
    const { definition, handlers } = definitionOf(
      binding,
      statusOf,
      options.encodings,
      options.contextValuesOf,
    );
    server.addService(definition as grpc.ServiceDefinition, handlers);
  }
  const health = new HealthImplementation({ "": "NOT_SERVING" });
  health.addToServer(server);
  addReflection(
    server,
    options.bindings.map((binding) => binding.service),
  );
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(
      `${options.host}:${options.port}`,
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    );
  });
  return {
    port,
    health,
    close: (deadlineMs) =>
      new Promise<void>((resolve) => {
        const timer = setTimeout(() => server.forceShutdown(), deadlineMs);
        server.tryShutdown(() => {
          clearTimeout(timer);
          resolve();
        });
      }),
  };
}
