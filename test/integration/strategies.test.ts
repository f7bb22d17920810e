/**
 * Every strategy end to end over gRPC (grpc-js port): Register with the strategy and its proto
 * settings, Select, Report; invalid settings rejected by Register (S1-S17).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { HealthState, LoadMetric, Strategy } from "../../gen/fulcrum/v1/types_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { App } from "../../src/app/create-app.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";

let app: App;
let clients: ReturnType<typeof grpcTransportClients>;
beforeAll(async () => {
  app = await startFulcrum();
  clients = grpcTransportClients(app.grpcPort);
});
afterAll(() => app.close());

type RegisterArgs = Parameters<ReturnType<typeof grpcTransportClients>["registry"]["register"]>[0];
type StrategyConfig = NonNullable<NonNullable<RegisterArgs["config"]>["strategy"]>;

const three = (extra: (i: number) => Record<string, unknown> = () => ({})) =>
  ["a", "b", "c"].map((id, i) => ({ id, address: `10.1.0.${i + 1}:80`, ...extra(i) }));

async function register(service: string, strategy: StrategyConfig, backends = three(), load = {}) {
  return clients.registry.register({ service, backends, config: { strategy, load } });
}

/** `n` Selects; each is reported at once when `report` is set (in-flight stays 0). */
async function picks(service: string, n: number, request: { hashKey?: string } = {}, report = true) {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const response = await clients.balancer.select({ service, ...request });
    ids.push(response.backends.map((b) => b.id).join("+"));
    if (report) await clients.balancer.report({ outcomes: [{ ticket: response.ticket, result: 1 }] });
  }
  return ids;
}

async function rejection(promise: Promise<unknown>): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  return error as ConnectError;
}

