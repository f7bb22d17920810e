/**
 * OpenTelemetry tracing from the OTEL_* variables (behaviour.md A6): a real `fulcrum serve`
 * exports to an OTLP/HTTP receiver the test runs, and each Select, on either port, is one
 * server span under the trace context its client sent.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import {
  connectClientsWithToken,
  expectCode,
  grpcClientsWithToken,
  tokensFile,
  tokensYaml,
} from "../support/auth.js";
import {
  killCliProcesses,
  listeningPorts,
  runCli,
  SERVE_ON_FREE_PORTS,
  until,
} from "../support/cli-process.js";
import { connectClients, grpcTransportClients } from "../support/connect-client.js";
import { type OtlpReceiver, type ReceivedSpan, startOtlpReceiver } from "../support/otlp-receiver.js";

/** Bound on waiting for an export: batches go every 50 ms, a loaded machine may take far longer. */
const EXPORT_WAIT_MS = 30_000;
const SELECT = "fulcrum.v1.BalancerService/Select";
const SERVER_KIND = 2;

let receiver: OtlpReceiver | undefined;
afterEach(async () => {
  killCliProcesses();
  await receiver?.close();
});

/** A client's own span: the traceparent header it sends, and the ids to find below it. */
function clientSpan() {
  const traceId = randomBytes(16).toString("hex");
  const spanId = randomBytes(8).toString("hex");
  return { traceId, spanId, headers: { traceparent: `00-${traceId}-${spanId}-01` } };
}

async function serveTracedTo(otlp: OtlpReceiver, env: Record<string, string>, flags: string[] = []) {
  const server = runCli([...SERVE_ON_FREE_PORTS, "--log-level", "silent", ...flags], {
    OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint,
    OTEL_BSP_SCHEDULE_DELAY: "50",
    ...env,
  });
  await until(() => server.out().includes("fulcrum listening"));
  return listeningPorts(server.out());
}

