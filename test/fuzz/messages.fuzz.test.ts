/**
 * Fuzz: generated Register, Select, Report, Deregister and SetHealth messages, valid and
 * invalid (huge strings and repeated fields, NaN, infinities, negative and enormous durations
 * and weights, unknown enum numbers and names, duplicate ids, empty messages), through grpc-js
 * on the gRPC port and Connect JSON on the web port. Properties: never INTERNAL or UNKNOWN;
 * every rejection names a field or a limit; a rejected write changes nothing (GetService
 * before and after); Select still answers correctly afterwards.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { unary } from "../support/grpc-client.js";
import { fuzzParameters, fuzzTimeoutMs } from "./fuzz-runs.js";
import { expectSelectStillAnswers, fuzzServer } from "./fuzz-server.js";

const CI_RUNS = 300;
const TARGET = "fuzz.target";
const CODES = { OK: 0, UNKNOWN: 2, INVALID_ARGUMENT: 3, INTERNAL: 13 };
const CONNECT_CODES: Record<string, number> = {
  unknown: 2,
  invalid_argument: 3,
  not_found: 5,
  resource_exhausted: 8,
  failed_precondition: 9,
  unimplemented: 12,
  internal: 13,
  unavailable: 14,
};

const server = fuzzServer({ maxBackendsPerService: 50, maxMessageBytes: 256 * 1024 }, TARGET);

const number = fc.oneof(
  fc.integer({ min: -5, max: 1_000 }),
  fc.constantFrom(
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    -1,
    2 ** 32,
    2 ** 53,
    1e300,
  ),
);
const text = fc.oneof(
  fc.constantFrom("a", "b", "", "10.0.0.2:80", "10.0.0.3", "::1:80", TARGET),
  fc.string({ maxLength: 40 }),
  fc.nat({ max: 70_000 }).map((n) => "x".repeat(n)),
);
const duration = fc.oneof(
  fc.record({ seconds: fc.constantFrom("-1", "0", "5", "315576000001", "99999999999999"), nanos: number }),
  fc.constantFrom("-5s", "1e9s", "NaNs", "5s", "999999999999s", "abc"),
);
const backend = fc.record(
  {
    id: fc.constantFrom("a", "b", "c", "a"),
    address: text,
    weight: number,
    tier: number,
    zone: text,
    labels: fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
    lease_ttl: duration,
  },
  { requiredKeys: [] },
);
const strategy = fc.oneof(
  fc.integer({ min: -1, max: 40 }),
  fc.constantFrom("ROUND_ROBIN", "NOPE", "RING_HASH"),
);
const register = fc.record(
  {
    service: fc.oneof(fc.constant(TARGET), text),
    backends: fc.oneof(
      fc.array(backend, { maxLength: 4 }),
      fc.array(backend, { minLength: 60, maxLength: 80 }),
    ),
    mode: fc.oneof(fc.integer({ min: -1, max: 9 }), fc.constantFrom("MERGE", "REPLACE", "WHAT")),
    config: fc.record({ strategy: fc.record({ strategy }, { requiredKeys: [] }) }, { requiredKeys: [] }),
  },
  { requiredKeys: [] },
);
const call = fc.oneof(
  register.map((m) => ({ service: "RegistryService", method: "Register", message: m, writes: true })),
  fc
    .record({ service: text, count: number, exclude: fc.array(text, { maxLength: 3 }) }, { requiredKeys: [] })
    .map((m) => ({ service: "BalancerService", method: "Select", message: m, writes: false })),
  fc
    .record(
      { service: text, backend_ids: fc.array(text, { maxLength: 3 }), drain_timeout: duration },
      { requiredKeys: [] },
    )
    .map((m) => ({ service: "RegistryService", method: "Deregister", message: m, writes: true })),
  fc
    .record(
      {
        ticket: text,
        outcomes: fc.array(fc.record({ result: strategy }, { requiredKeys: [] }), { maxLength: 3 }),
      },
      { requiredKeys: [] },
    )
    .map((m) => ({ service: "BalancerService", method: "Report", message: m, writes: false })),
  fc
    .record({ service: text, backend_id: text, state: strategy }, { requiredKeys: [] })
    .map((m) => ({ service: "RegistryService", method: "SetHealth", message: m, writes: true })),
);

interface Outcome {
  code: number;
  message: string;
}

/** Connect JSON over HTTP/1.1 on the web port; JSON cannot carry NaN, so it goes as a string. */
async function overConnect(service: string, method: string, message: unknown): Promise<Outcome> {
  const body = JSON.stringify(message, (_, v) =>
    typeof v === "number" && !Number.isFinite(v) ? String(v) : v,
  );
  const res = await fetch(`http://127.0.0.1:${server.app.webPort}/fulcrum.v1.${service}/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (res.ok) return { code: CODES.OK, message: "" };
  const error = (await res.json()) as { code: string; message?: string };
  return { code: CONNECT_CODES[error.code] ?? -1, message: error.message ?? "" };
}

async function overGrpc(service: string, method: string, message: unknown): Promise<Outcome> {
  const client = service === "RegistryService" ? server.clients.registry : server.clients.balancer;
  try {
    await unary(client, method, message);
    return { code: CODES.OK, message: "" };
  } catch (error) {
    const e = error as { code: number; details: string };
    return { code: e.code, message: e.details };
  }
}

/** The target service as GetService reports it: version and backends. */
async function snapshot(): Promise<string> {
  const answer = await unary(server.clients.registry, "GetService", { service: TARGET }).catch((e) => ({
    error: e.code,
  }));
  return JSON.stringify(answer);
}

/** A message names what is wrong: a field path ("backends[2].address: ..."), a setting or a limit. */
const NAMES_SOMETHING = /[a-z_]+(\[\d+\])?(\.[a-z_]+)*:|limit|max|service|ticket|backend|request/i;

describe("fuzz: generated messages on both ports", () => {
  it(
    "never INTERNAL or UNKNOWN; rejections name a field or limit and change nothing; Select still answers",
    async () => {
      await fc.assert(
        fc.asyncProperty(call, fc.boolean(), async (c, onGrpcPort) => {
          const before = c.writes ? await snapshot() : "";
          const outcome = await (onGrpcPort ? overGrpc : overConnect)(c.service, c.method, c.message);
          // A JSON-only value (a duration as a string) that grpc-js cannot encode never left the client.
          if (outcome.message.startsWith("Request message serialization failure")) return;
          const where = `${onGrpcPort ? "gRPC port" : "web port"} ${c.method}: ${outcome.message.slice(0, 300)}`;
          expect([CODES.INTERNAL, CODES.UNKNOWN, -1], where).not.toContain(outcome.code);
          if (outcome.code === CODES.OK) return;
          expect(outcome.message, where).toMatch(NAMES_SOMETHING);
          if (c.writes) expect(await snapshot()).toBe(before);
        }),
        fuzzParameters(CI_RUNS),
      );
      await expectSelectStillAnswers(server);
    },
    fuzzTimeoutMs(CI_RUNS),
  );
});
