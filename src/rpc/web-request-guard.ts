/**
 * connect-es parses request messages before any interceptor or implementation runs, and
 * answers INTERNAL for bytes that do not decode, for a compressed flag without an encoding and
 * (UNIMPLEMENTED) for a unary call with no message: a client's mistakes answered as our fault.
 * This guard reads the request body ahead of connect-es, checks each
 * message the way the gRPC port does (malformed-request.ts) and ends the body with an
 * INVALID_ARGUMENT ConnectError naming the problem, which connect-es then answers in the
 * caller's protocol (Connect, gRPC-Web, gRPC). Good messages pass through unchanged, except
 * that a compressed envelope is passed on decompressed (no second decompression).
 */
import type { DescMessage, Message } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Compression, UniversalHandler, UniversalServerRequest } from "@connectrpc/connect/protocol";
import { invalidArgument } from "../shared/errors.js";
import * as codec from "./codec/index.js";
import { decodeRequest, MalformedRequest } from "./malformed-request.js";

/** What the guard needs from the web server. */
export interface RequestGuardOptions {
  readonly readMaxBytes: number;
  readonly compressions: readonly Compression[];
  /** Our errors as connect-es sends them (details, bounded size). */
  readonly toConnectError: (error: unknown) => ConnectError;
}

const ENVELOPE_PREFIX_BYTES = 5;
const COMPRESSED_FLAG = 0b1;

/** How a request's body carries its messages, from its content type. */
interface Framing {
  readonly enveloped: boolean;
  readonly binary: boolean;
  /** The header naming the compression of the messages. */
  readonly encodingHeader: string;
}

function framingOf(contentType: string | null): Framing | undefined {
  const type = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  const grpc = /^application\/grpc(-web)?(\+(proto|json))?$/.exec(type);
  if (grpc) return { enveloped: true, binary: grpc[3] !== "json", encodingHeader: "grpc-encoding" };
  const connectStream = /^application\/connect\+(proto|json)$/.exec(type);
  if (connectStream)
    return {
      enveloped: true,
      binary: connectStream[1] === "proto",
      encodingHeader: "connect-content-encoding",
    };
  if (type === "application/proto")
    return { enveloped: false, binary: true, encodingHeader: "content-encoding" };
  return undefined;
}

/** `handler` with every request body checked first; the handler's routing properties stay. */
export function guardRequests(handler: UniversalHandler, options: RequestGuardOptions): UniversalHandler {
  const { method } = handler;
  const decode = codec.messageDecoder(method.input);
  const singleRequest = method.methodKind === "unary" || method.methodKind === "server_streaming";
  const guarded = (request: UniversalServerRequest) => {
    const framing = framingOf(request.header.get("content-type"));

    if (!framing || request.method !== "POST" || !isByteStream(request.body)) return handler(request);
    const encoding = request.header.get(framing.encodingHeader);
    const compression = options.compressions.find((c) => c.name === encoding);
    const check: Check = {
      desc: method.input,
      decode,
      name: method.name,
      framing,
      encoding,
      compression,
      singleRequest,
    };
    const body = framing.enveloped
      ? checkedEnvelopes(request.body, check, options)
      : checkedWholeBody(request.body, check, options);
    return handler({ ...request, body });
  };
  return Object.assign(guarded, handler);
}

function isByteStream(body: unknown): body is AsyncIterable<Uint8Array> {
  return typeof body === "object" && body !== null && Symbol.asyncIterator in body;
}

interface Check {
  readonly desc: DescMessage;
  /** The gRPC port's reader of `desc` (hand-written for Select), so a valid message costs the same here. */
  readonly decode: (bytes: Buffer) => Message;
  readonly name: string;
  readonly framing: Framing;
  readonly encoding: string | null;
  /** The request's compression, when connect-es knows its name. */
  readonly compression: Compression | undefined;
  readonly singleRequest: boolean;
}

function refusal(options: RequestGuardOptions, field: string, description: string): ConnectError {
  return options.toConnectError(invalidArgument([{ field, description }]));
}

/** The message bytes, checked: decodes as the method's input (binary), else a refusal. */
function checkMessage(bytes: Uint8Array, check: Check, options: RequestGuardOptions): void {
  if (!check.framing.binary) return; // JSON is checked by the strict JSON options.
  const decoded = decodeRequest(
    check.desc,
    Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength),
    check.decode as (bytes: Uint8Array) => Message,
  );
  if (decoded instanceof MalformedRequest) throw options.toConnectError(decoded.error);
}

