/**
 * SelectResponse to bytes without reflection, for the hot path: each backend's record
 * (field 1: tag, length, bytes) is encoded once per registration through the EncodingCache,
 * and the few scalar fields are written directly (proto3 wire format, fields in number order,
 * exactly as toBinary writes them).
 */
import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import * as B from "../../../gen/fulcrum/v1/balancer_pb.js";
import type { EncodingCache } from "./encoding-cache.js";

const utf8 = new TextEncoder();

function backendRecord(backend: B.SelectedBackend): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .bytes(toBinary(B.SelectedBackendSchema, backend))
    .finish();
}

/** The bytes of `message`; undefined when it carries an explanation (the generic encoder takes that rare case). */
export function encodeSelectResponseFast(
  message: B.SelectResponse,
  cache: EncodingCache,
): Uint8Array | undefined {
  if (message.explanation) return undefined;
  const writer = new BinaryWriter();
  for (const backend of message.backends) writer.raw(cache.bytes(backend, backendRecord));
  if (message.ticket) writer.tag(2, WireType.LengthDelimited).bytes(utf8.encode(message.ticket));
  if (message.sessionMode) writer.tag(3, WireType.Varint).int32(message.sessionMode);
  if (message.degraded) writer.tag(4, WireType.Varint).bool(true);
  if (message.version) writer.tag(6, WireType.Varint).uint64(message.version);
  return writer.finish();
}
