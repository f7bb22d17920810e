/**
 * The strict contract (docs/behaviour.md O5) on both ports: unknown JSON fields and enum names
 * on the web port, and unknown enum numbers wherever they select behaviour on either port,
 * are INVALID_ARGUMENT naming the field path, and GetService shows that nothing changed.
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { OutcomeSchema, SelectRequestSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import {
  type RegisterMode,
  RegisterRequestSchema,
  SetHealthRequestSchema,
} from "../../gen/fulcrum/v1/registry_pb.js";
import { type CallResult, type HealthState, LoadMetric, Strategy } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";

const SERVICE = "strict";
const BACKENDS = [{ id: "b0", address: "10.0.0.1:80" }];

let app: App;
let grpcPort: ReturnType<typeof grpcTransportClients>;
let webGrpc: ReturnType<typeof grpcTransportClients>;
beforeAll(async () => {
  app = await startFulcrum();
  grpcPort = grpcTransportClients(app.grpcPort);
  webGrpc = grpcTransportClients(app.webPort);
  await grpcPort.registry.register({ service: SERVICE, backends: BACKENDS });
});
afterAll(() => app?.close());

/** What must not move: the version, the strategy, the health policy and the in-flight count. */
async function state() {
  const { service } = await grpcPort.registry.getService({ service: SERVICE });
  return {
    version: service?.version,
    strategy: service?.config?.strategy?.strategy,
    failureThreshold: service?.config?.health?.failureThreshold,
    inFlight: service?.backends.map((b) => b.inFlight),
    health: service?.backends.map((b) => b.health),
  };
}

