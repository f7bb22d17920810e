import { createServer, type Server } from "node:net";
import { create } from "@bufbuild/protobuf";
import { afterEach, describe, expect, it } from "vitest";
import {
  StreamReportsRequestSchema,
  WatchRequestSchema,
  type WatchResponse,
} from "../../gen/fulcrum/v1/balancer_pb.js";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { ManualClock } from "../../src/shared/manual-clock.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { freePort } from "../support/free-port.js";
import { startFulcrum } from "../support/server.js";

const apps: App[] = [];
const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  for (const server of servers.splice(0)) server.close();
});

async function start(clock?: ManualClock) {
  const app = await startFulcrum({}, clock ? { clock } : {});
  apps.push(app);
  return { app, ...grpcTransportClients(app.grpcPort) };
}

function watch(app: App, service: string) {
  const abort = new AbortController();
  const stream = grpcTransportClients(app.grpcPort).balancer.watch(
    create(WatchRequestSchema, { services: [service] }),
    {
      signal: abort.signal,
    },
  );
  const seen: WatchResponse[] = [];
  void (async () => {
    try {
      for await (const message of stream) if (message.event.case !== "heartbeat") seen.push(message);
    } catch {
      // aborted
    }
  })();
  return { seen, close: () => abort.abort() };
}

const healthOf = async (client: ReturnType<typeof grpcTransportClients>, service: string, id: string) =>
  (await client.registry.getService({ service })).service?.backends.find((b) => b.backend?.id === id)?.health;