/**
 * `data` decompressed. Past readMaxBytes stays RESOURCE_EXHAUSTED naming the limit; bytes that
 * do not decompress (connect-node answers INTERNAL for a truncated stream) are the client's.
 */
async function decompressed(
  data: Uint8Array,
  compression: Compression,
  field: string,
  options: RequestGuardOptions,
): Promise<Uint8Array> {
  try {
    return await compression.decompress(data, options.readMaxBytes);
  } catch (error) {
    if (error instanceof ConnectError && error.code === Code.ResourceExhausted) throw error;
    const cause = error instanceof ConnectError ? (error.cause ?? error) : error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw refusal(options, field, `the message does not decompress as ${compression.name}: ${reason}`);
  }
}

/** Decompresses a compressed message, or refuses one whose encoding the request does not name. */
async function uncompressed(
  data: Uint8Array,
  check: Check,
  options: RequestGuardOptions,
): Promise<Uint8Array> {
  if (check.compression) return decompressed(data, check.compression, check.framing.encodingHeader, options);
  throw refusal(
    options,
    check.framing.encodingHeader,
    `the message is compressed (flag 1) but ${check.framing.encodingHeader} names ${check.encoding ? `"${check.encoding}", not a supported encoding` : "no encoding"}`,
  );
}

/**
 * Envelopes (flag byte, 4-byte length, message) checked one by one. A length past readMaxBytes
 * and a body cut short are passed on as they are: connect-es answers those precisely
 * (RESOURCE_EXHAUSTED naming the limit, INVALID_ARGUMENT "incomplete envelope").
 */
async function* checkedEnvelopes(
  body: AsyncIterable<Uint8Array>,
  check: Check,
  options: RequestGuardOptions,
): AsyncGenerator<Uint8Array> {
  let buffer: Uint8Array = new Uint8Array(0);
  let messages = 0;
  for await (const chunk of body) {
    buffer = concat(buffer, chunk);
    for (;;) {
      if (buffer.byteLength < ENVELOPE_PREFIX_BYTES) break;
      const flags = buffer[0]!;
      const length = new DataView(buffer.buffer, buffer.byteOffset, 5).getUint32(1);
      if (length > options.readMaxBytes) {
        yield buffer;
        yield* body;
        return;
      }
      if (buffer.byteLength < ENVELOPE_PREFIX_BYTES + length) break;
      const data = buffer.subarray(ENVELOPE_PREFIX_BYTES, ENVELOPE_PREFIX_BYTES + length);
      buffer = buffer.subarray(ENVELOPE_PREFIX_BYTES + length);
      if (flags & ~COMPRESSED_FLAG)
        throw refusal(
          options,
          "envelope flags",
          `flag byte 0x${flags.toString(16)} is not 0 (plain) or 1 (compressed)`,
        );
      const message = flags & COMPRESSED_FLAG ? await uncompressed(data, check, options) : data;
      checkMessage(message, check, options);
      if (++messages > 1 && check.singleRequest)
        throw refusal(
          options,
          "request",
          `${check.name} takes exactly one request message; this request carries more`,
        );
      yield envelope(message);
    }
  }
  if (buffer.byteLength > 0) yield buffer;
  else if (messages === 0 && check.singleRequest)
    throw refusal(
      options,
      "request",
      `${check.name} takes exactly one request message; this request carries none`,
    );
}

/** A Connect unary body: one message, compressed as content-encoding says. */
async function* checkedWholeBody(
  body: AsyncIterable<Uint8Array>,
  check: Check,
  options: RequestGuardOptions,
): AsyncGenerator<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    bytes += chunk.byteLength;
    if (bytes > options.readMaxBytes) {
      // Too big: connect-es refuses it naming the limit.
      yield* chunks;
      yield* body;
      return;
    }
  }
  const whole = concat(...chunks);
  const encoded = check.encoding && check.encoding !== "identity";
  const message =
    encoded && check.compression
      ? await decompressed(whole, check.compression, check.framing.encodingHeader, options)
      : whole;
  checkMessage(message, check, options);
  yield whole;
}

function envelope(message: Uint8Array): Uint8Array {
  const framed = new Uint8Array(ENVELOPE_PREFIX_BYTES + message.byteLength);
  new DataView(framed.buffer).setUint32(1, message.byteLength);
  framed.set(message, ENVELOPE_PREFIX_BYTES);
  return framed;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}
