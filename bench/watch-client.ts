/**
 * The client side of the `watch` bench, run as its own process (`fork` with tsx): opens
 * `streams` Watch streams on one service as plain gRPC over node:http2, `perConnection`
 * of them multiplexed on each HTTP/2 connection, decodes every message (protobuf-es), and
 * notes per stream when each added backend
 * arrived (performance.timeOrigin + performance.now(): the wall clock, in ms, as the bench
 * process reads it). It answers the bench over IPC; every wait is bounded, and it exits when
 * told to or when the bench goes away.
 */
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  WatchRequestSchema,
  type WatchResponse,
  WatchResponseSchema,
} from "../gen/fulcrum/v1/balancer_pb.js";
import { grpcFrame, grpcFrameReader, grpcHeaders } from "../test/support/raw-grpc.js";

/** What the bench sends. */
export type WatchClientCommand =
  | {
      readonly type: "open";
      readonly port: number;
      readonly service: string;
      readonly streams: number;
      readonly perConnection: number;
      readonly timeoutMs: number;
    }
  | { readonly type: "collect"; readonly backendId: string; readonly timeoutMs: number }
  | { readonly type: "close" };

/** What the client answers. */
export type WatchClientReply =
  | {
      readonly type: "opened";
      readonly streams: number;
      readonly connections: number;
      /** Streams that received their snapshot. */
      readonly snapshots: number;
      readonly failed: number;
      readonly firstError?: string;
    }
  | {
      readonly type: "collected";
      readonly backendId: string;
      /** Receive times (ms, wall clock) of the streams that got the change. */
      readonly times: number[];
      /** Streams open (not ended or failed) at the time of the answer. */
      readonly open: number;
      /** Client CPU time (user + system) spent since the previous answer, ms. */
      readonly cpuMs: number;
    }
  | { readonly type: "closed" };

/** How often a bounded wait looks again. */
const POLL_MS = 5;

const now = () => performance.timeOrigin + performance.now();

function send(reply: WatchClientReply): void {
  process.send?.(reply);
}

async function until(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
}

let closing = false;
const sessions: http2.ClientHttp2Session[] = [];
/** backend id -> receive time per stream (NaN until it arrives). */
const arrivals = new Map<string, Float64Array>();
let streamCount = 0;
let snapshots = 0;
let failed = 0;
let ended = 0;
let firstError: string | undefined;
let lastCpu = process.cpuUsage();

function arrivalsOf(backendId: string): Float64Array {
  let times = arrivals.get(backendId);
  if (!times) {
    times = new Float64Array(streamCount).fill(Number.NaN);
    arrivals.set(backendId, times);
  }
  return times;
}

/** Calls `onMessage` with each whole message in the chunks of one response body. */
const messageReader = (onMessage: (message: WatchResponse) => void) =>
  grpcFrameReader((payload) => onMessage(fromBinary(WatchResponseSchema, payload)));

function watchOne(session: http2.ClientHttp2Session, index: number, body: Buffer): void {
  let snapshot = false;
  let over = false;
  const fail = (message: string) => {
    if (over) return;
    over = true;
    if (closing) return;
    failed++;
    firstError ??= message;
  };
  const stream = session.request(grpcHeaders("/fulcrum.v1.BalancerService/Watch"));
  stream.on(
    "data",
    messageReader((message) => {
      if (message.event.case === "snapshot" && !snapshot) {
        snapshot = true;
        snapshots++;
      } else if (message.event.case === "backendAdded") {
        const times = arrivalsOf(message.event.value.backend?.id ?? "");
        if (Number.isNaN(times[index]!)) times[index] = now();
      }
    }),
  );
  stream.on("trailers", (trailers) => {
    const status = Number(trailers["grpc-status"] ?? 0);
    if (status !== 0) fail(`grpc-status ${status}: ${String(trailers["grpc-message"] ?? "")}`);
  });
  stream.on("error", (error) => fail(error.message));
  stream.on("close", () => {
    if (over) return;
    over = true;
    ended++;
  });
  stream.end(body);
}

async function open(command: Extract<WatchClientCommand, { type: "open" }>): Promise<void> {
  streamCount = command.streams;
  const deadline = Date.now() + command.timeoutMs;
  const body = grpcFrame(
    toBinary(WatchRequestSchema, create(WatchRequestSchema, { services: [command.service] })),
  );
  let index = 0;
  while (index < command.streams && Date.now() < deadline) {
    const session = http2.connect(`http://127.0.0.1:${command.port}`);
    session.on("error", () => {});
    sessions.push(session);
    const batch = Math.min(command.perConnection, command.streams - index);
    for (let i = 0; i < batch; i++) watchOne(session, index + i, body);
    index += batch;
    // One connection's streams have their snapshots before the next connection opens.
    await until(() => snapshots + failed >= index, deadline - Date.now());
  }
  send({
    type: "opened",
    streams: index,
    connections: sessions.length,
    snapshots,
    failed,
    ...(firstError !== undefined && { firstError }),
  });
}

async function collect(command: Extract<WatchClientCommand, { type: "collect" }>): Promise<void> {
  const times = arrivalsOf(command.backendId);
  const open = () => streamCount - failed - ended;
  const received = () => times.reduce((n, t) => (Number.isNaN(t) ? n : n + 1), 0);
  await until(() => received() >= open(), command.timeoutMs);
  const cpu = process.cpuUsage(lastCpu);
  lastCpu = process.cpuUsage();
  send({
    type: "collected",
    backendId: command.backendId,
    times: Array.from(times).filter((t) => !Number.isNaN(t)),
    open: open(),
    cpuMs: (cpu.user + cpu.system) / 1000,
  });
  arrivals.delete(command.backendId);
}

function close(): void {
  closing = true;
  for (const session of sessions) session.destroy();
  send({ type: "closed" });
  process.disconnect?.();
  setTimeout(() => process.exit(0), 100).unref();
}

process.on("message", (command: WatchClientCommand) => {
  if (command.type === "open") void open(command);
  else if (command.type === "collect") void collect(command);
  else close();
});
// The bench is gone: nothing left to answer.
process.on("disconnect", () => process.exit(0));
