/**
 * Fuzz: generated messages on the three streams, SelectStream, StreamReports and Watch, valid
 * and invalid, and messages past the size limit, through grpc-js on the gRPC port and raw
 * Connect streaming JSON on the web port. Properties: the server never dies; every call ends
 * with a precise status (never INTERNAL or UNKNOWN, a rejection names a field or limit), and so
 * does every in-band error of SelectStream and StreamReports; a one-message stream that is
 * rejected changes nothing (GetService before and after); Select still answers afterwards.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type grpc, unary } from "../support/grpc-client.js";
import { grpcFrame, grpcHeaders, rawGrpc, statusOf } from "../support/raw-grpc.js";
import { fuzzParameters, fuzzTimeoutMs } from "./fuzz-runs.js";
import { expectSelectStillAnswers, fuzzServer } from "./fuzz-server.js";

const CI_RUNS = 150;
const TARGET = "fuzz.streams";
const MAX_MESSAGE_BYTES = 64 * 1024;
/** A Watch that is accepted stays open: it is ended by this deadline, which is not a failure. */
const WATCH_DEADLINE_MS = 200;
const CODES = { OK: 0, UNKNOWN: 2, DEADLINE_EXCEEDED: 4, INTERNAL: 13 };

const server = fuzzServer({ maxMessageBytes: MAX_MESSAGE_BYTES }, TARGET);

const number = fc.oneof(
  fc.integer({ min: -5, max: 100 }),
  fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, -1, 2 ** 53, 1e300),
);
const text = fc.oneof(
  fc.constantFrom("a", "", TARGET, "fuzz.control", "nope"),
  fc.string({ maxLength: 20 }),
  fc.nat({ max: 2_000 }).map((n) => "x".repeat(n)),
);
/** Past maxMessageBytes on its own. */
const oversize = fc.constant("y".repeat(MAX_MESSAGE_BYTES + 1_000));
const duration = fc.oneof(
  fc.record({ seconds: fc.constantFrom("-1", "0", "5", "99999999999999"), nanos: number }),
  fc.constantFrom("-5s", "5s", "abc"),
);
const enumValue = fc.oneof(fc.integer({ min: -1, max: 12 }), fc.constantFrom("SUCCESS", "FAILURE", "NOPE"));
const outcome = fc.record(
  {
    ticket: text,
    service: text,
    backend_id: text,
    result: enumValue,
    latency: duration,
    retry_after: duration,
  },
  { requiredKeys: [] },
);
const probe = fc.record(
  { service: text, backend_id: text, healthy: fc.boolean(), latency: duration, detail: text },
  { requiredKeys: [] },
);

