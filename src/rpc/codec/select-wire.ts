/**
 * SelectResponse and SelectStreamResponse to bytes without reflection, for the hot paths: each
 * backend's record (field 1: tag, length, bytes) is encoded once per registration through the
 * EncodingCache, and the few scalar fields are written directly into one buffer of the exact
 * size (proto3 wire format, fields in number order, exactly as toBinary writes them).
 */
import { toBinary } from "@bufbuild/protobuf";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import * as B from "../../../gen/fulcrum/v1/balancer_pb.js";
import type { EncodingCache } from "./encoding-cache.js";

/** Tags of the fields written here: (field number << 3) | wire type. */
const TICKET_TAG = (2 << 3) | WireType.LengthDelimited;
const SESSION_MODE_TAG = (3 << 3) | WireType.Varint;
const DEGRADED_TAG = (4 << 3) | WireType.Varint;
const VERSION_TAG = (6 << 3) | WireType.Varint;
const PROBE_TAG = (7 << 3) | WireType.Varint;
const REQUEST_ID_TAG = (1 << 3) | WireType.Varint;
const RESPONSE_TAG = (2 << 3) | WireType.LengthDelimited;

function backendRecord(backend: B.SelectedBackend): Uint8Array {
  return new BinaryWriter()
    .tag(1, WireType.LengthDelimited)
    .bytes(toBinary(B.SelectedBackendSchema, backend))
    .finish();
}

/** Bytes of a varint of a non-negative safe integer. */
function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

function writeVarint(into: Uint8Array, at: number, value: number): number {
  while (value >= 0x80) {
    into[at++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  into[at++] = value;
  return at;
}

/** A uint64 the fast path can write, as a number; undefined past 2^53 (the generic encoder takes those). */
function safeUint64(value: bigint): number | undefined {
  return value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : undefined;
}

/** What a SelectResponse (without explanation) needs written, and its size in bytes. */
interface SelectPlan {
  readonly records: readonly Uint8Array[];
  readonly ticketBytes: number;
  readonly version: number;
  readonly size: number;
}

function planSelect(message: B.SelectResponse, cache: EncodingCache): SelectPlan | undefined {
  const version = safeUint64(message.version);
  if (message.explanation || version === undefined) return undefined;
  const records = message.backends.map((backend) => cache.bytes(backend, backendRecord));
  let size = 0;
  for (const record of records) size += record.byteLength;
  const ticketBytes = Buffer.byteLength(message.ticket, "utf8");
  if (ticketBytes > 0) size += 1 + varintSize(ticketBytes) + ticketBytes;
  // session_mode is an enum of small positive values: one byte of tag, one of value.
  if (message.sessionMode) size += 1 + varintSize(message.sessionMode);
  if (message.degraded) size += 2;
  if (version) size += 1 + varintSize(version);
  if (message.probe) size += 2;
  return { records, ticketBytes, version, size };
}

function writeSelect(message: B.SelectResponse, plan: SelectPlan, into: Buffer, at: number): number {
  for (const record of plan.records) {
    into.set(record, at);
    at += record.byteLength;
  }
  if (plan.ticketBytes > 0) {
    into[at++] = TICKET_TAG;
    at = writeVarint(into, at, plan.ticketBytes);
    at += into.write(message.ticket, at, plan.ticketBytes, "utf8");
  }
  if (message.sessionMode) {
    into[at++] = SESSION_MODE_TAG;
    at = writeVarint(into, at, message.sessionMode);
  }
  if (message.degraded) {
    into[at++] = DEGRADED_TAG;
    into[at++] = 1;
  }
  if (plan.version) {
    into[at++] = VERSION_TAG;
    at = writeVarint(into, at, plan.version);
  }
  if (message.probe) {
    into[at++] = PROBE_TAG;
    into[at++] = 1;
  }
  return at;
}

/** The bytes of `message`; undefined when it carries an explanation (the generic encoder takes that rare case). */
export function encodeSelectResponseFast(
  message: B.SelectResponse,
  cache: EncodingCache,
): Uint8Array | undefined {
  const plan = planSelect(message, cache);
  if (!plan) return undefined;
  const into = Buffer.allocUnsafe(plan.size);
  writeSelect(message, plan, into, 0);
  return into;
}

/**
 * The bytes of a SelectStreamResponse carrying a response; undefined for an error answer or a
 * response the fast path declines (the generic encoder takes those).
 */
export function encodeSelectStreamResponseFast(
  message: B.SelectStreamResponse,
  cache: EncodingCache,
): Uint8Array | undefined {
  if (message.result.case !== "response") return undefined;
  const requestId = safeUint64(message.requestId);
  const plan = requestId === undefined ? undefined : planSelect(message.result.value, cache);
  if (!plan || requestId === undefined) return undefined;
  const idSize = requestId ? 1 + varintSize(requestId) : 0;
  const into = Buffer.allocUnsafe(idSize + 1 + varintSize(plan.size) + plan.size);
  let at = 0;
  if (requestId) {
    into[at++] = REQUEST_ID_TAG;
    at = writeVarint(into, at, requestId);
  }
  into[at++] = RESPONSE_TAG;
  at = writeVarint(into, at, plan.size);
  writeSelect(message.result.value, plan, into, at);
  return into;
}
