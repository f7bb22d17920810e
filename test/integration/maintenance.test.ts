/**
 * Maintenance that means it (behaviour.md O10, with H2's probe selections): an operator's
 * UNHEALTHY gets no selection at all, probes included, over many probe intervals of virtual
 * time and on every replica of one Redis; automatic probe picks say `probe: true`; a replica
 * that learns of another replica's Unhealthy transition probes only after probe_interval.
 */
import { create } from "@bufbuild/protobuf";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { StreamReportsRequestSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { ManualClock } from "../../src/shared/manual-clock.js";
import { killCliProcesses, runCli } from "../support/cli-process.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

type Clients = ReturnType<typeof grpcTransportClients>;

const PROBE_INTERVAL_MS = 5_000;
const INTERVALS = 6;
const SELECTS_PER_INTERVAL = 4;
const FAILURE = 2;
const SUCCESS = 1;

const apps: App[] = [];
afterEach(async () => {
  killCliProcesses();
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(clock: ManualClock, redisUrl?: string): Promise<{ app: App } & Clients> {
  const app = await startFulcrum(redisUrl ? { redis: { url: redisUrl } } : {}, { clock });
  apps.push(app);
  return { app, ...grpcTransportClients(app.grpcPort) };
}

async function register(clients: Clients, service: string, failOpen = false) {
  await clients.registry.register({
    service,
    config: {
      health: { probeInterval: { seconds: BigInt(PROBE_INTERVAL_MS / 1_000) }, failureThreshold: 1 },
      load: { failOpen },
    },
    backends: [
      { id: "a", address: "10.0.0.1:80" },
      { id: "b", address: "10.0.0.2:80" },
    ],
  });
}

/** Every pick of INTERVALS probe intervals of virtual time, SELECTS_PER_INTERVAL per interval. */
async function picksOver(clients: Clients, clock: ManualClock, service: string) {
  const picks: { id: string | undefined; probe: boolean }[] = [];
  for (let interval = 0; interval < INTERVALS; interval++) {
    clock.advance(PROBE_INTERVAL_MS);
    for (let i = 0; i < SELECTS_PER_INTERVAL; i++) {
      const answer = await clients.balancer.select({ service });
      picks.push({ id: answer.backends[0]?.id, probe: answer.probe });
      await clients.balancer.report({ outcomes: [{ ticket: answer.ticket, result: SUCCESS }] });
    }
  }
  return picks;
}

async function backendOf(clients: Clients, service: string, id: string) {
  const status = await clients.registry.getService({ service });
  return status.service?.backends.find((b) => b.backend?.id === id);
}

describe("maintenance (one replica)", () => {
  it("O10 an operator's UNHEALTHY gets no selection over many probe intervals, whatever probes say, until HEALTHY", async () => {
    const clock = new ManualClock(Date.now());
    const clients = await start(clock);
    await register(clients, "vault", true);
    await clients.registry.setHealth({
      service: "vault",
      backendId: "a",
      health: HealthState.UNHEALTHY,
      reason: "maintenance",
    });
    // A health agent says it is fine: maintenance holds anyway.
    await clients.balancer.streamReports(
      (async function* () {
        yield create(StreamReportsRequestSchema, {
          probes: [{ service: "vault", backendId: "a", healthy: true }],
        });
      })(),
    );
    const picks = await picksOver(clients, clock, "vault");
    expect(picks).toHaveLength(INTERVALS * SELECTS_PER_INTERVAL);
    expect(picks.every((pick) => pick.id === "b" && !pick.probe)).toBe(true);
    expect(await backendOf(clients, "vault", "a")).toMatchObject({
      health: HealthState.UNHEALTHY,
      maintenance: true,
    });
    const explained = await clients.balancer.select({ service: "vault", explain: true });
    expect(explained.explanation?.candidates.find((c) => c.backendId === "a")?.removedBy).toBe("maintenance");

    // Fail-open never reaches it either: with b gone too, nothing is selectable.
    await clients.registry.setHealth({ service: "vault", backendId: "b", health: HealthState.UNHEALTHY });
    clock.advance(PROBE_INTERVAL_MS * 2);
    await expect(clients.balancer.select({ service: "vault" })).rejects.toThrow(/2 in maintenance/);

    await clients.registry.setHealth({ service: "vault", backendId: "a", health: HealthState.HEALTHY });
    expect((await clients.balancer.select({ service: "vault" })).backends[0]?.id).toBe("a");
    expect(await backendOf(clients, "vault", "a")).toMatchObject({ maintenance: false });
  });

  it("H2 O10 an Unhealthy backend's automatic probe pick says probe: true (API and `fulcrum select --json`); other picks do not", async () => {
    const clock = new ManualClock(Date.now());
    const clients = await start(clock);
    await register(clients, "pool");
    await clients.balancer.report({ outcomes: [{ service: "pool", backendId: "a", result: FAILURE }] });
    await eventually(async () =>
      (await backendOf(clients, "pool", "a"))?.health === HealthState.UNHEALTHY ? true : undefined,
    );
    const before = await clients.balancer.select({ service: "pool" });
    expect(before.backends[0]?.id).toBe("b");
    expect(before.probe).toBe(false);
    clock.advance(PROBE_INTERVAL_MS);
    const cli = runCli(["select", "pool", "--json", "--server", `127.0.0.1:${clients.app.grpcPort}`]);
    expect(await cli.exited).toBe(0);
    const probe = JSON.parse(cli.out()) as { backends: { id: string }[]; probe?: boolean };
    expect(probe.backends[0]?.id).toBe("a");
    expect(probe.probe).toBe(true);
    const after = await clients.balancer.select({ service: "pool" });
    expect(after.backends[0]?.id).toBe("b");
    expect(after.probe).toBe(false);
  });
});

describe("maintenance across replicas on one Redis", () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it("O10 an operator's UNHEALTHY through replica B: replica A never selects the backend, over many probe intervals", async () => {
    const clock = new ManualClock(Date.now());
    const a = await start(clock, redis.url);
    const b = await start(clock, redis.url);
    await register(a, "ledger");
    await b.registry.setHealth({ service: "ledger", backendId: "a", health: HealthState.UNHEALTHY });
    await eventually(async () => ((await backendOf(a, "ledger", "a"))?.maintenance ? true : undefined));
    const picks = await picksOver(a, clock, "ledger");
    expect(picks.every((pick) => pick.id === "b" && !pick.probe)).toBe(true);
  });

  it("H2 O10 a transition to Unhealthy on replica B: replica A's first Select is no probe; its probe comes after probe_interval", async () => {
    const clock = new ManualClock(Date.now());
    const a = await start(clock, redis.url);
    const b = await start(clock, redis.url);
    await register(a, "queue");
    // A holds a health record of `a` from before (its probe clock never started).
    await a.balancer.report({ outcomes: [{ service: "queue", backendId: "a", result: SUCCESS }] });
    await b.balancer.report({ outcomes: [{ service: "queue", backendId: "a", result: FAILURE }] });
    await eventually(async () =>
      (await backendOf(a, "queue", "a"))?.health === HealthState.UNHEALTHY ? true : undefined,
    );
    const first = await a.balancer.select({ service: "queue" });
    expect(first.backends[0]?.id).toBe("b");
    expect(first.probe).toBe(false);
    clock.advance(PROBE_INTERVAL_MS);
    const probe = await a.balancer.select({ service: "queue" });
    expect(probe.backends[0]?.id).toBe("a");
    expect(probe.probe).toBe(true);
  });
});
