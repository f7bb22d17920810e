/**
 * Raw malformed gRPC over node:http2 against both ports: the server answers each request with
 * a precise status and keeps serving; on the web port in gRPC-Web and Connect too, where
 * connect-es alone answers undecodable bytes INTERNAL. A crash of the in-process server fails this file as an
 * unhandled error, and the follow-up call through a real grpc-js client proves the port lives.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { grpcClients, unary } from "../support/grpc-client.js";
import { grpcFrame, grpcHeaders, rawGrpc, statusOf } from "../support/raw-grpc.js";
import { startFulcrum } from "../support/server.js";

const SELECT = "/fulcrum.v1.BalancerService/Select";
const GRPC = { OK: 0, INVALID_ARGUMENT: 3, INTERNAL: 13, UNKNOWN: 2 };
const WATCH = "/fulcrum.v1.BalancerService/Watch";
const TRUNCATED = Uint8Array.of(0x0a, 0x7f, 0x61);
const BAD_UTF8 = Uint8Array.of(0x0a, 0x02, 0xff, 0xfe);

/** SelectRequest{service: "raw.test"}. */
const VALID_SELECT = Uint8Array.of(0x0a, 0x08, ...Buffer.from("raw.test"));

let app: App;
let clients: ReturnType<typeof grpcClients>;
beforeAll(async () => {
  app = await startFulcrum();
  clients = grpcClients(app.grpcPort);
  await unary(clients.registry, "Register", {
    service: "raw.test",
    backends: [{ id: "a", address: "10.0.0.1:80" }],
  });
});
afterAll(async () => {
  clients?.close();
  await app?.close();
});

async function selectStillAnswers() {
  const answer = await unary<{ backends: Array<{ id: string }> }>(clients.balancer, "Select", {
    service: "raw.test",
  });
  expect(answer.backends.map((b) => b.id)).toEqual(["a"]);
}

describe("malformed gRPC frames", () => {
  for (const encoding of ["gzip", "deflate"]) {
    it(`a compressed-flag frame whose body is not ${encoding} gets a status and the gRPC port lives`, async () => {
      // 01 00 00 00 02 0a 00: compressed flag, length 2, two bytes that are not a valid stream.
      const body = grpcFrame(Uint8Array.of(0x0a, 0x00), 1);
      for (const port of [app.grpcPort, app.webPort]) {
        const answer = await rawGrpc(port, grpcHeaders(SELECT, { "grpc-encoding": encoding }), body);
        expect(answer.timedOut).toBe(false);
        expect(answer.grpcStatus).toBeDefined();
        expect(answer.grpcStatus).not.toBe(0);
        expect(answer.grpcStatus).not.toBe(GRPC.INTERNAL);
        expect(answer.grpcMessage).toMatch(
          port === app.grpcPort ? /grpc-encoding/ : /decompress|compression/,
        );
      }
      await selectStillAnswers();
    });
  }
});

/** Client mistakes: each answered with INVALID_ARGUMENT naming the header, message or limit. */
interface Mistake {
  name: string;
  headers?: Record<string, string>;
  body: Buffer;
  names: RegExp;
}
const MISTAKES: Mistake[] = [
  {
    name: "invalid UTF-8 in a string field",
    body: grpcFrame(Uint8Array.of(0x0a, 0x02, 0xff, 0xfe)),
    names: /request|utf-?8/i,
  },
  {
    name: "garbage protobuf",
    body: grpcFrame(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0xff)),
    names: /request|protobuf|binary/i,
  },
  {
    name: "a truncated protobuf",
    body: grpcFrame(Uint8Array.of(0x0a, 0x05, 0x61)),
    names: /request|protobuf|binary/i,
  },
  {
    name: "an invalid grpc-timeout",
    headers: { "grpc-timeout": "soon" },
    body: grpcFrame(VALID_SELECT),
    names: /grpc-timeout|grpc timeout/,
  },
  { name: "an empty unary body", body: Buffer.alloc(0), names: /request message/ },
];

