/**
 * Messages to and from bytes for the gRPC port (grpc-js asks for a serializer and a
 * deserializer per method): hot messages take hand-written code, and a server stream's
 * messages (one Watch change written to every watcher) are serialized once per message
 * through the EncodingCache.
 */
import { type DescMessage, type DescMethod, fromBinary, toBinary } from "@bufbuild/protobuf";
import * as B from "../../../gen/fulcrum/v1/balancer_pb.js";
import type { EncodingCache } from "./encoding-cache.js";
import { readSelectRequest, readSelectStreamRequest } from "./select-read.js";
import { encodeSelectResponseFast, encodeSelectStreamResponseFast } from "./select-wire.js";

type Message = Parameters<typeof toBinary>[1];

function generic(desc: DescMessage): (message: Message) => Uint8Array {
  return (message) => toBinary(desc, message);
}

/**
 * The serializer of `desc` messages: hand-written for SelectResponse and SelectStreamResponse
 * (with a generic fallback for what the fast path declines), else toBinary.
 */
export function messageEncoder(desc: DescMessage, cache: EncodingCache): (message: Message) => Uint8Array {
  const encode = generic(desc);
  switch (desc.typeName) {
    case B.SelectResponseSchema.typeName:
      return (message) => encodeSelectResponseFast(message as B.SelectResponse, cache) ?? encode(message);
    case B.SelectStreamResponseSchema.typeName:
      return (message) =>
        encodeSelectStreamResponseFast(message as B.SelectStreamResponse, cache) ?? encode(message);
    default:
      return encode;
  }
}

/** The serializer of `method`'s responses; a server stream's are remembered per message object. */
export function responseEncoder(method: DescMethod, cache: EncodingCache): (message: Message) => Uint8Array {
  const encode = messageEncoder(method.output, cache);
  if (method.methodKind !== "server_streaming") return encode;
  return (message) => cache.bytes(message, encode);
}

/**
 * The deserializer of `desc` messages: hand-written for the usual SelectRequest and
 * SelectStreamRequest (fromBinary reads the rest), else fromBinary. Throws on bytes that do not decode.
 */
export function messageDecoder(desc: DescMessage): (bytes: Buffer) => Message {
  const decode = (bytes: Buffer) => fromBinary(desc, bytes);
  switch (desc.typeName) {
    case B.SelectRequestSchema.typeName:
      return (bytes) => readSelectRequest(bytes) ?? decode(bytes);
    case B.SelectStreamRequestSchema.typeName:
      return (bytes) => readSelectStreamRequest(bytes) ?? decode(bytes);
    default:
      return decode;
  }
}
