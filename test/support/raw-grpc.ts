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
      resolve({ httpStatus, grpcStatus, grpcMessage, body: Buffer.concat(chunks), timedOut, resetCode });
    };
    const timer = setTimeout(() => finish(true), timeoutMs);
    stream.on("response", (h) => {
      httpStatus = Number(h[":status"] ?? 0);
      take(h);
    });
    stream.on("trailers", take);
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("error", () => {});
    stream.on("close", () => finish(grpcStatus === undefined && httpStatus === 0));
    stream.end(Buffer.from(body));
  });
}
