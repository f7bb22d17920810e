/**
 * Every Select refusal says what the caller can do (E1): an ErrorInfo reason, and a RetryInfo
 * where retrying the same request can succeed. Each row of the README's error table, through
 * the real gRPC port.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import { ErrorInfoSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";

async function refusal(call: Promise<unknown>): Promise<ConnectError> {
  const error = await call.then(
    () => undefined,
    (cause: unknown) => ConnectError.from(cause),
  );
  if (!error) throw new Error("expected the Select to be refused");
  return error;
}

function reasonOf(error: ConnectError): string | undefined {
  return error.findDetails(ErrorInfoSchema)[0]?.reason;
}

function retryDelayMs(error: ConnectError): number | undefined {
  const delay = error.findDetails(RetryInfoSchema)[0]?.retryDelay;
  return delay ? Number(delay.seconds) * 1_000 + delay.nanos / 1e6 : undefined;
}

describe("Select refusals carry a reason and, where a retry can succeed, when (E1)", () => {
  let app: App;
  let c: ReturnType<typeof grpcTransportClients>;
  beforeAll(async () => {
    app = await startFulcrum();
    c = grpcTransportClients(app.grpcPort);
  });
  afterAll(() => app.close());

  it("E1: an unknown service is NOT_FOUND with SERVICE_NOT_FOUND and no RetryInfo", async () => {
    const error = await refusal(c.balancer.select({ service: "e1-nobody" }));
    expect([error.code, reasonOf(error), retryDelayMs(error)]).toEqual([
      Code.NotFound,
      "SERVICE_NOT_FOUND",
      undefined,
    ]);
  });

  it("E1: every backend unhealthy is UNAVAILABLE with NO_HEALTHY_BACKEND and RetryInfo of the probe interval", async () => {
    await c.registry.register({
      service: "e1-unhealthy",
      config: { health: { probeInterval: { seconds: 7n }, failureThreshold: 1 } },
      backends: [{ id: "a", address: "10.0.0.1:80" }],
    });
    await c.balancer.report({ outcomes: [{ service: "e1-unhealthy", backendId: "a", result: 2 }] });
    await eventually(async () => {
      const status = await c.registry.getService({ service: "e1-unhealthy" });
      return status.service?.backends[0]?.health === HealthState.UNHEALTHY ? true : undefined;
    });
    const error = await refusal(c.balancer.select({ service: "e1-unhealthy" }));
    expect([error.code, reasonOf(error), retryDelayMs(error)]).toEqual([
      Code.Unavailable,
      "NO_HEALTHY_BACKEND",
      7_000,
    ]);
  });

  it("E1 O10: every backend in maintenance is UNAVAILABLE with NO_HEALTHY_BACKEND and no RetryInfo (only an operator brings it back)", async () => {
    await c.registry.register({ service: "e1-maint", backends: [{ id: "a", address: "10.0.0.1:80" }] });
    await c.registry.setHealth({ service: "e1-maint", backendId: "a", health: HealthState.UNHEALTHY });
    const error = await refusal(c.balancer.select({ service: "e1-maint" }));
    expect([error.code, reasonOf(error), retryDelayMs(error)]).toEqual([
      Code.Unavailable,
      "NO_HEALTHY_BACKEND",
      undefined,
    ]);
    expect(error.rawMessage).toContain("1 in maintenance");
  });

  it("E1: exclude leaving nothing is UNAVAILABLE with NO_MATCHING_BACKEND and no RetryInfo", async () => {
    await c.registry.register({ service: "e1-exclude", backends: [{ id: "a", address: "10.0.0.1:80" }] });
    const error = await refusal(c.balancer.select({ service: "e1-exclude", exclude: ["a"] }));
    expect([error.code, reasonOf(error), retryDelayMs(error)]).toEqual([
      Code.Unavailable,
      "NO_MATCHING_BACKEND",
      undefined,
    ]);
  });

  it("E1: backends past their hard in-flight share give RESOURCE_EXHAUSTED with BACKPRESSURE and a short RetryInfo", async () => {
    await c.registry.register({
      service: "e1-backpressure",
      backends: [{ id: "a", address: "10.0.0.1:80", maxConnections: 4 }],
    });
    // Past 50% of 4 in flight: the third concurrent call is refused until one finishes.
    const held: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await c.balancer.select({ service: "e1-backpressure" }).catch(() => undefined);
      if (!answer) break;
      held.push(answer.ticket);
    }
    const error = await refusal(c.balancer.select({ service: "e1-backpressure" }));
    expect([error.code, reasonOf(error)]).toEqual([Code.ResourceExhausted, "BACKPRESSURE"]);
    expect(retryDelayMs(error)).toBeGreaterThan(0);
    expect(error.message).toContain("backpressure_hard_percent");
    // Reporting the held calls frees the slots: the same request then succeeds.
    await c.balancer.report({
      outcomes: held.map((ticket) => ({ ticket, result: 1 })),
    });
    expect((await c.balancer.select({ service: "e1-backpressure" })).backends[0]?.id).toBe("a");
  });

  it("E1: a new pin on a backend past its hard in-flight share is refused with BACKPRESSURE, and succeeds once calls finish", async () => {
    await c.registry.register({
      service: "e1-pin-backpressure",
      backends: [{ id: "a", address: "10.0.0.1:80", maxConnections: 4 }],
    });
    const held: string[] = [];
    for (let i = 0; i < 3; i++) {
      const answer = await c.balancer.select({ service: "e1-pin-backpressure" }).catch(() => undefined);
      if (!answer) break;
      held.push(answer.ticket);
    }
    const pin = { service: "e1-pin-backpressure", sessionId: "conn-1", command: "GROUP misc.test" };
    const error = await refusal(c.balancer.select(pin));
    expect([error.code, reasonOf(error)]).toEqual([Code.ResourceExhausted, "BACKPRESSURE"]);
    expect(retryDelayMs(error)).toBeGreaterThan(0);
    await c.balancer.report({ outcomes: held.map((ticket) => ({ ticket, result: 1 })) });
    expect((await c.balancer.select(pin)).backends[0]?.id).toBe("a");
  });

  it("E1: no quota left is RESOURCE_EXHAUSTED with QUOTA_EXHAUSTED and RetryInfo of the first recovery", async () => {
    await c.registry.register({
      service: "e1-quota",
      backends: [
        {
          id: "a",
          address: "10.0.0.1:80",
          quotas: [{ dimension: "requests", limit: 1, window: { seconds: 60n } }],
        },
      ],
    });
    await c.balancer.select({ service: "e1-quota" });
    const error = await refusal(c.balancer.select({ service: "e1-quota" }));
    expect([error.code, reasonOf(error)]).toEqual([Code.ResourceExhausted, "QUOTA_EXHAUSTED"]);
    expect(retryDelayMs(error)).toBeGreaterThan(0);
  });
});
