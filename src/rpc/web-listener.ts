/**
 * The web port's socket layer: one TCP listener that hands each connection to an HTTP/1.1 or
 * an HTTP/2 server, told apart by the HTTP/2 connection preface (plaintext) or by ALPN (TLS,
 * tls/web-tls.ts), and that closes connections
 * which cost a socket without doing work: a socket that sends nothing, HTTP/1.1 headers that
 * never finish (slowloris), a connection idle past its limit, half an HTTP/2 preface. On
 * shutdown it stops taking requests at once and lets the ones in flight finish.
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import type { TlsSource } from "./tls/tls-source.js";
import { tlsListener } from "./tls/web-tls.js";

const H2_PREFACE = Buffer.from("PRI * HTTP/2.0\r\n");

/** The connection timeouts of the web port; every one explicit and configurable. */
export interface WebTimeouts {
  /** A new socket must send its first bytes within this, or it is closed. */
  readonly prefaceTimeoutMs: number;
  /** An HTTP/1.1 request's headers must be complete within this (slowloris). */
  readonly headersTimeoutMs: number;
  /** A connection with no traffic either way for this long is closed (h2: GOAWAY). */
  readonly idleTimeoutMs: number;
}

/** A request handler both HTTP versions share. */
export type WebHandler = (
  req: http.IncomingMessage | http2.Http2ServerRequest,
  res: http.ServerResponse | http2.Http2ServerResponse,
) => void;

/** A listening web port. */
export interface WebListener {
  readonly port: number;
  /**
   * Stops accepting connections and requests at once: new HTTP/1.1 requests get 503 with
   * `Connection: close`, idle keep-alive connections close, h2 sessions get GOAWAY; requests
   * in flight finish until the deadline, when what is left is cut.
   */
  close(deadlineMs: number): Promise<void>;
}

/** Answers a request that arrives after shutdown began: not taken, and the connection ends. */
function refuse(res: http.ServerResponse) {
  res.writeHead(503, { connection: "close", "content-type": "text/plain", "retry-after": "1" });
  res.end("shutting down\n");
}

/**
 * Node's own headersTimeout only watches connections its server accepted through listen();
 * these arrive through emit('connection'), so each socket gets its own headers timer: armed
 * when the socket is adopted and after each answer, cleared when a request's headers are in.
 */
function headersTimers(timeoutMs: number) {
  const timers = new WeakMap<net.Socket, NodeJS.Timeout>();
  const clear = (socket: net.Socket) => clearTimeout(timers.get(socket));
  return {
    arm(socket: net.Socket) {
      clear(socket);
      if (!socket.destroyed) timers.set(socket, setTimeout(() => socket.destroy(), timeoutMs).unref());
    },
    clear,
  };
}

function h1Server(handler: WebHandler, timeouts: WebTimeouts, isClosing: () => boolean) {
  const inFlight = new Set<http.ServerResponse>();
  /** Adopted sockets and their requests in flight; 0 means idle between keep-alive requests. */
  const active = new Map<net.Socket, number>();
  const count = (socket: net.Socket, by: number) => {
    if (active.has(socket)) active.set(socket, (active.get(socket) ?? 0) + by);
  };
  const headers = headersTimers(timeouts.headersTimeoutMs);
  const server = http.createServer(
    { requestTimeout: 0, keepAliveTimeout: Math.min(5_000, timeouts.idleTimeoutMs) },
    (req, res) => {
      headers.clear(req.socket);
      if (isClosing()) return refuse(res);
      inFlight.add(res);
      count(req.socket, 1);
      res.once("close", () => {
        inFlight.delete(res);
        count(req.socket, -1);
        if (isClosing() && active.get(req.socket) === 0) req.socket.end();
        else headers.arm(req.socket);
      });
      handler(req, res);
    },
  );
  server.timeout = timeouts.idleTimeoutMs;
  return {
    server,
    adopt(socket: net.Socket) {
      active.set(socket, 0);
      socket.once("close", () => {
        active.delete(socket);
        headers.clear(socket);
      });
      headers.arm(socket);
      server.emit("connection", socket);
    },
    /** In-flight answers end their connection; idle keep-alive connections close now. */
    drain() {
      for (const res of inFlight) if (!res.headersSent) res.setHeader("connection", "close");
      // server.closeIdleConnections() only knows sockets accepted through listen().
      for (const [socket, requests] of active) if (requests === 0) socket.end();
    },
  };
}

function h2Server(handler: WebHandler, timeouts: WebTimeouts) {
  const server = http2.createServer({}, handler);
  const sessions = new Set<http2.Http2Session>();
  server.on("session", (session) => {
    sessions.add(session);
    session.once("close", () => sessions.delete(session));
    // No frames either way for idleTimeoutMs (Watch heartbeats count): GOAWAY, then close.
    session.setTimeout(timeouts.idleTimeoutMs, () => session.close());
  });
  return {
    server,
    drain() {
      for (const session of sessions) session.close();
    },
  };
}

/** Hands an accepted connection to the HTTP/1.1 or the HTTP/2 server. */
type Dispatch = (socket: net.Socket, http2: boolean) => void;

/**
 * Plaintext: each socket's first bytes tell HTTP/2 (the connection preface) from HTTP/1.1;
 * a socket that sends nothing within prefaceTimeoutMs is closed.
 */
function plainListener(timeouts: WebTimeouts, dispatch: Dispatch): net.Server {
  return net.createServer((socket) => {
    socket.setTimeout(timeouts.prefaceTimeoutMs, () => socket.destroy());
    socket.once("readable", () => {
      const head: Buffer | null = socket.read();
      if (!head) return void socket.destroy();
      socket.setTimeout(0);
      socket.unshift(head);
      const isH2 = head
        .subarray(0, H2_PREFACE.length)
        .equals(H2_PREFACE.subarray(0, Math.min(head.length, H2_PREFACE.length)));
      dispatch(socket, isH2);
    });
  });
}

/** Starts the web port's listener on host:port (TLS when `tls` is given); resolves once it listens. */
export async function startWebListener(
  host: string,
  port: number,
  handler: WebHandler,
  timeouts: WebTimeouts,
  tls?: TlsSource,
): Promise<WebListener> {
  let closing = false;
  const h1 = h1Server(handler, timeouts, () => closing);
  const h2 = h2Server(handler, timeouts);
  const sockets = new Set<net.Socket>();
  const dispatch: Dispatch = (socket, isH2) =>
    isH2 ? h2.server.emit("connection", socket) : h1.adopt(socket);
  const secure = tls && tlsListener(tls, timeouts.prefaceTimeoutMs, dispatch);
  const listener = secure ? secure.server : plainListener(timeouts, dispatch);
  // Raw sockets, TLS or not: tracked so shutdown can cut what is left after the deadline.
  listener.on("connection", (socket: net.Socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
    socket.on("error", () => socket.destroy());
  });
  await new Promise<void>((resolve, reject) => {
    listener.once("error", reject);
    listener.listen(port, host, () => resolve());
  });
  return {
    port: (listener.address() as net.AddressInfo).port,
    close: (deadlineMs) =>
      new Promise<void>((resolve) => {
        closing = true;
        secure?.stop();
        listener.close(() => resolve());
        h1.drain();
        h2.drain();
        setTimeout(() => {
          for (const socket of sockets) socket.destroy();
        }, deadlineMs).unref();
        if (sockets.size === 0) resolve();
      }),
  };
}