const selectStream = fc.array(
  fc.record(
    {
      request_id: fc.oneof(fc.nat(), fc.constantFrom("-1", "18446744073709551616")),
      select: fc.record(
        { service: fc.oneof(text, oversize), count: number, exclude: fc.array(text, { maxLength: 3 }) },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  ),
  { minLength: 1, maxLength: 3 },
);
const streamReports = fc.array(
  fc.record(
    {
      outcomes: fc.array(outcome, { maxLength: 3 }),
      probes: fc.array(
        fc.oneof(
          probe,
          probe.map((p) => ({ ...p, detail: "y".repeat(MAX_MESSAGE_BYTES + 1_000) })),
        ),
        { maxLength: 2 },
      ),
    },
    { requiredKeys: [] },
  ),
  { minLength: 1, maxLength: 3 },
);
const watch = fc
  .record(
    {
      services: fc.array(fc.oneof(text, oversize), { maxLength: 3 }),
      resume_versions: fc.dictionary(text, fc.constantFrom("0", "1", "-1", "18446744073709551615", "x"), {
        maxKeys: 2,
      }),
    },
    { requiredKeys: [] },
  )
  .map((m) => [m]);

const call = fc.oneof(
  selectStream.map((messages) => ({ method: "SelectStream", messages })),
  streamReports.map((messages) => ({ method: "StreamReports", messages })),
  watch.map((messages) => ({ method: "Watch", messages })),
);

/** How a stream ended, and the in-band errors its answers carried. */
interface Ending {
  readonly code: number;
  readonly message: string;
  readonly inBand: ReadonlyArray<{ code: number; message: string }>;
}

/** In-band errors: SelectStream's per-request `error`, StreamReports' `errors`. */
function inBandErrors(answer: Record<string, unknown>): Array<{ code: number; message: string }> {
  const errors = [answer.error, ...((answer.errors as unknown[]) ?? [])].filter(Boolean);
  return errors.map((e) => {
    const status = e as { code?: number; message?: string };
    return { code: Number(status.code ?? 0), message: String(status.message ?? "") };
  });
}

function overGrpc(method: string, messages: unknown[]): Promise<Ending> {
  return new Promise((resolve) => {
    const answers: Record<string, unknown>[] = [];
    const end = (code: number, message: string) =>
      resolve({ code, message, inBand: answers.flatMap(inBandErrors) });
    const deadline = { deadline: Date.now() + WATCH_DEADLINE_MS };
    if (method === "StreamReports") {
      const stream = server.clients.balancer.StreamReports(
        (error: grpc.ServiceError | null, answer: Record<string, unknown>) => {
          if (answer) answers.push(answer);
          end(error?.code ?? CODES.OK, error?.details ?? "");
        },
      );
      writeAll(stream, messages);
      return;
    }
    const stream =
      method === "Watch"
        ? server.clients.balancer.Watch(messages[0], deadline)
        : server.clients.balancer.SelectStream();
    stream.on("data", (answer: Record<string, unknown>) => answers.push(answer));
    stream.on("error", () => {});
    stream.on("status", (status: grpc.StatusObject) => end(status.code, status.details));
    if (method === "SelectStream") writeAll(stream, messages);
  });
}

/** Writes what grpc-js can encode; a value only JSON can carry fails in the client, not the server. */
function writeAll(stream: grpc.ClientWritableStream<unknown>, messages: unknown[]): void {
  for (const message of messages) {
    try {
      stream.write(message);
    } catch {
      // Not encodable by the client: never sent.
    }
  }
  stream.end();
}

/** Raw Connect streaming JSON over h2c; JSON cannot carry NaN, so it goes as a string. */
async function overConnect(method: string, messages: unknown[]): Promise<Ending> {
  const json = (message: unknown) =>
    Buffer.from(
      JSON.stringify(message, (_, v) => (typeof v === "number" && !Number.isFinite(v) ? String(v) : v)),
    );
  const headers = grpcHeaders(`/fulcrum.v1.BalancerService/${method}`, {
    "content-type": "application/connect+json",
    te: undefined,
    ...(method === "Watch" && { "connect-timeout-ms": String(WATCH_DEADLINE_MS) }),
  });
  const answer = await rawGrpc(
    server.app.webPort,
    headers,
    Buffer.concat(messages.map((m) => grpcFrame(json(m)))),
  );
  const status = statusOf(answer);
  const answers: Record<string, unknown>[] = [];
  for (let at = 0; at + 5 <= answer.body.length; ) {
    const length = answer.body.readUInt32BE(at + 1);
    if (answer.body[at] === 0)
      answers.push(JSON.parse(answer.body.subarray(at + 5, at + 5 + length).toString()));
    at += 5 + length;
  }
  return { code: status.code ?? -1, message: status.message, inBand: answers.flatMap(inBandErrors) };
}

/** The target as GetService reports it, without the per-call counters a valid Select moves. */
async function snapshot(): Promise<string> {
  const answer = await unary(server.clients.registry, "GetService", { service: TARGET });
  return JSON.stringify(answer, (key, value) =>
    ["in_flight", "ewma_latency_ms", "quota_remaining"].includes(key) ? undefined : value,
  );
}

/** A message names what is wrong: a field path, a setting or a limit. */
const NAMES_SOMETHING = /[a-z_]+(\[\d+\])?(\.[a-z_]+)*:|limit|max|service|ticket|backend|request|version/i;

describe("fuzz: generated stream messages on both ports", () => {
  it(
    "streams end with a precise status, never INTERNAL or UNKNOWN; a rejected one-message stream changes nothing; Select still answers",
    async () => {
      await fc.assert(
        fc.asyncProperty(call, fc.boolean(), async ({ method, messages }, onGrpcPort) => {
          const before = await snapshot();
          const ending = await (onGrpcPort ? overGrpc : overConnect)(method, messages);
          if (ending.message.startsWith("Request message serialization failure")) return;
          const where = `${onGrpcPort ? "gRPC port" : "web port"} ${method}: ${ending.message.slice(0, 300)}`;
          for (const { code, message } of [ending, ...ending.inBand]) {
            expect([CODES.INTERNAL, CODES.UNKNOWN, -1], where).not.toContain(code);
            if (code !== CODES.OK && code !== CODES.DEADLINE_EXCEEDED)
              expect(message, where).toMatch(NAMES_SOMETHING);
          }
          const rejected = ending.code !== CODES.OK && ending.code !== CODES.DEADLINE_EXCEEDED;
          if (rejected && messages.length === 1) expect(await snapshot(), where).toBe(before);
        }),
        fuzzParameters(CI_RUNS),
      );
      await expectSelectStillAnswers(server);
    },
    fuzzTimeoutMs(CI_RUNS),
  );

  it("SelectStream over Connect JSON answers a bad select in-band with its BadRequest detail, not INTERNAL", async () => {
    const ending = await overConnect("SelectStream", [{ request_id: 1, select: { service: "" } }]);
    expect(ending.code).toBe(CODES.OK);
    expect(ending.inBand).toEqual([{ code: 3, message: expect.stringMatching(/service/) }]);
  });
});
