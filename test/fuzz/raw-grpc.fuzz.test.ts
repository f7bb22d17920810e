/**
 * Fuzz: raw malformed gRPC, gRPC-Web and Connect over node:http2 on both ports (bad or huge length prefixes,
 * truncated bodies, compressed flags with and without an encoding, unknown encodings, wrong
 * content-type, missing te, invalid grpc-timeout, garbage protobuf). Properties: every request
 * gets an answer, never UNKNOWN, never INTERNAL, every failure says why; the
 * process keeps serving and Select answers correctly afterwards.
 */
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcClients, unary } from "../support/grpc-client.js";
import { grpcFrame, grpcHeaders, rawGrpc, statusOf } from "../support/raw-grpc.js";
import { startFulcrum } from "../support/server.js";
import { fuzzParameters, fuzzTimeoutMs } from "./fuzz-runs.js";

const CI_RUNS = 400;
const MAX_MESSAGE_BYTES = 64 * 1024;
const METHODS = [
  "/fulcrum.v1.BalancerService/Select",
  "/fulcrum.v1.BalancerService/Report",
  "/fulcrum.v1.BalancerService/EndSession",
  "/fulcrum.v1.BalancerService/Watch",
  "/fulcrum.v1.BalancerService/SelectStream",
  "/fulcrum.v1.BalancerService/StreamReports",
  "/fulcrum.v1.RegistryService/Register",
  "/fulcrum.v1.RegistryService/Deregister",
  "/fulcrum.v1.RegistryService/GetService",
  "/fulcrum.v1.RegistryService/ListServices",
  "/fulcrum.v1.RegistryService/SetHealth",
];
const GRPC = { OK: 0, UNKNOWN: 2, INTERNAL: 13 };

let app: App;
let clients: ReturnType<typeof grpcClients>;
beforeAll(async () => {
  app = await startFulcrum({ limits: { maxMessageBytes: MAX_MESSAGE_BYTES } });
  clients = grpcClients(app.grpcPort);
  await unary(clients.registry, "Register", {
    service: "fuzz.control",
    backends: [{ id: "a", address: "10.0.0.1:80" }],
  });
});
afterAll(async () => {
  clients?.close();
  await app?.close();
});

/** A protobuf-ish payload: valid Select bytes, garbage, invalid UTF-8, truncated fields. */
const payload = fc.oneof(
  fc.constant(Uint8Array.of(0x0a, 0x0b, ...Buffer.from("fuzz.target"))),
  fc.uint8Array({ maxLength: 64 }),
  fc.constant(Uint8Array.of(0x0a, 0x02, 0xff, 0xfe)),
  fc.constant(Uint8Array.of(0x0a, 0x7f, 0x61)),
  fc.constant(new Uint8Array(0)),
);

const frame = fc.record({
  flag: fc.oneof(fc.constant(0), fc.constant(1), fc.integer({ min: 0, max: 255 })),
  payload,
  length: fc.oneof(
    fc.constant("exact" as const),
    fc.constant("short" as const),
    fc.constant("huge" as const),
    fc.integer({ min: 0, max: 0xffffffff }),
  ),
  cut: fc.nat({ max: 8 }),
});

const request = fc.record({
  method: fc.constantFrom(...METHODS),
  frames: fc.array(frame, { maxLength: 3 }),
  encoding: fc.constantFrom(undefined, "gzip", "deflate", "identity", "br", "snappy", ""),
  contentType: fc.constantFrom(
    "application/grpc",
    "application/grpc",
    "application/grpc+proto",
    "application/grpc-web+proto",
    "application/connect+proto",
    "application/proto",
    "text/plain",
    "application/json",
  ),
  te: fc.constantFrom("trailers", undefined),
  timeout: fc.constantFrom(undefined, "1S", "soon", "999999999H", "-1m", "10n"),
});

/** The request body: each frame's prefix declares its length exactly, too long, 2^31 or anything. */
function body(frames: ReadonlyArray<typeof frame extends fc.Arbitrary<infer F> ? F : never>): Buffer {
  const parts = frames.map(({ flag, payload: bytes, length, cut }) => {
    const declared =
      length === "exact"
        ? bytes.length
        : length === "short"
          ? bytes.length + 1 + cut
          : length === "huge"
            ? 2 ** 31
            : length;
    const whole = grpcFrame(bytes, flag, declared);
    return cut > 0 && length === "exact" ? whole.subarray(0, Math.max(1, whole.length - cut)) : whole;
  });
  return Buffer.concat(parts);
}

describe("fuzz: raw malformed gRPC on both ports", () => {
  it(
    "every malformed request gets an answer that is never UNKNOWN nor INTERNAL and says why",
    async () => {
      await fc.assert(
        fc.asyncProperty(request, fc.boolean(), async (r, onGrpcPort) => {
          const port = onGrpcPort ? app.grpcPort : app.webPort;
          const headers = grpcHeaders(r.method, {
            "content-type": r.contentType,
            te: r.te,
            "grpc-encoding": r.encoding,
            "grpc-timeout": r.timeout,
          });
          const answer = await rawGrpc(port, headers, body(r.frames));
          expect(answer.timedOut).toBe(false);
          const status = statusOf(answer);
          if (status.code === undefined) {
            // Rejected at the HTTP level (wrong content-type): a non-200 HTTP status.
            expect(answer.httpStatus).not.toBe(200);
            return;
          }
          expect([GRPC.UNKNOWN, GRPC.INTERNAL, -1]).not.toContain(status.code);
          if (status.code !== GRPC.OK) expect(status.message.length).toBeGreaterThan(0);
        }),
        fuzzParameters(CI_RUNS),
      );
      const after = await unary<{ backends: Array<{ id: string }> }>(clients.balancer, "Select", {
        service: "fuzz.control",
      });
      expect(after.backends.map((b) => b.id)).toEqual(["a"]);
    },
    fuzzTimeoutMs(CI_RUNS),
  );
});
