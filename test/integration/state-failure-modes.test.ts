/**
 * What each `state.<kind>.failureMode` promises while redis-server is stopped (docs/state.md;
 * behaviour.md C5 applied to P4 and Q6): a real Fulcrum per case on a real redis-server that
 * the test kills (SIGKILL) and starts again empty. `state.pins.l1TtlMs: 1` makes every pinned
 * Select ask Redis, so what is checked is the failure mode, not the L1's answer-alone window.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterEach, describe, expect, it } from "vitest";
import { CallResult, RoutingMode, SessionMode } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import type { FulcrumConfigInput } from "../../src/config/schema.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

type Clients = ReturnType<typeof grpcTransportClients>;
type Mode = "l1Only" | "error" | "retry";

let redis: RedisProcess | undefined;
let app: App | undefined;

afterEach(async () => {
  await app?.close();
  await redis?.stop();
  app = undefined;
  redis = undefined;
});

async function start(state: FulcrumConfigInput["state"], extra: FulcrumConfigInput = {}): Promise<Clients> {
  redis = await startRedis();
  app = await startFulcrum({ redis: { url: redis.url, commandTimeoutMs: 5_000 }, state, ...extra });
  return grpcTransportClients(app.grpcPort);
}

async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => error,
  );
  expect(outcome).toBeInstanceOf(ConnectError);
  return outcome as ConnectError;
}

async function cacheCounter(kind: string, counter: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${app!.webPort}/metrics`)).text();
  const line = new RegExp(
    `fulcrum_cache_operations_total\\{cache="${kind}",operation="${counter}"\\} (\\d+)`,
  ).exec(text);
  return Number(line?.[1] ?? Number.NaN);
}

const backends = Array.from({ length: 4 }, (_, i) => ({ id: `b${i}`, address: `10.7.0.${i + 1}:119` }));

async function pinned(c: Clients, sessionId: string, command: string) {
  const picked = await c.balancer.select({ service: "news", sessionId, command });
  await c.balancer.report({ outcomes: [{ ticket: picked.ticket, result: CallResult.SUCCESS }] });
  return { id: picked.backends[0]?.id, mode: picked.sessionMode };
}

async function startPins(mode: Mode): Promise<{ c: Clients; before: string | undefined }> {
  const c = await start({ pins: { failureMode: mode, attempts: 2, l1TtlMs: 1 } });
  await c.registry.register({
    service: "news",
    config: { session: { routingMode: RoutingMode.HYBRID } },
    backends,
  });
  const before = (await pinned(c, "s-old", "GROUP misc.test")).id;
  await redis!.stop();
  return { c, before };
}

describe("state.pins.failureMode with redis-server stopped", () => {
  for (const mode of ["l1Only", "retry"] as const) {
    it(`P4 C5 ${mode}: pinned sessions keep their backend, new pins are made locally and put back when Redis returns empty`, async () => {
      const { c, before } = await startPins(mode);
      expect((await pinned(c, "s-old", "ARTICLE 1")).id).toBe(before);
      const made = await pinned(c, "s-new", "GROUP misc.test");
      expect(made.mode).toBe(SessionMode.STATEFUL);
      expect((await pinned(c, "s-new", "ARTICLE 1")).id).toBe(made.id);
      expect(await cacheCounter("pins", "localPins")).toBe(1);
      if (mode === "retry") expect(await cacheCounter("pins", "l2Retries")).toBeGreaterThan(0);

      await redis!.start();
      const pinOf = async (session: string) =>
        (await redis!.cli("get", `fulcrum:{p:news}:s:${session}`)).trim() || undefined;
      await eventually(async () => ((await pinOf("s-new")) === made.id ? true : undefined), 10_000);
      await eventually(async () => ((await pinOf("s-old")) === before ? true : undefined), 10_000);
      expect((await pinned(c, "s-new", "ARTICLE 2")).id).toBe(made.id);
      expect((await pinned(c, "s-old", "ARTICLE 2")).id).toBe(before);
    });
  }

  it("P4 C5 error: a Select that needs Redis fails UNAVAILABLE and no pin is made; pins work again when it returns", async () => {
    const { c, before } = await startPins("error");
    const old = await failure(
      c.balancer.select({ service: "news", sessionId: "s-old", command: "ARTICLE 1" }),
    );
    expect(old.code).toBe(Code.Unavailable);
    const fresh = await failure(
      c.balancer.select({ service: "news", sessionId: "s-new", command: "GROUP misc.test" }),
    );
    expect(fresh.code).toBe(Code.Unavailable);
    expect(fresh.rawMessage).toContain("session store is unavailable");
    expect(await cacheCounter("pins", "localPins")).toBe(0);
    expect(await cacheCounter("pins", "l2Errors")).toBeGreaterThanOrEqual(2);

    await redis!.start();
    const again = await eventually(() => pinned(c, "s-old", "ARTICLE 1"), 10_000);
    expect(again.id).toBe(before);
  });
});

const QUOTA_LIMIT = 4;

async function startQuota(mode: Mode): Promise<Clients> {
  const c = await start({ quota: { failureMode: mode, attempts: 2 } }, { quota: { replicas: 2 } });
  await c.registry.register({
    service: "q",
    backends: [
      {
        id: "a",
        address: "10.8.0.1:80",
        quotas: [{ dimension: "requests", limit: QUOTA_LIMIT, window: { seconds: 600n } }],
      },
    ],
  });
  await c.balancer.select({ service: "q" });
  await redis!.stop();
  return c;
}

/** Selects until the first refusal (at most 2 * QUOTA_LIMIT); the admitted count and the refusal. */
async function admitUntilRefused(
  c: Clients,
): Promise<{ admitted: number; refusal: ConnectError | undefined }> {
  for (let admitted = 0; admitted < 2 * QUOTA_LIMIT; admitted++) {
    const outcome = await c.balancer.select({ service: "q" }).then(
      () => undefined,
      (error: unknown) => error as ConnectError,
    );
    if (outcome) return { admitted, refusal: outcome };
  }
  return { admitted: 2 * QUOTA_LIMIT, refusal: undefined };
}

