/**
 * The quota view through the tiered cache (`state.quotaView`, docs/state.md): what the quota
 * filter and most_available read of each backend comes from the replica's L1, else from the
 * quota keys on a real redis-server; a RATE_LIMITED mark on one replica drops the others'
 * copies; each failure mode with the redis-server stopped (SIGKILL), then started again.
 */
import { Code } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { CallResult, Strategy } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import type { FulcrumConfigInput } from "../../src/config/schema.js";
import { ManualClock } from "../../src/shared/manual-clock.js";
import { failureOf } from "../support/auth.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

type Clients = ReturnType<typeof grpcTransportClients>;
type Mode = "l1Only" | "error" | "retry";

let redis: RedisProcess | undefined;
const apps: App[] = [];

afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
  await redis?.stop();
  redis = undefined;
});

/** One replica on the shared redis-server (started by the first call). */
async function replica(
  quotaView: FulcrumConfigInput["state"] = {},
  clock?: ManualClock,
): Promise<{ c: Clients; app: App }> {
  redis ??= await startRedis();
  const app = await startFulcrum(
    { redis: { url: redis.url, commandTimeoutMs: 5_000 }, state: quotaView, quota: { replicas: 2 } },
    clock ? { clock } : {},
  );
  apps.push(app);
  return { c: grpcTransportClients(app.grpcPort), app };
}

/** A counter (or gauge) of the replica's /metrics with exactly these labels; NaN when absent. */
async function metric(app: App, name: string, labels: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${app.webPort}/metrics`)).text();
  const escaped = labels.replace(/[{}]/g, "\\$&");
  const line = new RegExp(`^${name}\\{${escaped}\\} (\\d+)`, "m").exec(text);
  return Number(line?.[1] ?? Number.NaN);
}

const viewCounter = (app: App, operation: string) =>
  metric(app, "fulcrum_cache_operations_total", `cache="quotaView",operation="${operation}"`);

const requests = (limit: number) => [{ dimension: "requests", limit, window: { seconds: 600n } }];

async function register(c: Clients, service: string, strategy: Strategy, limit: number): Promise<void> {
  await c.registry.register({
    service,
    config: { strategy: { strategy } },
    backends: [
      { id: "a", address: "10.9.0.1:80", quotas: requests(limit) },
      { id: "b", address: "10.9.0.2:80", quotas: requests(limit) },
    ],
  });
}

async function pick(c: Clients, service: string, exclude: string[] = []): Promise<string | undefined> {
  return (await c.balancer.select({ service, exclude })).backends[0]?.id;
}

describe("state.quotaView: the quota view read through the tiered cache, Redis as L2", () => {
  it("Q4 C9 a RATE_LIMITED mark on one replica drops the other's L1 copy: it reads the mark from Redis and never tries the backend", async () => {
    const one = await replica();
    const two = await replica();
    await register(one.c, "mark", Strategy.ROUND_ROBIN, 1_000);
    await eventually(() => two.c.registry.getService({ service: "mark" }));
    await pick(two.c, "mark");
    // GetService read both backends from Redis into two's L1; Selects answer from it.
    const readBefore = await viewCounter(two.app, "l2Hits");
    const missedBefore = await viewCounter(two.app, "l1Misses");
    expect(await viewCounter(two.app, "l1Hits")).toBeGreaterThan(0);

    await one.c.balancer.report({
      outcomes: [
        { service: "mark", backendId: "a", result: CallResult.RATE_LIMITED, retryAfter: { seconds: 60n } },
      ],
    });
    await eventually(async () =>
      (await viewCounter(two.app, "remoteInvalidations")) >= 1 ? true : undefined,
    );
    const picks = [];
    for (let i = 0; i < 6; i++) picks.push(await pick(two.c, "mark"));
    expect(picks).toEqual(Array(6).fill("b"));
    expect(await metric(two.app, "fulcrum_quota_decisions_total", `decision="denied"`)).toBe(0);
    expect(await viewCounter(two.app, "l2Hits")).toBe(readBefore + 1);
    expect(await viewCounter(two.app, "l1Misses")).toBe(missedBefore + 1);
    expect(await viewCounter(two.app, "fills")).toBeGreaterThan(0);
  });

  it("Q3 a replica whose own copy says out of quota reads Redis again before refusing: units another replica gave back are used", async () => {
    const one = await replica();
    const two = await replica();
    const tokens = [{ dimension: "tokens", limit: 100, window: { seconds: 600n } }];
    await one.c.registry.register({
      service: "giveback",
      backends: [{ id: "k", address: "10.9.0.4:80", quotas: tokens }],
    });
    await eventually(() => two.c.registry.getService({ service: "giveback" }));
    const held = await one.c.balancer.select({ service: "giveback", cost: { tokens: 100 } });
    const refused = await failureOf(two.c.balancer.select({ service: "giveback", cost: { tokens: 100 } }));
    expect(refused?.code).toBe(Code.ResourceExhausted);
    // The call used 10 tokens: the true-up gives 90 back in Redis; two's own copy still says none left.
    await one.c.balancer.report({
      outcomes: [{ ticket: held.ticket, result: CallResult.SUCCESS, usage: { tokens: 10 } }],
    });
    const picked = await two.c.balancer.select({ service: "giveback", cost: { tokens: 50 } });
    expect(picked.backends[0]?.id).toBe("k");
  });

  for (const l1TtlMs of [0, 20]) {
    it(`S8 most_available reads other replicas' reservations from Redis ${l1TtlMs ? "once the L1 copy is past l1TtlMs" : "only on an L1 miss by default"}`, async () => {
      // One clock for both replicas: the L1 copy's TTL passes when the test says so.
      const clock = new ManualClock(Date.now());
      const one = await replica({}, clock);
      const two = await replica({ quotaView: { l1TtlMs } }, clock);
      await register(one.c, "avail", Strategy.MOST_AVAILABLE, 10);
      await eventually(() => two.c.registry.getService({ service: "avail" }));
      expect(await pick(two.c, "avail", ["a"])).toBe("b");
      for (let i = 0; i < 6; i++) expect(await pick(one.c, "avail", ["b"])).toBe("a");
      clock.advance(2 * l1TtlMs);
      // a has 4 of 10 left in Redis, b 9 of 10; two's L1 still says a is untouched.
      expect(await pick(two.c, "avail")).toBe(l1TtlMs ? "b" : "a");
    });
  }
});