describe("every strategy is reachable over gRPC", () => {
  it("S1 round_robin: a b c a", async () => {
    await register("rr", { strategy: Strategy.ROUND_ROBIN });
    expect(await picks("rr", 4)).toEqual(["a", "b", "c", "a"]);
  });

  it("S2 smooth_weighted: weights 5,1,1 give a a b a c a a", async () => {
    await register(
      "swrr",
      { strategy: Strategy.SMOOTH_WEIGHTED },
      three((i) => ({ weight: i === 0 ? 5 : 1 })),
    );
    expect(await picks("swrr", 7)).toEqual(["a", "a", "b", "a", "c", "a", "a"]);
  });

  it("S3 interleaved_weighted: max_connections 5,1,1 give a b c a a a a", async () => {
    const backends = three((i) => ({ maxConnections: i === 0 ? 5 : 1 }));
    await register("iwrr", { strategy: Strategy.INTERLEAVED_WEIGHTED }, backends);
    expect(await picks("iwrr", 7)).toEqual(["a", "b", "c", "a", "a", "a", "a"]);
  });

  it("S4 random and weighted_random pick registered backends only", async () => {
    await register("rnd", { strategy: Strategy.RANDOM });
    await register(
      "wrnd",
      { strategy: Strategy.WEIGHTED_RANDOM },
      three((i) => ({ weight: i === 2 ? 1 : 100 })),
    );
    expect(new Set(await picks("rnd", 30))).toEqual(new Set(["a", "b", "c"]));
    const weighted = await picks("wrnd", 30);
    expect(weighted.every((id) => ["a", "b", "c"].includes(id))).toBe(true);
  });

  it("S5 least_load with settings: in-flight grows, picks spread a b c a", async () => {
    await register("ll", {
      strategy: Strategy.LEAST_LOAD,
      settings: { case: "leastLoad", value: { metric: LoadMetric.IN_FLIGHT, randomTieBreak: false } },
    });
    expect(await picks("ll", 4, {}, false)).toEqual(["a", "b", "c", "a"]);
  });

  it("S6 power_of_two with peak-EWMA and a decay: never the single most loaded backend", async () => {
    await register("p2c", {
      strategy: Strategy.POWER_OF_TWO,
      settings: { case: "powerOfTwo", value: { metric: LoadMetric.PEAK_EWMA, decay: { seconds: 5n } } },
    });
    const first = await clients.balancer.select({ service: "p2c" });
    await clients.balancer.report({
      outcomes: [{ ticket: first.ticket, result: 1, latency: { seconds: 2n } }],
    });
    const slow = first.backends[0]!.id;
    const status = await clients.registry.getService({ service: "p2c" });
    const reported = status.service?.backends.find((b) => b.backend?.id === slow);
    expect(Number(reported?.ewmaLatency?.seconds)).toBe(2);
    expect(await picks("p2c", 20)).not.toContain(slow);
  });

  it.each([
    [
      "ring_hash",
      {
        strategy: Strategy.RING_HASH,
        settings: { case: "ringHash", value: { virtualNodes: 100, balanceFactorPercent: 150 } },
      },
    ],
    ["maglev", { strategy: Strategy.MAGLEV, settings: { case: "maglev", value: { tableSize: 257 } } }],
    ["rendezvous", { strategy: Strategy.RENDEZVOUS }],
  ] as const)(
    "S7 %s: the same key gives the same backend; no key falls back to round robin",
    async (name, strategy) => {
      await register(name, strategy as StrategyConfig);
      const owner = await picks(name, 5, { hashKey: "user-42" });
      expect(new Set(owner).size).toBe(1);
      const spread = new Set<string>();
      for (let k = 0; k < 30; k++) spread.add((await picks(name, 1, { hashKey: `k${k}` }))[0]!);
      expect(spread.size).toBeGreaterThan(1);
      expect(await picks(name, 3)).toEqual(["a", "b", "c"]);
    },
  );

  it("S8 most_available with epsilon: picks registered backends (every backend full without a quota layer)", async () => {
    await register("ma", {
      strategy: Strategy.MOST_AVAILABLE,
      settings: { case: "mostAvailable", value: { epsilon: 0.1 } },
    });
    expect(new Set(await picks("ma", 30))).toEqual(new Set(["a", "b", "c"]));
  });

  it("S9 a fallback chain: maglev without a key uses its smooth_weighted fallback", async () => {
    await register(
      "chain",
      { strategy: Strategy.MAGLEV, fallback: { strategy: Strategy.SMOOTH_WEIGHTED } },
      three((i) => ({ weight: i === 0 ? 3 : 1 })),
    );
    expect(await picks("chain", 5)).toEqual(["a", "b", "a", "c", "a"]);
  });

  it("S17 GetService shows each strategy's settings as registered", async () => {
    const status = await clients.registry.getService({ service: "ring_hash" });
    const strategy = status.service?.config?.strategy;
    expect(strategy?.strategy).toBe(Strategy.RING_HASH);
    expect(strategy?.settings).toMatchObject({
      case: "ringHash",
      value: { virtualNodes: 100, balanceFactorPercent: 150 },
    });
    const p2c = (await clients.registry.getService({ service: "p2c" })).service?.config?.strategy;
    expect(p2c?.settings).toMatchObject({ case: "powerOfTwo", value: { metric: LoadMetric.PEAK_EWMA } });
  });
});

