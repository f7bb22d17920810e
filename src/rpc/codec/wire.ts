/**
 * Messages to bytes for the gRPC port (grpc-js asks for a serializer per method): hot
 * messages take a hand-written encoder, and a server stream's messages (one Watch change
 * written to every watcher) are serialized once per message through the EncodingCache.
 */
import { type DescMessage, type DescMethod, toBinary } from "@bufbuild/protobuf";
import * as B from "../../../gen/fulcrum/v1/balancer_pb.js";
import type { EncodingCache } from "./encoding-cache.js";
import { encodeSelectResponseFast } from "./select-wire.js";

type Message = Parameters<typeof toBinary>[1];

function generic(desc: DescMessage): (message: Message) => Uint8Array {
  return (message) => toBinary(desc, message);
}

/** The serializer of `desc` messages: hand-written for SelectResponse (with a generic fallback), else toBinary. */
export function messageEncoder(desc: DescMessage, cache: EncodingCache): (message: Message) => Uint8Array {
  const encode = generic(desc);
  if (desc.typeName !== B.SelectResponseSchema.typeName) return encode;
  return (message) => encodeSelectResponseFast(message as B.SelectResponse, cache) ?? encode(message);
}

/** The serializer of `method`'s responses; a server stream's are remembered per message object. */
export function responseEncoder(method: DescMethod, cache: EncodingCache): (message: Message) => Uint8Array {
  const encode = messageEncoder(method.output, cache);
  if (method.methodKind !== "server_streaming") return encode;
  return (message) => cache.bytes(message, encode);
}