/** One replica; `seen` read once before Redis stops (in its L1), `unseen` never. */
async function startStopped(mode: Mode): Promise<{ c: Clients; app: App }> {
  const one = await replica({ quotaView: { failureMode: mode, attempts: 2 } });
  await register(one.c, "seen", Strategy.ROUND_ROBIN, 100);
  await register(one.c, "unseen", Strategy.ROUND_ROBIN, 100);
  await one.c.registry.register({ service: "plain", backends: [{ id: "p", address: "10.9.0.3:80" }] });
  await pick(one.c, "seen");
  await redis!.stop();
  return one;
}

describe("state.quotaView.failureMode with redis-server stopped", () => {
  for (const mode of ["l1Only", "retry"] as const) {
    it(`C5 ${mode}: a backend the L1 does not hold is answered as this replica last saw it (the local share admits)`, async () => {
      const { c, app } = await startStopped(mode);
      expect(await pick(c, "unseen")).toMatch(/^[ab]$/);
      expect(await pick(c, "seen")).toMatch(/^[ab]$/);
      expect(await viewCounter(app, "l2Errors")).toBeGreaterThan(0);
      if (mode === "retry") expect(await viewCounter(app, "l2Retries")).toBeGreaterThan(0);
    });
  }

  it("C5 error: a Select whose view is not in L1 fails UNAVAILABLE naming the store; the L1 still answers, services without quota too; all again once Redis is back", async () => {
    const { c, app } = await startStopped("error");
    const refused = await failureOf(c.balancer.select({ service: "unseen" }));
    expect(refused?.code).toBe(Code.Unavailable);
    expect(refused?.rawMessage).toContain("quota view store is unavailable");
    expect(await pick(c, "seen")).toMatch(/^[ab]$/);
    expect(await pick(c, "plain")).toBe("p");
    expect(await viewCounter(app, "l2Errors")).toBeGreaterThan(0);

    await redis!.start();
    await eventually(() => pick(c, "unseen"), 10_000);
  });
});