describe("state.quota.failureMode with redis-server stopped", () => {
  for (const mode of ["l1Only", "retry"] as const) {
    it(`Q6 C5 ${mode}: admits on the local share (limit / quota.replicas), then RESOURCE_EXHAUSTED`, async () => {
      const c = await startQuota(mode);
      const { admitted, refusal } = await admitUntilRefused(c);
      expect(admitted).toBe(QUOTA_LIMIT / 2);
      expect(refusal?.code).toBe(Code.ResourceExhausted);
      expect(await cacheCounter("quota", "l1Hits")).toBeGreaterThan(0);
      if (mode === "retry") expect(await cacheCounter("quota", "l2Retries")).toBeGreaterThan(0);
    });
  }

  it("Q6 C5 error: refuses with UNAVAILABLE (fail closed), admits again once Redis is back", async () => {
    const c = await startQuota("error");
    const { admitted, refusal } = await admitUntilRefused(c);
    expect(admitted).toBe(0);
    expect(refusal?.code).toBe(Code.Unavailable);
    expect(refusal?.rawMessage).toContain("fail closed");
    expect(await cacheCounter("quota", "refused")).toBeGreaterThan(0);
    await redis!.start();
    await eventually(() => c.balancer.select({ service: "q" }), 10_000);
  });
});

async function startNegative(mode: Mode): Promise<Clients> {
  const c = await start({ negative: { failureMode: mode, attempts: 2 } });
  await c.registry.register({ service: "p8", backends: backends.slice(0, 2) });
  await redis!.stop();
  return c;
}

describe("state.negative (P8 facts through the tiered cache, Redis as L2)", () => {
  it("P8 C9 a NOT_FOUND reported on one replica makes Selects with that key skip the backend on another", async () => {
    const onA = await start({});
    const other = await startFulcrum({ redis: { url: redis!.url, commandTimeoutMs: 5_000 } });
    try {
      await onA.registry.register({ service: "p8", backends: backends.slice(0, 2) });
      const onB = grpcTransportClients(other.grpcPort);
      await eventually(() => onB.registry.getService({ service: "p8" }));
      await onA.balancer.report({
        outcomes: [{ service: "p8", backendId: "b0", result: CallResult.NOT_FOUND, resourceKey: "<m1@x>" }],
      });
      await eventually(async () =>
        (await redis!.cli("--scan", "--pattern", "fulcrum:negative:*")).includes("<m1@x>") ? true : undefined,
      );
      const picks = new Set<string | undefined>();
      for (let i = 0; i < 6; i++) {
        const picked = await onB.balancer.select({ service: "p8", resourceKey: "<m1@x>" });
        await onB.balancer.report({ outcomes: [{ ticket: picked.ticket, result: CallResult.SUCCESS }] });
        picks.add(picked.backends[0]?.id);
      }
      expect([...picks]).toEqual(["b1"]);
    } finally {
      await other.close();
    }
  });

  for (const mode of ["l1Only", "retry"] as const) {
    it(`P8 C5 ${mode}: with Redis stopped a Select with a resource key is answered from this replica's facts`, async () => {
      const c = await startNegative(mode);
      const picked = await c.balancer.select({ service: "p8", resourceKey: "<m2@x>" });
      expect(["b0", "b1"]).toContain(picked.backends[0]?.id);
      expect(await cacheCounter("negative", "l2Errors")).toBeGreaterThan(0);
      if (mode === "retry") expect(await cacheCounter("negative", "l2Retries")).toBeGreaterThan(0);
    });
  }

  it("P8 C5 error: with Redis stopped a Select with a resource key fails UNAVAILABLE naming the store; without one it is answered", async () => {
    const c = await startNegative("error");
    const refused = await failure(c.balancer.select({ service: "p8", resourceKey: "<m3@x>" }));
    expect(refused.code).toBe(Code.Unavailable);
    expect(refused.rawMessage).toContain("negative-availability store is unavailable");
    expect((await c.balancer.select({ service: "p8" })).backends).toHaveLength(1);
  });
});
