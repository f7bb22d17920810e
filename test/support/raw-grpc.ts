/**
 * Raw gRPC over node:http2, for requests no well-behaved client would send: arbitrary headers
 * and body bytes, with the answer's headers, trailers and body as received. Every request is
 * bounded in time: no answer within `timeoutMs` resolves with `timedOut: true`.
 */
import * as http2 from "node:http2";

/** What came back for one raw request. */
export interface RawAnswer {
  /** HTTP status of the response headers (0 when the stream ended without headers). */
  readonly httpStatus: number;
  /** content-type of the response headers ("" when none came). */
  readonly contentType: string;
  /** grpc-status from trailers, or from headers for a trailers-only answer; undefined if none. */
  readonly grpcStatus: number | undefined;
  readonly grpcMessage: string;
  readonly body: Buffer;
  /** No answer within the bound, or the stream was reset without one. */
  readonly timedOut: boolean;
  readonly resetCode: number | undefined;
}

/** One gRPC frame: the 5-byte prefix (flag, big-endian length) then `payload`. */
export function grpcFrame(payload: Uint8Array, flag = 0, declaredLength = payload.length): Buffer {
  const prefix = Buffer.alloc(5);
  prefix.writeUInt8(flag, 0);
  prefix.writeUInt32BE(declaredLength >>> 0, 1);
  return Buffer.concat([prefix, payload]);
}

/**
 * Reads a response body as it arrives: each chunk goes to the returned function, which hands
 * `onPayload` the payload of every frame now complete (a frame may span chunks).
 */
export function grpcFrameReader(onPayload: (payload: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 5) {
      const end = 5 + pending.readUInt32BE(1);
      if (pending.length < end) break;
      onPayload(pending.subarray(5, end));
      pending = pending.subarray(end);
    }
  };
}

/** The headers a conforming client sends, which a request may override or remove (undefined). */
export function grpcHeaders(
  path: string,
  extra: Record<string, string | undefined> = {},
): http2.OutgoingHttpHeaders {
  const headers: Record<string, string | undefined> = {
    ":method": "POST",
    ":path": path,
    "content-type": "application/grpc",
    te: "trailers",
    ...extra,
  };
  for (const [key, value] of Object.entries(headers)) if (value === undefined) delete headers[key];
  return headers;
}

/** Sends one request on a fresh h2c connection to `port` and collects the answer. */
export async function rawGrpc(
  port: number,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
  timeoutMs = 5_000,
): Promise<RawAnswer> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  try {
    return await rawGrpcOn(session, headers, body, timeoutMs);
  } finally {
    session.destroy();
  }
}

/** Sends one request on an open session and collects the answer. */
export function rawGrpcOn(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body: Uint8Array,
  timeoutMs = 5_000,
): Promise<RawAnswer> {
  return new Promise((resolve) => {
    let httpStatus = 0;
    let contentType = "";
    let grpcStatus: number | undefined;
    let grpcMessage = "";
    const chunks: Buffer[] = [];
    const take = (h: http2.IncomingHttpHeaders) => {
      if (h["grpc-status"] !== undefined) grpcStatus = Number(h["grpc-status"]);
      if (h["grpc-message"] !== undefined) grpcMessage = decodeURIComponent(String(h["grpc-message"]));
    };
    const stream = session.request(headers);
    let done = false;
    const finish = (timedOut: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const resetCode = stream.rstCode;
      stream.close();
      resolve({
        httpStatus,
        contentType,
        grpcStatus,
        grpcMessage,
        body: Buffer.concat(chunks),
        timedOut,
        resetCode,
      });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    stream.on("response", (h) => {
      httpStatus = Number(h[":status"] ?? 0);
      contentType = String(h["content-type"] ?? "");
      take(h);
    });
    stream.on("trailers", take);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.on("close", () => finish(grpcStatus === undefined && httpStatus === 0));
    // The whole answer came: do not wait for the rest of a request body the server will not read.
    stream.on("end", () => finish(false));
    stream.end(Buffer.from(body));
  });
}

/** Connect's error code names as gRPC status numbers. */
const CONNECT_CODES: Record<string, number> = {
  canceled: 1,
  unknown: 2,
  invalid_argument: 3,
  deadline_exceeded: 4,
  not_found: 5,
  already_exists: 6,
  permission_denied: 7,
  resource_exhausted: 8,
  failed_precondition: 9,
  aborted: 10,
  out_of_range: 11,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
  data_loss: 15,
  unauthenticated: 16,
};

/** A status as any protocol of the web port carries it. */
export interface AnyStatus {
  /** undefined: no status at all (an HTTP-level refusal such as 415). */
  readonly code: number | undefined;
  readonly message: string;
}

function fromConnectJson(json: unknown): AnyStatus {
  const error = json as { code?: string; message?: string } | undefined;
  if (!error?.code) return { code: 0, message: "" };
  return { code: CONNECT_CODES[error.code] ?? -1, message: error.message ?? "" };
}

/**
 * The status of an answer in gRPC (trailers), gRPC-Web (a trailer frame, flag 0x80), Connect
 * streaming (an end-stream frame, flag 0x02) or Connect unary (a JSON error body).
 */
export function statusOf(answer: RawAnswer): AnyStatus {
  if (answer.grpcStatus !== undefined) return { code: answer.grpcStatus, message: answer.grpcMessage };
  const framed = /^application\/(grpc-web|connect\+)/.test(answer.contentType);
  if (framed) return endOfStream(answer.body);
  if (answer.httpStatus === 200 && answer.contentType !== "") return { code: 0, message: "" };
  try {
    return fromConnectJson(JSON.parse(answer.body.toString()));
  } catch {
    return { code: undefined, message: answer.body.toString() };
  }
}

/** The status in the last frame of a gRPC-Web or Connect streaming answer. */
function endOfStream(body: Buffer): AnyStatus {
  for (let at = 0; at + 5 <= body.length; ) {
    const flags = body[at]!;
    const data = body.subarray(at + 5, at + 5 + body.readUInt32BE(at + 1));
    at += 5 + data.length;
    if (flags & 0x80) {
      const fields = new Map(
        data
          .toString()
          .split("\r\n")
          .filter(Boolean)
          .map((line) => [
            line.slice(0, line.indexOf(":")).trim().toLowerCase(),
            line.slice(line.indexOf(":") + 1).trim(),
          ]),
      );
      return {
        code: Number(fields.get("grpc-status")),
        message: decodeURIComponent(fields.get("grpc-message") ?? ""),
      };
    }
    if (flags & 0x02) return fromConnectJson(JSON.parse(data.toString() || "{}").error);
  }
  return { code: undefined, message: "no end-of-stream frame" };
}
