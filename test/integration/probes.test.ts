/**
 * H5 active checks against real servers on 127.0.0.1: TCP, grpc.health.v1 and HTTP probes,
 * timeouts, and the process-wide cap on probes in flight, measured on the server side. Real
 * system clock with short intervals; every wait is bounded.
 */
import { once } from "node:events";
import { createServer as createHttpServer, type Server as HttpServer, type IncomingMessage } from "node:http";
import { type AddressInfo, createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { Server as GrpcServer, ServerCredentials } from "@grpc/grpc-js";
import { HealthImplementation } from "grpc-health-check";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { applySignal, type HealthRecord, initialHealthRecord } from "../../src/health/policy.js";
import { type ProbeOutcome, type ProbeTarget, signalOfProbe } from "../../src/health/probe.js";
import type { ProberTarget } from "../../src/health/probe-targets.js";
import {
  createProber,
  DEFAULT_MAX_CONCURRENT_PROBES,
  type ProbeResult,
  type Prober,
} from "../../src/health/prober.js";
import type { HealthCheckSpec } from "../../src/model/specs.js";
import { systemClock } from "../../src/shared/clock.js";
import { systemRandom } from "../../src/shared/random.js";
import { createProbe } from "../../src/store/probes/probe-by-kind.js";
import { until } from "../support/eventually.js";

const HOST = "127.0.0.1";
const probe = createProbe();

const tcpCheck = (intervalMs = 50, timeoutMs = 500): HealthCheckSpec => ({
  probe: { kind: "tcp" },
  intervalMs,
  timeoutMs,
  port: 0,
});
const grpcCheck = (service: string): HealthCheckSpec => ({
  probe: { kind: "grpc", service },
  intervalMs: 50,
  timeoutMs: 1_000,
  port: 0,
});
const httpCheck = (
  overrides: Partial<Extract<HealthCheckSpec["probe"], { kind: "http" }>> = {},
  timeoutMs = 1_000,
) =>
  ({
    probe: {
      kind: "http",
      path: "/health",
      expectedStatusMin: 200,
      expectedStatusMax: 399,
      host: "",
      ...overrides,
    },
    intervalMs: 50,
    timeoutMs,
    port: 0,
  }) satisfies HealthCheckSpec;

async function checkOnce(port: number, spec: HealthCheckSpec, signal = new AbortController().signal) {
  const target: ProbeTarget = { host: HOST, port, spec };
  return probe.check(target, signal);
}

async function listen(server: TcpServer | HttpServer, port = 0): Promise<number> {
  server.listen(port, HOST);
  await once(server, "listening");
  return (server.address() as AddressInfo).port;
}

function close(server: TcpServer | HttpServer): Promise<void> {
  if ("closeAllConnections" in server) server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

const probers: Prober[] = [];
afterEach(() => {
  for (const p of probers.splice(0)) p.stop();
});

function startProber(
  targets: readonly ProberTarget[],
  sink: (id: string, r: ProbeResult) => void,
  max?: number,
) {
  const prober = createProber({
    clock: systemClock,
    random: systemRandom,
    probe,
    sink: (_service, backendId, result) => sink(backendId, result),
    ...(max ? { maxConcurrent: max } : {}),
  });
  probers.push(prober);
  prober.sync("svc", targets);
  return prober;
}

describe("H5 TCP probe", () => {
  it("H5 passes while the listener is open, fails when closed, passes again when reopened", async () => {
    const first = createTcpServer((socket) => socket.destroy());
    const port = await listen(first);
    expect(await checkOnce(port, tcpCheck())).toMatchObject({ status: "pass" });
    await close(first);
    const refused = await checkOnce(port, tcpCheck());
    expect(refused.status).toBe("fail");
    expect(refused.detail).toContain("ECONNREFUSED");
    const second = createTcpServer((socket) => socket.destroy());
    await listen(second, port);
    expect(await checkOnce(port, tcpCheck())).toMatchObject({ status: "pass" });
    await close(second);
  });

  it("H5 H1 through the prober: closing the port takes the backend down, reopening brings it back", async () => {
    let server = createTcpServer((socket) => socket.destroy());
    const port = await listen(server);
    const policy = { failureThreshold: 3, recoverySuccesses: 2 };
    let record: HealthRecord = initialHealthRecord("healthy", Date.now());
    const transitions: string[] = [];
    startProber([{ backendId: "b0", host: HOST, port, spec: tcpCheck(30) }], (_id, result) => {
      const step = applySignal(record, signalOfProbe(result), policy, Date.now());
      record = step.record;
      if (step.transition) transitions.push(step.transition.current);
    });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(transitions).toEqual([]);
    await close(server);
    await until(() => record.health === "unhealthy");
    server = createTcpServer((socket) => socket.destroy());
    await listen(server, port);
    await until(() => record.health === "healthy");
    expect(transitions).toEqual(["degraded", "unhealthy", "recovering", "healthy"]);
    await close(server);
  });
});

describe("H5 grpc.health.v1 probe", () => {
  let server: GrpcServer;
  let health: HealthImplementation;
  let port: number;

  beforeAll(async () => {
    server = new GrpcServer();
    health = new HealthImplementation({ "": "SERVING", "fulcrum.test.Echo": "SERVING" });
    health.addToServer(server);
    port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${HOST}:0`, ServerCredentials.createInsecure(), (error, bound) =>
        error ? reject(error) : resolve(bound),
      ),
    );
  });
  afterAll(() => server.forceShutdown());

  it("H5 passes on SERVING and fails on NOT_SERVING, following the status as it flips", async () => {
    expect(await checkOnce(port, grpcCheck("fulcrum.test.Echo"))).toEqual({
      status: "pass",
      detail: 'Check("fulcrum.test.Echo"): SERVING',
    });
    health.setStatus("fulcrum.test.Echo", "NOT_SERVING");
    expect(await checkOnce(port, grpcCheck("fulcrum.test.Echo"))).toEqual({
      status: "fail",
      detail: 'Check("fulcrum.test.Echo"): NOT_SERVING',
    });
    health.setStatus("fulcrum.test.Echo", "SERVING");
    expect((await checkOnce(port, grpcCheck("fulcrum.test.Echo"))).status).toBe("pass");
  });

  it("H5 the empty service name checks the whole server; an unknown name fails", async () => {
    expect((await checkOnce(port, grpcCheck(""))).status).toBe("pass");
    const unknown = await checkOnce(port, grpcCheck("no.such.Service"));
    expect(unknown.status).toBe("fail");
  });

  it("H5 fails when nothing listens", async () => {
    const idle = createTcpServer();
    const closedPort = await listen(idle);
    await close(idle);
    expect((await checkOnce(closedPort, grpcCheck(""))).status).toBe("fail");
  });
});

describe("H5 HTTP probe", () => {
  let status = 200;
  let lastRequest: IncomingMessage | undefined;
  const server = createHttpServer((req, res) => {
    lastRequest = req;
    res.writeHead(status, { "content-type": "text/plain" }).end("body that is not read");
  });
  let port: number;

  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => close(server));

  it("H5 passes on 200, fails on 503, GETs the path", async () => {
    status = 200;
    expect(await checkOnce(port, httpCheck())).toEqual({ status: "pass", detail: "GET /health: 200" });
    expect(lastRequest).toMatchObject({ method: "GET", url: "/health" });
    status = 503;
    expect(await checkOnce(port, httpCheck())).toEqual({
      status: "fail",
      detail: "GET /health: 503, expected 200-399",
    });
  });

  it("H5 honours the expected status range and the Host header", async () => {
    status = 204;
    expect((await checkOnce(port, httpCheck({ expectedStatusMax: 200 }))).status).toBe("fail");
    expect(
      (await checkOnce(port, httpCheck({ expectedStatusMin: 204, expectedStatusMax: 204 }))).status,
    ).toBe("pass");
    await checkOnce(port, httpCheck({ host: "api.example.internal" }));
    expect(lastRequest?.headers.host).toBe("api.example.internal");
    await checkOnce(port, httpCheck());
    expect(lastRequest?.headers.host).toBe(`${HOST}:${port}`);
  });

  it("H5 through the prober: 200 then 503 reach the sink as pass then fail", async () => {
    status = 200;
    const seen: ProbeOutcome["status"][] = [];
    startProber([{ backendId: "b0", host: HOST, port, spec: httpCheck() }], (_id, r) => seen.push(r.status));
    await until(() => seen.length >= 2);
    status = 503;
    await until(() => seen.includes("fail"));
    expect(seen[0]).toBe("pass");
  });
});

describe("H5 a backend that never answers", () => {
  const sockets = { opened: 0, closed: 0 };
  const server = createHttpServer(() => {
    // Accepts and reads the request, never responds.
  });
  server.on("connection", (socket) => {
    sockets.opened++;
    socket.on("close", () => sockets.closed++);
  });
  let port: number;

  beforeAll(async () => {
    port = await listen(server);
  });
  afterAll(() => close(server));

  it("H5 a timeout is a failure, and the aborted probe closes its connection", async () => {
    const results: ProbeResult[] = [];
    const prober = startProber([{ backendId: "b0", host: HOST, port, spec: httpCheck({}, 150) }], (_id, r) =>
      results.push(r),
    );
    await until(() => results.length >= 2);
    prober.stop();
    expect(results.slice(0, 2).map((r) => r.status)).toEqual(["timeout", "timeout"]);
    // The probe waited for its timeout before failing (no early give-up).
    expect(results[0]!.durationMs).toBeGreaterThanOrEqual(140);
    await until(() => sockets.closed === sockets.opened);
    await until(() => prober.stats().running === 0);
  });

  it("H5 every probe kind settles promptly when aborted", async () => {
    for (const spec of [httpCheck(), grpcCheck(""), tcpCheck()]) {
      const controller = new AbortController();
      const pending = checkOnce(port, spec, controller.signal);
      setTimeout(() => controller.abort(), 50);
      const outcome = await pending;
      expect(outcome.status).toBe(spec.probe.kind === "tcp" ? "pass" : "fail");
    }
  });
});

describe("H5 at most 64 probes in flight across the process", () => {
  const SERVERS = 4;
  const BACKENDS = 200;
  const RESPONSE_DELAY_MS = 150;
  const load = { active: 0, peak: 0, served: 0 };
  const servers = Array.from({ length: SERVERS }, () =>
    createHttpServer((_req, res) => {
      load.active++;
      load.peak = Math.max(load.peak, load.active);
      let done = false;
      const end = () => {
        if (done) return;
        done = true;
        load.active--;
        load.served++;
      };
      res.on("finish", end);
      res.on("close", end);
      setTimeout(() => res.writeHead(200).end("ok"), RESPONSE_DELAY_MS);
    }),
  );
  let ports: number[] = [];

  beforeAll(async () => {
    ports = await Promise.all(servers.map((s) => listen(s)));
  });
  afterAll(() => Promise.all(servers.map(close)));

  it("H5 200 backends on 4 slow servers: the servers never see more than 64 probes at once", async () => {
    const resultsById = new Map<string, number>();
    const targets: ProberTarget[] = Array.from({ length: BACKENDS }, (_, i) => ({
      backendId: `b${i}`,
      host: HOST,
      port: ports[i % SERVERS]!,
      spec: { ...httpCheck({}, 2_000), intervalMs: 100 },
    }));
    let clientPeak = 0;
    const prober = startProber(targets, (id, result) => {
      expect(result.status).toBe("pass");
      resultsById.set(id, (resultsById.get(id) ?? 0) + 1);
      clientPeak = Math.max(clientPeak, prober.stats().running);
    });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    prober.stop();
    await until(() => load.active === 0);
    expect(load.peak).toBeLessThanOrEqual(DEFAULT_MAX_CONCURRENT_PROBES);
    expect(clientPeak).toBeLessThanOrEqual(DEFAULT_MAX_CONCURRENT_PROBES);
    // The cap is what binds: without it 200 would run at once.
    expect(load.peak).toBeGreaterThanOrEqual(DEFAULT_MAX_CONCURRENT_PROBES * 0.75);
    expect(resultsById.size).toBe(BACKENDS);
    expect(load.served).toBeGreaterThan(BACKENDS);
  });

  it("H5 control: with the cap raised to 200 the same servers do see more than 64 (the gauge works)", async () => {
    load.peak = 0;
    const targets: ProberTarget[] = Array.from({ length: BACKENDS }, (_, i) => ({
      backendId: `b${i}`,
      host: HOST,
      port: ports[i % SERVERS]!,
      spec: { ...httpCheck({}, 2_000), intervalMs: 100 },
    }));
    const prober = startProber(targets, () => {}, BACKENDS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    prober.stop();
    await until(() => load.active === 0);
    expect(load.peak).toBeGreaterThan(DEFAULT_MAX_CONCURRENT_PROBES);
  });
});