describe("RPC tracing", { timeout: 90_000 }, () => {
  it("exports one server span per Select on both ports, child of the caller's traceparent, with backend, strategy and refusal reason (A6)", async () => {
    receiver = await startOtlpReceiver();
    const ports = await serveTracedTo(receiver, { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" });
    const onGrpc = grpcTransportClients(ports.grpc);
    const onWeb = connectClients(ports.web);
    await onGrpc.registry.register({
      service: "pay",
      backends: [
        { id: "p1", address: "10.0.0.1:80" },
        { id: "p2", address: "10.0.0.2:80" },
      ],
    });
    await onGrpc.registry.register({ service: "down", backends: [{ id: "d1", address: "10.0.0.9:80" }] });
    await onGrpc.registry.setHealth({ service: "down", backendId: "d1", health: HealthState.UNHEALTHY });

    const fromGrpc = clientSpan();
    const grpcAnswer = await onGrpc.balancer.select({ service: "pay" }, { headers: fromGrpc.headers });
    const fromWeb = clientSpan();
    const webAnswer = await onWeb.balancer.select({ service: "pay" }, { headers: fromWeb.headers });
    const refused = clientSpan();
    const refusal = await onGrpc.balancer
      .select({ service: "down" }, { headers: refused.headers })
      .catch((error: unknown) => ConnectError.from(error));
    expect(refusal).toBeInstanceOf(ConnectError);
    expect((refusal as ConnectError).code).toBe(Code.Unavailable);

    const selects = () => receiver!.spans().filter((span) => span.name === SELECT);
    await until(() => selects().length >= 3, EXPORT_WAIT_MS);
    expect(selects()).toHaveLength(3);
    const spanUnder = (client: { traceId: string; spanId: string }): ReceivedSpan => {
      const [span, ...more] = selects().filter((s) => s.traceId === client.traceId);
      expect(more).toEqual([]);
      expect(span?.parentSpanId).toBe(client.spanId);
      expect(span?.kind).toBe(SERVER_KIND);
      return span!;
    };
    const common = {
      "rpc.service": "fulcrum.v1.BalancerService",
      "rpc.method": "Select",
      "fulcrum.service": "pay",
    };
    expect(spanUnder(fromGrpc).attributes).toMatchObject({
      ...common,
      "rpc.system": "grpc",
      "rpc.grpc.status_code": 0,
      "fulcrum.backend": grpcAnswer.backends[0]!.id,
      "fulcrum.strategy": "round_robin",
      "fulcrum.result": "ok",
    });
    expect(spanUnder(fromWeb).attributes).toMatchObject({
      ...common,
      "rpc.system": "connect_rpc",
      "fulcrum.backend": webAnswer.backends[0]!.id,
      "fulcrum.strategy": "round_robin",
      "fulcrum.result": "ok",
    });
    const refusedSpan = spanUnder(refused);
    expect(refusedSpan.attributes).toMatchObject({
      "fulcrum.service": "down",
      "fulcrum.strategy": "round_robin",
      "rpc.grpc.status_code": 14,
      "fulcrum.result": "unavailable",
      "fulcrum.failure_reason": "NO_HEALTHY_BACKEND",
    });
    expect(refusedSpan.attributes["fulcrum.backend"]).toBeUndefined();
    expect(refusedSpan.status?.code).toBe(2);
  });

  it("with a tokens file, traces an allowed Select and one refused for its scope, each under its caller (A6 A2)", async () => {
    receiver = await startOtlpReceiver();
    const file = tokensFile(
      tokensYaml([
        { name: "app", token: "app-token", scopes: ["register:pay", "select:pay"] },
        { name: "other", token: "other-token", scopes: ["select:other"] },
      ]),
    );
    const json = { OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" };
    const ports = await serveTracedTo(receiver, json, ["--tokens-file", file.path]);
    const app = grpcClientsWithToken(ports.grpc, "app-token");
    await app.registry.register({ service: "pay", backends: [{ id: "p1", address: "10.0.0.1:80" }] });
    const allowed = clientSpan();
    await app.balancer.select({ service: "pay" }, { headers: allowed.headers });
    const denied = clientSpan();
    const other = connectClientsWithToken(ports.web, "other-token");
    await expectCode(
      other.balancer.select({ service: "pay" }, { headers: denied.headers }),
      Code.PermissionDenied,
    );

    const under = (client: { traceId: string }) =>
      receiver!.spans().find((span) => span.name === SELECT && span.traceId === client.traceId);
    await until(() => under(allowed) !== undefined && under(denied) !== undefined, EXPORT_WAIT_MS);
    expect(under(allowed)!.attributes).toMatchObject({ "fulcrum.result": "ok", "fulcrum.backend": "p1" });
    expect(under(denied)!.parentSpanId).toBe(denied.spanId);
    expect(under(denied)!.attributes).toMatchObject({
      "rpc.system": "connect_rpc",
      "rpc.grpc.status_code": 7,
      "fulcrum.result": "permission_denied",
      "fulcrum.failure_reason": "missing scope select:pay",
    });
  });

  it("exports OTLP protobuf by default, the caller's trace id inside (A6)", async () => {
    receiver = await startOtlpReceiver();
    const ports = await serveTracedTo(receiver, {});
    const client = grpcTransportClients(ports.grpc);
    await client.registry.register({
      service: "pay",
      backends: [{ id: "only-one", address: "10.0.0.1:80" }],
    });
    const caller = clientSpan();
    await client.balancer.select({ service: "pay" }, { headers: caller.headers });
    const traceId = Buffer.from(caller.traceId, "hex");
    const carrying = () =>
      receiver!.bodies.find((b) => b.contentType === "application/x-protobuf" && b.body.includes(traceId));
    await until(() => carrying() !== undefined, EXPORT_WAIT_MS);
    expect(carrying()!.body.includes(SELECT)).toBe(true);
    expect(carrying()!.body.includes("only-one")).toBe(true);
  });

  it("refuses to start on an unknown OTEL_TRACES_EXPORTER, naming it in one line (A6)", async () => {
    const server = runCli([...SERVE_ON_FREE_PORTS], { OTEL_TRACES_EXPORTER: "jaeger" });
    expect(await server.exited).toBe(2);
    expect(server.err()).toBe(
      'fulcrum: OTEL_TRACES_EXPORTER: unknown exporter "jaeger" (otlp, console, none)\n',
    );
  });
});