describe("the pipeline over gRPC", () => {
  it("S13 S16 a panicking service answers degraded with an explanation", async () => {
    await register("panic", { strategy: Strategy.ROUND_ROBIN });
    // Unhealthy by failures (the default threshold of 3): an operator's UNHEALTHY would take
    // the backends out of panic too (O10).
    const failures = (backendId: string) =>
      Array.from({ length: 3 }, () => ({ service: "panic", backendId, result: 2 }));
    await clients.balancer.report({ outcomes: [...failures("a"), ...failures("b")] });
    await eventually(async () => {
      const status = await clients.registry.getService({ service: "panic" });
      const down = status.service?.backends.filter((b) => b.health === HealthState.UNHEALTHY).length;
      return down === 2 ? true : undefined;
    });
    const response = await clients.balancer.select({ service: "panic", explain: true });
    expect(response.degraded).toBe(true);
    expect(response.explanation?.strategy).toBe("round_robin");
    expect(response.explanation?.reason).toContain("panic");
    expect(response.explanation?.candidates.map((c) => c.backendId)).toEqual(["a", "b", "c"]);
  });

  it("S10 S11 tiers, zones, labels and count over gRPC", async () => {
    const backends = [
      { id: "eu-1", address: "10.2.0.1:80", zone: "eu", labels: { disk: "ssd" } },
      { id: "eu-2", address: "10.2.0.2:80", zone: "eu", labels: { disk: "hdd" } },
      { id: "us-1", address: "10.2.0.3:80", zone: "us", labels: { disk: "ssd" } },
      { id: "spare", address: "10.2.0.4:80", tier: 1, labels: { disk: "ssd" } },
    ];
    await clients.registry.register({ service: "shaped", backends });
    const eu = await clients.balancer.select({ service: "shaped", zone: "eu", labels: { disk: "ssd" } });
    expect(eu.backends.map((b) => b.id)).toEqual(["eu-1"]);
    const all = await clients.balancer.select({ service: "shaped", count: 5 });
    expect(all.backends.map((b) => b.id).sort()).toEqual(["eu-1", "eu-2", "spare", "us-1"]);
    const spill = await clients.balancer.select({ service: "shaped", exclude: ["eu-1", "eu-2", "us-1"] });
    expect(spill.backends.map((b) => b.id)).toEqual(["spare"]);
  });
});

describe("invalid strategy settings are rejected by Register", () => {
  const cases: { name: string; field: string; strategy: StrategyConfig }[] = [
    {
      name: "maglev",
      field: "config.strategy.maglev.table_size",
      strategy: { strategy: Strategy.MAGLEV, settings: { case: "maglev", value: { tableSize: 4 } } },
    },
    {
      name: "ring_hash",
      field: "config.strategy.ring_hash.balance_factor_percent",
      strategy: {
        strategy: Strategy.RING_HASH,
        settings: { case: "ringHash", value: { balanceFactorPercent: 50 } },
      },
    },
    {
      name: "ring_hash",
      field: "config.strategy.ring_hash.virtual_nodes",
      strategy: {
        strategy: Strategy.RING_HASH,
        settings: { case: "ringHash", value: { virtualNodes: 1_000_000 } },
      },
    },
    {
      name: "most_available",
      field: "config.strategy.most_available.epsilon",
      strategy: {
        strategy: Strategy.MOST_AVAILABLE,
        settings: { case: "mostAvailable", value: { epsilon: 2 } },
      },
    },
    {
      name: "power_of_two",
      field: "config.strategy.power_of_two.decay",
      strategy: {
        strategy: Strategy.POWER_OF_TWO,
        settings: { case: "powerOfTwo", value: { decay: { seconds: 200_000n } } },
      },
    },
    {
      name: "maglev",
      field: "config.strategy.fallback.maglev.table_size",
      strategy: {
        strategy: Strategy.ROUND_ROBIN,
        fallback: { strategy: Strategy.MAGLEV, settings: { case: "maglev", value: { tableSize: 65_536 } } },
      },
    },
  ];
  it.each(cases)(
    "S17 $name: INVALID_ARGUMENT naming the strategy and $field",
    async ({ name, strategy, field }) => {
      const before = await clients.registry.listServices({});
      const error = await rejection(register(`bad-${name}`, strategy));
      expect(error.code).toBe(Code.InvalidArgument);
      expect(error.rawMessage).toContain(name);
      expect(error.rawMessage).toContain(field);
      expect(error.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toContain(field);
      expect((await clients.registry.listServices({})).services).toEqual(before.services);
    },
  );

  it("S17 settings for another strategy are rejected, naming the oneof", async () => {
    const error = await rejection(
      register("bad-mix", {
        strategy: Strategy.RING_HASH,
        settings: { case: "maglev", value: { tableSize: 7 } },
      }),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toContain("config.strategy.maglev");
    expect(error.rawMessage).toContain("ring_hash");
  });
});