/** POSTs Connect unary JSON to the web port. */
async function connectJson(procedure: string, body: unknown) {
  const response = await fetch(`http://127.0.0.1:${app.webPort}/${procedure}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(5_000),
  });
  const json = (await response.json()) as { code?: string; message?: string; details?: { type: string }[] };
  return { status: response.status, ...json };
}

async function rejection(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    return ConnectError.from(error);
  }
  throw new Error("the call succeeded; INVALID_ARGUMENT was expected");
}

describe("strict contract", () => {
  it.each([
    [
      "an enum name without its prefix",
      { service: SERVICE, backends: BACKENDS, config: { strategy: { strategy: "SMOOTH_WEIGHTED" } } },
      'config.strategy.strategy: unknown value "SMOOTH_WEIGHTED"; expected STRATEGY_UNSPECIFIED, STRATEGY_ROUND_ROBIN, STRATEGY_SMOOTH_WEIGHTED',
    ],
    [
      "a misspelled field",
      { service: SERVICE, backends: BACKENDS, config: { health: { failureTreshold: 1 } } },
      "config.health.failureTreshold: unknown field of fulcrum.v1.HealthConfig; known: failure_threshold,",
    ],
    [
      "an unknown enum name in a list",
      { service: SERVICE, backends: BACKENDS, config: { health: { allowedStates: ["HEALTH_STATE_OK"] } } },
      'config.health.allowed_states[0]: unknown value "HEALTH_STATE_OK"',
    ],
    [
      "an unknown field inside a repeated message",
      { service: SERVICE, backends: [{ id: "b0", address: "10.0.0.1:80", wieght: 5 }] },
      "backends[0].wieght: unknown field of fulcrum.v1.Backend",
    ],
    [
      "an unknown enum number",
      { service: SERVICE, backends: BACKENDS, config: { strategy: { strategy: 42 } } },
      "config.strategy.strategy: unknown value 42; expected STRATEGY_UNSPECIFIED",
    ],
  ])(
    "O5 Connect JSON Register with %s is INVALID_ARGUMENT naming the field; nothing changes",
    async (_, body, message) => {
      const before = await state();
      const answer = await connectJson("fulcrum.v1.RegistryService/Register", body);
      expect(answer.status).toBe(400);
      expect(answer.code).toBe("invalid_argument");
      expect(answer.message).toContain(message);
      expect(answer.details?.map((d) => d.type)).toContain("google.rpc.BadRequest");
      expect(await state()).toEqual(before);
    },
  );

  it("O5 Connect JSON Select with an unknown field is INVALID_ARGUMENT naming it; no slot is taken", async () => {
    const before = await state();
    const answer = await connectJson("fulcrum.v1.BalancerService/Select", { service: SERVICE, hashkey: "x" });
    expect(answer.status).toBe(400);
    expect(answer.message).toContain("hashkey: unknown field of fulcrum.v1.SelectRequest");
    expect(await state()).toEqual(before);
  });

  const ports = () =>
    [
      ["gRPC port", grpcPort],
      ["web port (gRPC protocol)", webGrpc],
    ] as const;

  it("O5 unknown enum numbers in Register, SetHealth and Report are INVALID_ARGUMENT naming the field, on both ports", async () => {
    for (const [port, clients] of ports()) {
      const before = await state();
      const register = (init: Parameters<typeof create<typeof RegisterRequestSchema>>[1]) =>
        rejection(
          clients.registry.register(
            create(RegisterRequestSchema, { service: SERVICE, backends: BACKENDS, ...init }),
          ),
        );
      const cases: [Promise<ConnectError>, string][] = [
        [
          register({ config: { strategy: { strategy: 42 as Strategy } } }),
          "config.strategy.strategy: unknown value 42",
        ],
        [
          register({
            config: {
              strategy: {
                strategy: Strategy.LEAST_LOAD,
                settings: { case: "leastLoad", value: { metric: 9 as LoadMetric } },
              },
            },
          }),
          "config.strategy.least_load.metric: unknown value 9",
        ],
        [register({ mode: 7 as RegisterMode }), "mode: unknown value 7"],
        [
          register({ config: { health: { initialState: 8 as HealthState } } }),
          "config.health.initial_state: unknown value 8",
        ],
        [
          rejection(
            clients.registry.setHealth(
              create(SetHealthRequestSchema, {
                service: SERVICE,
                backendId: "b0",
                health: 12 as HealthState,
              }),
            ),
          ),
          "health: unknown value 12; expected HEALTH_STATE_UNSPECIFIED",
        ],
      ];
      const selected = await clients.balancer.select(create(SelectRequestSchema, { service: SERVICE }));
      const during = await state();
      cases.push([
        rejection(
          clients.balancer.report({
            outcomes: [create(OutcomeSchema, { ticket: selected.ticket, result: 99 as CallResult })],
          }),
        ),
        "outcomes[0].result: unknown value 99",
      ]);
      for (const [call, message] of cases) {
        const error = await call;
        expect(error.code, `${port}: ${message}`).toBe(Code.InvalidArgument);
        expect(error.rawMessage, port).toContain(message);
      }
      expect(await state(), `${port}: the rejected Report left the ticket open`).toEqual(during);
      expect(during.inFlight).toEqual((before.inFlight ?? []).map((n) => n + 1));
      await clients.balancer.report({
        outcomes: [create(OutcomeSchema, { ticket: selected.ticket, result: 1 as CallResult })],
      });
      expect({ ...(await state()), version: before.version }).toEqual(before);
    }
  });

  it("O5 a known metric name and a known strategy still register (the check rejects only what is unknown)", async () => {
    const answer = await connectJson("fulcrum.v1.RegistryService/Register", {
      service: "strict-ok",
      backends: BACKENDS,
      config: {
        strategy: { strategy: "STRATEGY_LEAST_LOAD", leastLoad: { metric: "LOAD_METRIC_EWMA_LATENCY" } },
      },
    });
    expect(answer.status).toBe(200);
    const { service } = await grpcPort.registry.getService({ service: "strict-ok" });
    expect(service?.config?.strategy?.settings).toMatchObject({
      case: "leastLoad",
      value: { metric: LoadMetric.EWMA_LATENCY },
    });
  });
});