describe("client mistakes in raw gRPC", () => {
  for (const mistake of MISTAKES) {
    it(`${mistake.name} gets INVALID_ARGUMENT naming what is wrong, on both ports`, async () => {
      for (const port of [app.grpcPort, app.webPort]) {
        const answer = await rawGrpc(port, grpcHeaders(SELECT, mistake.headers), mistake.body);
        expect({ port, status: answer.grpcStatus }).toEqual({ port, status: GRPC.INVALID_ARGUMENT });
        expect(answer.grpcMessage).toMatch(mistake.names);
      }
      await selectStillAnswers();
    });
  }

  for (const [name, flag, encoding] of [
    ["flag byte 0xff", 0xff, undefined],
    ["the compressed flag without grpc-encoding", 1, undefined],
  ] as const) {
    it(`${name} is never answered INTERNAL or UNKNOWN, on both ports`, async () => {
      for (const port of [app.grpcPort, app.webPort]) {
        const headers = grpcHeaders(SELECT, encoding ? { "grpc-encoding": encoding } : {});
        const answer = await rawGrpc(port, headers, grpcFrame(VALID_SELECT, flag));
        expect(answer.timedOut).toBe(false);
        expect([GRPC.INTERNAL, GRPC.UNKNOWN]).not.toContain(answer.grpcStatus);
        if (answer.grpcStatus !== GRPC.OK) expect(answer.grpcMessage).not.toBe("");
      }
      await selectStillAnswers();
    });
  }
});

/** Enveloped protocols and the content type each is asked with (Connect streams only for Watch). */
const ENVELOPED = [
  { protocol: "gRPC", contentType: "application/grpc", path: SELECT, encodingHeader: "grpc-encoding" },
  {
    protocol: "gRPC-Web",
    contentType: "application/grpc-web+proto",
    path: SELECT,
    encodingHeader: "grpc-encoding",
  },
  {
    protocol: "Connect streaming",
    contentType: "application/connect+proto",
    path: WATCH,
    encodingHeader: "connect-content-encoding",
  },
];

const CASES = [
  {
    name: "truncated protobuf",
    body: grpcFrame(TRUNCATED),
    says: /not a valid fulcrum\.v1\.(Select|Watch)Request/,
  },
  {
    name: "invalid UTF-8 in a string",
    body: grpcFrame(BAD_UTF8),
    says: /not a valid fulcrum\.v1\.(Select|Watch)Request/,
  },
  {
    name: "a compressed flag with no encoding",
    body: grpcFrame(VALID_SELECT, 1),
    says: /compressed \(flag 1\).*no encoding/,
  },
  { name: "a flag byte 0xff", body: grpcFrame(VALID_SELECT, 0xff), says: /flag byte 0xff/ },
  {
    name: "no message",
    body: new Uint8Array(0),
    says: /exactly one request message; this request carries none/,
  },
  {
    name: "two messages",
    body: Buffer.concat([grpcFrame(VALID_SELECT), grpcFrame(VALID_SELECT)]),
    says: /exactly one request message; this request carries more/,
  },
];

describe("malformed requests in every protocol of the web port", () => {
  for (const { protocol, contentType, path, encodingHeader } of ENVELOPED) {
    it(`${protocol}: every bad body gets INVALID_ARGUMENT naming the problem`, async () => {
      for (const { name, body, says } of CASES) {
        const answer = await rawGrpc(app.webPort, grpcHeaders(path, { "content-type": contentType }), body);
        const status = statusOf(answer);
        expect({ name, code: status.code }).toEqual({ name, code: GRPC.INVALID_ARGUMENT });
        expect(status.message.replace(encodingHeader, "the encoding header")).toMatch(says);
      }
    });
  }

  it("Connect unary: undecodable protobuf and invalid UTF-8 get INVALID_ARGUMENT naming the message type", async () => {
    for (const body of [TRUNCATED, BAD_UTF8]) {
      const answer = await rawGrpc(
        app.webPort,
        grpcHeaders(SELECT, { "content-type": "application/proto" }),
        body,
      );
      expect(answer.httpStatus).toBe(400);
      const status = statusOf(answer);
      expect(status.code).toBe(GRPC.INVALID_ARGUMENT);
      expect(status.message).toMatch(/not a valid fulcrum\.v1\.SelectRequest/);
    }
    await selectStillAnswers();
  });
});
