/**
 * SelectRequest and SelectStreamRequest from bytes without reflection, for the hot paths: the
 * usual request (service, perhaps a hash key, session or zone; a stream's request id) is read
 * directly; anything else (maps, lists, numbers, unknown fields, multi-byte tags, a string that
 * is not valid UTF-8) is left to fromBinary, which answers or rejects it as before. What is
 * read here equals what fromBinary returns for the same bytes.
 */
import { isUtf8 } from "node:buffer";
import { WireType } from "@bufbuild/protobuf/wire";
import type * as B from "../../../gen/fulcrum/v1/balancer_pb.js";

type StringField = "service" | "hashKey" | "sessionId" | "command" | "zone" | "resourceKey";

/** SelectRequest's string fields by their one-byte tag (field number << 3 | LEN). */
const STRING_FIELD_BY_TAG: ReadonlyMap<number, StringField> = new Map([
  [(1 << 3) | WireType.LengthDelimited, "service"],
  [(2 << 3) | WireType.LengthDelimited, "hashKey"],
  [(3 << 3) | WireType.LengthDelimited, "sessionId"],
  [(4 << 3) | WireType.LengthDelimited, "command"],
  [(6 << 3) | WireType.LengthDelimited, "zone"],
  [(11 << 3) | WireType.LengthDelimited, "resourceKey"],
]);
const REQUEST_ID_TAG = (1 << 3) | WireType.Varint;
const SELECT_TAG = (2 << 3) | WireType.LengthDelimited;
/** Varint bytes read here at most: 7 x 7 bits stay below 2^53. */
const MAX_VARINT_BYTES = 7;

function zeroSelect(): B.SelectRequest {
  return {
    $typeName: "fulcrum.v1.SelectRequest",
    service: "",
    hashKey: "",
    sessionId: "",
    command: "",
    exclude: [],
    zone: "",
    labels: {},
    cost: {},
    count: 0,
    explain: false,
    resourceKey: "",
  };
}

/** A varint at `at` as [value, next offset]; undefined when longer than this path reads or cut short. */
function readVarint(bytes: Buffer, at: number, end: number): [number, number] | undefined {
  let value = 0;
  let scale = 1;
  for (let i = 0; i < MAX_VARINT_BYTES && at < end; i++) {
    const byte = bytes[at++]!;
    value += (byte & 0x7f) * scale;
    if (byte < 0x80) return [value, at];
    scale *= 0x80;
  }
  return undefined;
}

function readSelectFields(bytes: Buffer, start: number, end: number): B.SelectRequest | undefined {
  const message = zeroSelect();
  let at = start;
  while (at < end) {
    const field = STRING_FIELD_BY_TAG.get(bytes[at++]!);
    const length = field && readVarint(bytes, at, end);
    if (!length || length[1] + length[0] > end) return undefined;
    const [size, from] = length;
    const text = bytes.subarray(from, from + size);
    if (!isUtf8(text)) return undefined;
    message[field] = text.toString("utf8");
    at = from + size;
  }
  return message;
}

/** A SelectRequest read directly; undefined when fromBinary must read it. */
export function readSelectRequest(bytes: Buffer): B.SelectRequest | undefined {
  return readSelectFields(bytes, 0, bytes.length);
}

/** A SelectStreamRequest read directly; undefined when fromBinary must read it. */
export function readSelectStreamRequest(bytes: Buffer): B.SelectStreamRequest | undefined {
  let at = 0;
  let requestId = 0;
  let select: B.SelectRequest | undefined;
  while (at < bytes.length) {
    const tag = bytes[at++];
    const value = readVarint(bytes, at, bytes.length);
    if (!value) return undefined;
    at = value[1];
    if (tag === REQUEST_ID_TAG) requestId = value[0];
    else if (tag === SELECT_TAG && at + value[0] <= bytes.length) {
      // A repeated message field merges in protobuf; leave that rare case to fromBinary.
      if (select) return undefined;
      select = readSelectFields(bytes, at, at + value[0]);
      if (!select) return undefined;
      at += value[0];
    } else return undefined;
  }
  const message: B.SelectStreamRequest = {
    $typeName: "fulcrum.v1.SelectStreamRequest",
    requestId: BigInt(requestId),
  };
  if (select) message.select = select;
  return message;
}
