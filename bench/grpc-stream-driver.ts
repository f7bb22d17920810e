/**
 * A load driver for gRPC streams, what h2load is for unary calls: raw node:http2 (h2c) with
 * pre-encoded request frames written in chunks, and answers counted by their 5-byte frame
 * headers, so the client costs far less per message than the server and the figure measures
 * the server. Every loop is bounded by a deadline and a count; nothing here retries.
 */
import * as http2 from "node:http2";

const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_CONTENT_TYPE, HTTP2_HEADER_TE } =
  http2.constants;

/** Opens an h2c session to 127.0.0.1:`port`. */
export function connectH2c(port: number): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.once("connect", () => {
      session.off("error", reject);
      resolve(session);
    });
    session.once("error", reject);
  });
}

/** Closes a session and waits for it. */
export function closeH2c(session: http2.ClientHttp2Session): Promise<void> {
  if (session.closed || session.destroyed) return Promise.resolve();
  return new Promise((resolve) => session.close(() => resolve()));
}

function openCall(session: http2.ClientHttp2Session, path: string): http2.ClientHttp2Stream {
  return session.request({
    [HTTP2_HEADER_METHOD]: "POST",
    [HTTP2_HEADER_PATH]: path,
    [HTTP2_HEADER_CONTENT_TYPE]: "application/grpc",
    [HTTP2_HEADER_TE]: "trailers",
  });
}

/** Splits a byte stream into gRPC messages (without their 5-byte headers). */
function frameReader(onMessage: (message: Buffer) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  return (chunk) => {
    let buffer = pending.length > 0 ? Buffer.concat([pending, chunk]) : chunk;
    let offset = 0;
    while (buffer.length - offset >= 5) {
      const length = buffer.readUInt32BE(offset + 1);
      if (buffer.length - offset < 5 + length) break;
      onMessage(buffer.subarray(offset + 5, offset + 5 + length));
      offset += 5 + length;
    }
    buffer = buffer.subarray(offset);
    pending = buffer.length > 0 ? Buffer.from(buffer) : Buffer.alloc(0);
  };
}

/** Rejects when the call ends or fails before `done` settles; describes what the server said. */
function callFailure(call: http2.ClientHttp2Stream): Promise<never> {
  return new Promise((_, reject) => {
    let status = "";
    call.on("response", (headers) => {
      if (headers["grpc-status"] !== undefined)
        status = `grpc-status ${headers["grpc-status"]} ${headers["grpc-message"] ?? ""}`;
      else if (headers[":status"] !== 200) status = `HTTP ${headers[":status"]}`;
    });
    call.on("trailers", (trailers) => {
      status = `grpc-status ${trailers["grpc-status"]} ${decodeURIComponent(String(trailers["grpc-message"] ?? ""))}`;
    });
    call.once("error", (error) => reject(error));
    call.once("close", () => reject(new Error(`the server ended the call early: ${status || "no status"}`)));
  });
}

/** What {@link pipelineBidi} is asked to do. */
export interface BidiLoad {
  readonly session: http2.ClientHttp2Session;
  readonly path: string;
  /** One gRPC-framed request, repeated. */
  readonly frame: Buffer;
  /** Requests unanswered at most. */
  readonly window: number;
  /** Requests per write. */
  readonly chunk: number;
  /** performance.now() after which no request is sent. */
  readonly deadline: number;
  /** Requests sent at most. */
  readonly cap: number;
  /** Past the deadline, how long the answers in flight may take. */
  readonly drainMs: number;
  /** Throws on an answer that is not a success. */
  readonly check: (answer: Buffer) => void;
}

/**
 * Keeps `window` requests in flight on one bidi call until the deadline, waits for every
 * answer, then cancels the call (RST_STREAM): the end of the stream is not measured.
 * Resolves with the number of answers.
 */
export async function pipelineBidi(load: BidiLoad): Promise<number> {
  const call = openCall(load.session, load.path);
  const block = Buffer.concat(Array.from({ length: load.chunk }, () => load.frame));
  let sent = 0;
  let received = 0;
  let finish!: () => void;
  let fail!: (error: unknown) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  const pastDeadline = () => performance.now() >= load.deadline || sent >= load.cap;
  const fill = () => {
    while (!pastDeadline() && sent - received + load.chunk <= load.window) {
      sent += load.chunk;
      call.write(block);
    }
    if (pastDeadline() && received === sent) finish();
  };
  call.on(
    "data",
    frameReader((answer) => {
      try {
        load.check(answer);
      } catch (error) {
        fail(error);
        return;
      }
      received++;
      if (received === sent || sent - received + load.chunk <= load.window) fill();
    }),
  );
  const drainTimer = setTimeout(
    () => fail(new Error(`SelectStream answered ${received} of ${sent} requests in time`)),
    load.deadline - performance.now() + load.drainMs,
  );
  const failure = callFailure(call);
  // Cancelling the call below ends it too; that is not a failure.
  failure.catch(() => {});
  try {
    fill();
    await Promise.race([done, failure]);
    return received;
  } finally {
    clearTimeout(drainTimer);
    call.close(http2.constants.NGHTTP2_CANCEL);
  }
}

function drainOrClose(call: http2.ClientHttp2Stream): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      call.off("drain", done);
      call.off("close", done);
      resolve();
    };
    call.once("drain", done);
    call.once("close", done);
  });
}

/** What {@link clientStream} is asked to do. */
export interface ClientStreamLoad {
  readonly session: http2.ClientHttp2Session;
  readonly path: string;
  /** One gRPC-framed request, repeated. */
  readonly frame: Buffer;
  /** Frames per write. */
  readonly chunk: number;
  readonly deadline: number;
  /** Frames sent at most. */
  readonly cap: number;
  /** Past the deadline, how long the server may take to answer. */
  readonly drainMs: number;
}

/**
 * Writes frames (honouring flow control) until the deadline, half-closes, and resolves with the
 * one answer and the number of frames sent; rejects unless the call ends with grpc-status 0.
 */
export async function clientStream(load: ClientStreamLoad): Promise<{ answer: Buffer; sent: number }> {
  const call = openCall(load.session, load.path);
  const block = Buffer.concat(Array.from({ length: load.chunk }, () => load.frame));
  const answers: Buffer[] = [];
  call.on(
    "data",
    frameReader((answer) => answers.push(Buffer.from(answer))),
  );
  let grpcStatus: string | undefined;
  let grpcMessage = "";
  const record = (headers: http2.IncomingHttpHeaders) => {
    if (headers["grpc-status"] === undefined) return;
    grpcStatus = String(headers["grpc-status"]);
    grpcMessage = decodeURIComponent(String(headers["grpc-message"] ?? ""));
  };
  call.on("response", record);
  call.on("trailers", record);
  const closed = new Promise<void>((resolve, reject) => {
    call.once("error", reject);
    call.once("close", () => resolve());
  });
  let sent = 0;
  const write = async () => {
    while (performance.now() < load.deadline && sent < load.cap && !call.destroyed) {
      sent += load.chunk;
      if (!call.write(block)) await drainOrClose(call);
    }
    call.end();
  };
  const timer = setTimeout(
    () => call.close(http2.constants.NGHTTP2_CANCEL),
    load.deadline - performance.now() + load.drainMs,
  );
  try {
    await Promise.all([write(), closed]);
  } finally {
    clearTimeout(timer);
  }
  if (grpcStatus !== "0" || answers.length !== 1)
    throw new Error(
      `${load.path} ended with grpc-status ${grpcStatus ?? "none"} ${grpcMessage} and ${answers.length} answers`,
    );
  return { answer: answers[0]!, sent };
}