describe("health through the real RPCs", () => {
  it("H1 Report failures walk a backend Healthy -> Degraded -> Unhealthy; Select stops picking it; successes bring it back", async () => {
    const { app, registry, balancer } = await start();
    const w = watch(app, "h1");
    await registry.register({
      service: "h1",
      config: { health: { failureThreshold: 4, recoverySuccesses: 2 } },
      backends: [
        { id: "a", address: "10.0.0.1:80" },
        { id: "b", address: "10.0.0.2:80" },
      ],
    });
    const fail = { service: "h1", backendId: "a", result: 2 };
    await balancer.report({ outcomes: [fail, fail] });
    expect(await healthOf({ registry, balancer }, "h1", "a")).toBe(HealthState.DEGRADED);
    await balancer.report({ outcomes: [fail, fail] });
    await eventually(async () =>
      (await healthOf({ registry, balancer }, "h1", "a")) === HealthState.UNHEALTHY ? true : undefined,
    );
    for (let i = 0; i < 6; i++) expect((await balancer.select({ service: "h1" })).backends[0]?.id).toBe("b");
    const ok = { service: "h1", backendId: "a", result: 1 };
    await balancer.report({ outcomes: [ok] });
    expect(await healthOf({ registry, balancer }, "h1", "a")).toBe(HealthState.RECOVERING);
    await balancer.report({ outcomes: [ok] });
    expect(await healthOf({ registry, balancer }, "h1", "a")).toBe(HealthState.HEALTHY);
    const transitions = await eventually(async () => {
      const list = w.seen
        .filter((m) => m.event.case === "healthChanged")
        .map((m) => (m.event.value as { current: number }).current);
      return list.length >= 4 ? list : undefined;
    });
    expect(transitions).toEqual([
      HealthState.DEGRADED,
      HealthState.UNHEALTHY,
      HealthState.RECOVERING,
      HealthState.HEALTHY,
    ]);
    w.close();
  });

  it("H3 RATE_LIMITED and NOT_FOUND outcomes never touch health counters", async () => {
    const { registry, balancer } = await start();
    await registry.register({
      service: "h3",
      config: { health: { failureThreshold: 1 } },
      backends: [{ id: "a", address: "10.0.0.1:80" }],
    });
    await balancer.report({
      outcomes: [5, 6, 5, 6].map((result) => ({
        service: "h3",
        backendId: "a",
        result,
        resourceKey: result === 6 ? "k" : "",
      })),
    });
    const status = (await registry.getService({ service: "h3" })).service?.backends[0];
    expect(status?.health).toBe(HealthState.HEALTHY);
    expect(status?.consecutiveFailures).toBe(0);
  });

  it("H6 SetHealth: unhealthy at once; healthy resets counters", async () => {
    const { registry, balancer } = await start();
    await registry.register({
      service: "h6",
      config: { health: { failureThreshold: 5 } },
      backends: [{ id: "a", address: "10.0.0.1:80" }],
    });
    await balancer.report({ outcomes: [{ service: "h6", backendId: "a", result: 2 }] });
    expect((await registry.getService({ service: "h6" })).service?.backends[0]?.consecutiveFailures).toBe(1);
    const down = await registry.setHealth({ service: "h6", backendId: "a", health: HealthState.UNHEALTHY });
    expect(down.previous).toBe(HealthState.HEALTHY);
    expect(await healthOf({ registry, balancer }, "h6", "a")).toBe(HealthState.UNHEALTHY);
    await registry.setHealth({ service: "h6", backendId: "a", health: HealthState.HEALTHY });
    const status = (await registry.getService({ service: "h6" })).service?.backends[0];
    expect(status).toMatchObject({ health: HealthState.HEALTHY, consecutiveFailures: 0 });
  });

  it("H7 Select uses the allowed set of health states: all but Unhealthy by default, or exactly what the service lists", async () => {
    const { registry, balancer } = await start();
    const backends = [
      { id: "a", address: "10.0.0.1:80" },
      { id: "b", address: "10.0.0.2:80" },
    ];
    await registry.register({ service: "h7-default", config: { health: { failureThreshold: 4 } }, backends });
    await registry.register({
      service: "h7-strict",
      config: { health: { failureThreshold: 4, allowedStates: [HealthState.HEALTHY] } },
      backends,
    });
    const fail = (service: string) => ({ service, backendId: "a", result: 2 });
    await balancer.report({
      outcomes: [fail("h7-default"), fail("h7-default"), fail("h7-strict"), fail("h7-strict")],
    });
    expect(await healthOf({ registry, balancer }, "h7-default", "a")).toBe(HealthState.DEGRADED);
    expect(await healthOf({ registry, balancer }, "h7-strict", "a")).toBe(HealthState.DEGRADED);
    const picks = async (service: string) => {
      const ids = new Set<string | undefined>();
      for (let i = 0; i < 4; i++) ids.add((await balancer.select({ service })).backends[0]?.id);
      return ids;
    };
    expect(await picks("h7-default")).toEqual(new Set(["a", "b"]));
    expect(await picks("h7-strict")).toEqual(new Set(["b"]));
  });

  it("H8 health agents stream probe results; unknown backends are rejected, not applied", async () => {
    const { registry, balancer } = await start();
    await registry.register({
      service: "h8",
      config: { health: { failureThreshold: 2 } },
      backends: [{ id: "a", address: "10.0.0.1:80" }],
    });
    async function* agent() {
      yield create(StreamReportsRequestSchema, {
        probes: [{ service: "h8", backendId: "a", healthy: false, detail: "connect refused" }],
      });
      yield create(StreamReportsRequestSchema, {
        probes: [
          { service: "h8", backendId: "a", healthy: false, detail: "connect refused" },
          { service: "h8", backendId: "ghost", healthy: false },
        ],
      });
    }
    const result = await balancer.streamReports(agent());
    expect(result, JSON.stringify(result)).toMatchObject({ applied: 2, rejected: 1 });
    expect(result.errors[0]?.message).toContain("ghost");
    await eventually(async () =>
      (await healthOf({ registry, balancer }, "h8", "a")) === HealthState.UNHEALTHY ? true : undefined,
    );
  });

  it("H5 an active TCP check against a real listener marks the backend Unhealthy when it closes and Healthy when it reopens", async () => {
    const { registry, balancer } = await start();
    const port = await freePort();
    await registry.register({
      service: "h5",
      config: {
        health: {
          failureThreshold: 1,
          recoverySuccesses: 1,
          check: {
            probe: { case: "tcp", value: {} },
            interval: { nanos: 50_000_000 },
            timeout: { nanos: 200_000_000 },
          },
        },
      },
      backends: [{ id: "a", address: `127.0.0.1:${port}` }],
    });
    await eventually(async () =>
      (await healthOf({ registry, balancer }, "h5", "a")) === HealthState.UNHEALTHY ? true : undefined,
    );
    const listener = createServer((socket) => socket.destroy());
    servers.push(listener);
    await new Promise<void>((resolve) => listener.listen(port, "127.0.0.1", () => resolve()));
    await eventually(async () =>
      (await healthOf({ registry, balancer }, "h5", "a")) === HealthState.HEALTHY ? true : undefined,
    );
  });

  it("H2 an Unhealthy backend gets one probe selection at a time once probe_interval has passed (virtual time)", async () => {
    const clock = new ManualClock(Date.now());
    const { registry, balancer } = await start(clock);
    await registry.register({
      service: "h2",
      config: { health: { probeInterval: { seconds: 5n }, recoverySuccesses: 1, failureThreshold: 1 } },
      backends: [
        { id: "a", address: "10.0.0.1:80" },
        { id: "b", address: "10.0.0.2:80" },
      ],
    });
    // Unhealthy by a failure (an operator's UNHEALTHY would get no probe at all, O10).
    await balancer.report({ outcomes: [{ service: "h2", backendId: "a", result: 2 }] });
    await eventually(async () =>
      (await healthOf({ registry, balancer }, "h2", "a")) === HealthState.UNHEALTHY ? true : undefined,
    );
    const pick = async () => (await balancer.select({ service: "h2" })).backends[0]?.id;
    for (let i = 0; i < 4; i++) expect(await pick()).toBe("b");
    clock.advance(5_000);
    const probe = await balancer.select({ service: "h2" });
    expect(probe.backends[0]?.id).toBe("a");
    for (let i = 0; i < 4; i++) expect(await pick()).toBe("b");
    await balancer.report({ outcomes: [{ ticket: probe.ticket, result: 1 }] });
    await eventually(async () =>
      (await healthOf({ registry, balancer }, "h2", "a")) === HealthState.HEALTHY ? true : undefined,
    );
    const picks = new Set<string | undefined>();
    for (let i = 0; i < 4; i++) picks.add(await pick());
    expect(picks).toEqual(new Set(["a", "b"]));
  });

  it("H4 outlier detection ejects a failing backend, honours max_ejection_percent, and never empties a one-backend service", async () => {
    const clock = new ManualClock(Date.now());
    const { registry, balancer } = await start(clock);
    const outlier = {
      enabled: true,
      interval: { seconds: 1n },
      maxEjectionPercent: 25,
      failurePercentage: { threshold: 50, minimumHosts: 1, requestVolume: 10, enforcementPercentage: 100 },
    };
    const health = { failureThreshold: 1000 };
    const ids = ["a", "b", "c", "d"];
    await registry.register({
      service: "h4",
      config: { health, outlier },
      backends: ids.map((id, i) => ({ id, address: `10.0.0.${i + 1}:80` })),
    });
    await registry.register({
      service: "solo",
      config: { health, outlier },
      backends: [{ id: "only", address: "10.0.1.1:80" }],
    });
    const outcomes = (service: string, id: string, result: number) =>
      Array.from({ length: 20 }, () => ({ service, backendId: id, result }));
    await balancer.report({
      outcomes: [
        ...outcomes("h4", "a", 2),
        ...outcomes("h4", "b", 2),
        ...outcomes("h4", "c", 1),
        ...outcomes("h4", "d", 1),
      ],
    });
    await balancer.report({ outcomes: outcomes("solo", "only", 2) });
    clock.advance(1_000);
    const status = (await registry.getService({ service: "h4" })).service!.backends;
    const ejected = status.filter((b) => b.ejected).map((b) => b.backend?.id);
    expect(ejected).toHaveLength(1);
    expect(["a", "b"]).toContain(ejected[0]);
    for (let i = 0; i < 6; i++)
      expect((await balancer.select({ service: "h4" })).backends[0]?.id).not.toBe(ejected[0]);
    expect((await registry.getService({ service: "solo" })).service?.backends[0]?.ejected).toBe(false);
    expect((await balancer.select({ service: "solo" })).backends[0]?.id).toBe("only");
  });

  it("R5 a lease that is not renewed removes the backend, and Watch says so (virtual time)", async () => {
    const clock = new ManualClock(Date.now());
    const { app, registry } = await start(clock);
    const w = watch(app, "r5");
    await registry.register({
      service: "r5",
      backends: [
        { id: "leased", address: "10.0.0.1:80", leaseTtl: { seconds: 10n } },
        { id: "static", address: "10.0.0.2:80" },
      ],
    });
    clock.advance(8_000);
    expect(await registry.heartbeat({ service: "r5", backendIds: ["leased"] })).toMatchObject({ renewed: 1 });
    clock.advance(8_000);
    expect((await registry.getService({ service: "r5" })).service?.backends).toHaveLength(2);
    clock.advance(3_000);
    const removed = await eventually(async () => w.seen.find((m) => m.event.case === "backendRemoved"));
    expect(removed.event.value).toMatchObject({ backendId: "leased", reason: "lease_expired" });
    expect(
      (await registry.getService({ service: "r5" })).service?.backends.map((b) => b.backend?.id),
    ).toEqual(["static"]);
    w.close();
  });

  it("R5 deregister-after-critical removes a backend Unhealthy for too long (virtual time)", async () => {
    const clock = new ManualClock(Date.now());
    const { registry } = await start(clock);
    await registry.register({
      service: "crit",
      config: { health: { deregisterCriticalAfter: { seconds: 30n } } },
      backends: [
        { id: "a", address: "10.0.0.1:80" },
        { id: "b", address: "10.0.0.2:80" },
      ],
    });
    await registry.setHealth({ service: "crit", backendId: "a", health: HealthState.UNHEALTHY });
    clock.advance(29_000);
    expect((await registry.getService({ service: "crit" })).service?.backends).toHaveLength(2);
    clock.advance(2_000);
    await eventually(async () => {
      const ids = (await registry.getService({ service: "crit" })).service?.backends.map(
        (b) => b.backend?.id,
      );
      return ids?.length === 1 ? ids : undefined;
    });
  });

  it("R6 draining: no new selections; removed when its in-flight reaches zero; Watch shows each step", async () => {
    const { app, registry, balancer } = await start();
    const w = watch(app, "r6");
    await registry.register({
      service: "r6",
      backends: [
        { id: "a", address: "10.0.0.1:80" },
        { id: "b", address: "10.0.0.2:80" },
      ],
    });
    const first = await balancer.select({ service: "r6" });
    expect(first.backends[0]?.id).toBe("a");
    const drained = await registry.deregister({
      service: "r6",
      backendIds: ["a"],
      drain: true,
      drainTimeout: { seconds: 60n },
    });
    expect(drained.draining).toBe(1);
    for (let i = 0; i < 4; i++) expect((await balancer.select({ service: "r6" })).backends[0]?.id).toBe("b");
    expect(
      (await registry.getService({ service: "r6" })).service?.backends.find((b) => b.backend?.id === "a")
        ?.draining,
    ).toBe(true);
    await balancer.report({ outcomes: [{ ticket: first.ticket, result: 1 }] });
    await eventually(async () => {
      const ids = (await registry.getService({ service: "r6" })).service?.backends.map((b) => b.backend?.id);
      return ids?.length === 1 ? ids : undefined;
    });
    const steps = w.seen.map((m) => m.event.case);
    expect(steps).toEqual(["snapshot", "backendUpdated", "backendRemoved"]);
    expect(w.seen[2]?.event.value).toMatchObject({ backendId: "a", reason: "drained" });
    w.close();
  });
});
