/**
 * Watch memory is bounded in bytes, not only in messages: a Watch that stops
 * reading while big changes pile up is reset once its queue passes watch.queueBytesPerWatcher
 * (the RESET names the limit, a full snapshot follows), and the history kept for resume drops
 * its oldest events past watch.historyBytesPerService. Real server, grpc-js on the gRPC port;
 * on the web port a raw HTTP/2 gRPC stream that is paused for real (node:http2 stops granting
 * flow-control window), since connect-node's client may keep reading into its own buffer.
 */
import * as http2 from "node:http2";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WatchRequestSchema, WatchResponseSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { type grpc, grpcClients, unary } from "../support/grpc-client.js";
import { grpcFrame, grpcFrameReader, grpcHeaders } from "../support/raw-grpc.js";
import { startFulcrum } from "../support/server.js";

const QUEUE_BYTES = 64 * 1024;
const HISTORY_BYTES = 64 * 1024;
const CHANGES = 150;
const SERVICE = "watch.bytes";
/** About 16 KiB of labels per backend: each change is a big message. */
const BIG_LABELS = Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`l${i}`, "x".repeat(1_000)]));

let app: App;
let clients: ReturnType<typeof grpcClients>;
let firstVersion: string;
beforeAll(async () => {
  app = await startFulcrum({
    watch: { queueBytesPerWatcher: QUEUE_BYTES, historyBytesPerService: HISTORY_BYTES },
  });
  clients = grpcClients(app.grpcPort);
  const registered = await unary<{ version: string }>(clients.registry, "Register", {
    service: SERVICE,
    backends: [{ id: "a", address: "10.0.0.1:80" }],
  });
  firstVersion = registered.version;
});
afterAll(async () => {
  clients?.close();
  await app?.close();
});

/** MERGEs one big backend per change; nobody reads the paused watchers meanwhile. */
async function pileUpChanges(from: number): Promise<void> {
  for (let i = from; i < from + CHANGES; i++) {
    await unary(clients.registry, "Register", {
      service: SERVICE,
      mode: "REGISTER_MODE_MERGE",
      backends: [{ id: `b${i}`, address: "10.0.0.2:80", labels: BIG_LABELS }],
    });
  }
}

interface Seen {
  readonly kind: string;
  readonly reason?: string;
  readonly backends?: number;
}

/** A grpc-js WatchResponse (proto-loader, oneofs: `event` names the field set). */
function seenOf(message: Record<string, unknown>): Seen {
  const kind = String(message.event);
  const value = message[kind] as { reason?: unknown; backends?: unknown } | undefined;
  return {
    kind,
    ...(typeof value?.reason === "string" && { reason: value.reason }),
    ...(Array.isArray(value?.backends) && { backends: value.backends.length }),
  };
}

/** Reads a resumed grpc-js stream until a snapshot holding `backends` backends (bounded). */
function grpcUntilSnapshot(stream: grpc.ClientReadableStream<unknown>, backends: number): Promise<Seen[]> {
  return new Promise((resolve, reject) => {
    const seen: Seen[] = [];
    stream.on("error", () => {});
    stream.on("data", (message: Record<string, unknown>) => {
      const one = seenOf(message);
      seen.push(one);
      if (one.kind === "snapshot" && one.backends === backends) resolve(seen);
      if (seen.length > CHANGES * 2) reject(new Error(`no full snapshot in ${seen.length} messages`));
    });
    stream.resume();
  });
}

/**
 * A Watch on the web port over raw h2c gRPC whose response is paused until `readUntilSnapshot`;
 * resolves once the response has started (the server holds the watcher).
 */
async function pausedWebWatch(port: number) {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => {});
  const stream = session.request(grpcHeaders("/fulcrum.v1.BalancerService/Watch"));
  stream.on("error", () => {});
  stream.end(grpcFrame(toBinary(WatchRequestSchema, create(WatchRequestSchema, { services: [SERVICE] }))));
  stream.pause();
  await new Promise((resolve) => stream.once("response", resolve));
  return {
    /** Resolves with what the stream sent up to a snapshot of `backends` backends (bounded). */
    readUntilSnapshot(backends: number): Promise<Seen[]> {
      return new Promise((resolve, reject) => {
        const seen: Seen[] = [];
        const read = grpcFrameReader((payload) => {
          const { event } = fromBinary(WatchResponseSchema, payload);
          const value = event.value as { reason?: string; backends?: unknown[] } | undefined;
          seen.push({
            kind: event.case ?? "",
            ...(value?.reason !== undefined && { reason: value.reason }),
            ...(value?.backends && { backends: value.backends.length }),
          });
          if (event.case === "snapshot" && value?.backends?.length === backends) resolve(seen);
        });
        stream.on("data", (chunk: Buffer) => {
          read(chunk);
          if (seen.length > CHANGES * 2) reject(new Error(`no full snapshot in ${seen.length} messages`));
        });
        stream.on("close", () => reject(new Error(`stream closed after ${seen.length} messages`)));
        stream.resume();
      });
    },
    close: () => session.destroy(),
  };
}

describe("watch byte bounds", () => {
  it("a Watch that stops reading is reset past queue_bytes_per_watcher on both ports, then gets a full snapshot", async () => {
    const paused = clients.balancer.Watch({ services: [SERVICE] }) as grpc.ClientReadableStream<unknown>;
    await new Promise((resolve) => paused.once("data", resolve));
    paused.pause();
    const web = await pausedWebWatch(app.webPort);

    await pileUpChanges(0);
    const total = CHANGES + 1;

    const grpcSeen = await grpcUntilSnapshot(paused, total);
    paused.cancel();
    const webSeen = await web.readUntilSnapshot(total);
    web.close();

    for (const seen of [grpcSeen, webSeen]) {
      const reset = seen.find((one) => one.kind === "reset");
      expect(reset?.reason).toContain(`queue_bytes_per_watcher=${QUEUE_BYTES}`);
      expect(seen.at(-1)).toEqual({ kind: "snapshot", backends: total });
      // The piled-up deltas were dropped, not delivered: far fewer messages than changes.
      expect(seen.length).toBeLessThan(CHANGES);
    }
    // 150 sequential big Registers: bounded work that a loaded CI machine needs more than the default 20 s for.
  }, 90_000);

  it("history past history_bytes_per_service cannot replay from the first version: RESET + snapshot on both ports", async () => {
    const resume = { [SERVICE]: firstVersion };
    const grpcStream = clients.balancer.Watch({ services: [SERVICE], resume_versions: resume });
    const grpcFirst = await new Promise<Seen>((resolve) =>
      grpcStream.once("data", (m: Record<string, unknown>) => resolve(seenOf(m))),
    );
    grpcStream.cancel();
    grpcStream.on("error", () => {});
    expect(grpcFirst).toEqual({ kind: "reset", reason: "history needed to resume is gone" });

    const web = grpcTransportClients(app.webPort).balancer.watch({
      services: [SERVICE],
      resumeVersions: { [SERVICE]: BigInt(firstVersion) },
    });
    const webIterator = web[Symbol.asyncIterator]();
    const webFirst = (await webIterator.next()).value;
    await webIterator.return?.();
    expect(webFirst?.event).toEqual({
      case: "reset",
      value: expect.objectContaining({ reason: "history needed to resume is gone" }),
    });
  });
});
