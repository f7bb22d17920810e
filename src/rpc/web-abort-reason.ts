/**
 * Why a web call's request signal aborts, in connect-es terms: the codes connect-node gives an
 * HTTP/2 reset and a Node socket error (its mapping is not exported, so it is kept here, the
 * same codes and messages), and one shared reason for an exchange that closed without either.
 */
import { Code, ConnectError } from "@connectrpc/connect";

/**
 * The reason for a request that closed with no error: after every call that ended normally,
 * and when an HTTP/1.1 client goes away or an HTTP/2 stream closes with NO_ERROR mid-call.
 * Created once: AbortController.abort() without a reason builds a DOMException with a stack on
 * every call, though once the call is over nothing reads it. Canceled is what connect-es made
 * of that DOMException (an AbortError). Shared safely because nothing on the server side
 * mutates an abort reason: connect-es and Fulcrum read a ConnectError's code, message,
 * details and metadata, and ConnectError.from returns a ConnectError unchanged.
 */
export const REQUEST_CLOSED = new ConnectError("the HTTP request closed", Code.Canceled);

/** HTTP/2 error codes (RFC 9113 section 7) that say why a stream was reset, with their Connect code. */
const H2_RESET_CODES: ReadonlyMap<number, readonly [name: string, code: Code]> = new Map([
  [0x1, ["PROTOCOL_ERROR", Code.Internal]],
  [0x2, ["INTERNAL_ERROR", Code.Internal]],
  [0x3, ["FLOW_CONTROL_ERROR", Code.Internal]],
  [0x4, ["SETTINGS_TIMEOUT", Code.Internal]],
  // STREAM_CLOSED (0x5) is no reason: gRPC's HTTP/2 mapping leaves it out.
  [0x6, ["FRAME_SIZE_ERROR", Code.Internal]],
  [0x7, ["REFUSED_STREAM", Code.Unavailable]],
  [0x8, ["CANCEL", Code.Canceled]],
  [0x9, ["COMPRESSION_ERROR", Code.Internal]],
  [0xa, ["CONNECT_ERROR", Code.Internal]],
  [0xb, ["ENHANCE_YOUR_CALM", Code.ResourceExhausted]],
  [0xc, ["INADEQUATE_SECURITY", Code.PermissionDenied]],
  [0xd, ["HTTP_1_1_REQUIRED", Code.PermissionDenied]],
]);

/** The reason for an HTTP/2 stream that closed with `rstCode`; REQUEST_CLOSED when the code says no error. */
export function reasonOfH2Close(rstCode: number | undefined): ConnectError {
  const known = rstCode === undefined ? undefined : H2_RESET_CODES.get(rstCode);
  if (!known || rstCode === undefined) return REQUEST_CLOSED;
  const [name, code] = known;
  return new ConnectError(`http/2 stream closed with error code ${name} (0x${rstCode.toString(16)})`, code);
}

/** Node error codes and the Connect code a server call gets for them, first match along the cause chain. */
const NODE_ERROR_CODES: readonly (readonly [nodeCodes: readonly string[], code: Code])[] = [
  // An answer already written must not be shadowed by the client still writing its body.
  [["ERR_STREAM_WRITE_AFTER_END"], Code.Aborted],
  // A stream destroyed under a handler: the client hung up.
  [["ERR_STREAM_DESTROYED", "ERR_HTTP2_INVALID_STREAM", "ECONNRESET"], Code.Aborted],
  [["ETIMEDOUT", "ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED"], Code.Unavailable],
];

/** `reason` and its causes, each once. */
function causeChain(reason: unknown): Error[] {
  const chain: Error[] = [];
  for (let link = reason; link instanceof Error && !chain.includes(link); link = link.cause) chain.push(link);
  return chain;
}

/** A Node error (a socket or stream failure) as a ConnectError, as connect-node maps it; the original is the cause. */
export function reasonOfNodeError(reason: unknown): ConnectError {
  const nodeCodes = causeChain(reason).map((e) => ("code" in e && typeof e.code === "string" ? e.code : ""));
  const match = NODE_ERROR_CODES.find(([codes]) => nodeCodes.some((c) => codes.includes(c)));
  const error = ConnectError.from(reason, match ? match[1] : Code.Internal);
  if (error !== reason) error.cause = reason;
  return error;
}
