/**
 * A request message that could not be decoded (truncated or garbage protobuf, invalid UTF-8
 * in a string field) is the client's mistake, not ours: it is answered INVALID_ARGUMENT
 * naming the message type, never INTERNAL, and never reaches a service implementation.
 */
import { type DescMessage, fromBinary, type Message } from "@bufbuild/protobuf";
import { FulcrumError } from "../shared/errors.js";

/** Stands in for a request message whose bytes did not decode; carries the answer to send. */
export class MalformedRequest {
  constructor(readonly error: FulcrumError) {}
}

/** `bytes` read by `decode` (fromBinary unless given) as a `desc` message, or a MalformedRequest saying why not. Never throws. */
export function decodeRequest(
  desc: DescMessage,
  bytes: Uint8Array,
  decode: (bytes: Uint8Array) => Message = (b) => fromBinary(desc, b),
): Message | MalformedRequest {
  try {
    return decode(bytes);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    const description = `not a valid ${desc.typeName} in protobuf binary encoding: ${reason}`;
    return new MalformedRequest(
      new FulcrumError(
        "invalid_argument",
        `request message: ${description}`,
        { violations: [{ field: "request", description }] },
        { cause },
      ),
    );
  }
}
