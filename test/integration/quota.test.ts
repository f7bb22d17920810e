/**
 * Quota through the real RPCs (behaviour.md Q1-Q8, S8; README "Quotas": Select cost, Report usage /
 * retry_after / remaining, RESOURCE_EXHAUSTED + RetryInfo): a real Fulcrum on loopback,
 * in memory with a ManualClock for the window math, and three replicas on one real Redis
 * with the real clock for global accuracy (Q6) and the degraded guarantee (Redis stopped).
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CallResult, QuotaAlgorithm, Strategy } from "../../gen/fulcrum/v1/types_pb.js";
import { BadRequestSchema, RetryInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { App } from "../../src/app/create-app.js";
import type { FulcrumConfigInput } from "../../src/config/schema.js";
import { ManualClock } from "../../src/shared/manual-clock.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

type Clients = ReturnType<typeof grpcTransportClients>;

/** A multiple of every window used below, so bucket boundaries fall on round offsets from it. */
const T0 = 1_800_000_000_000;

const apps: App[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function start(clock?: ManualClock, overrides: FulcrumConfigInput = {}) {
  const app = await startFulcrum(overrides, clock ? { clock } : {});
  apps.push(app);
  return { app, ...grpcTransportClients(app.grpcPort) };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The error of a call that must fail, as a ConnectError. */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    () => undefined,
    (error: unknown) => ConnectError.from(error),
  );
  if (!outcome) throw new Error("expected the call to fail");
  return outcome;
}

/** RetryInfo delay of an error in ms, or undefined without RetryInfo. */
function retryDelayMs(error: ConnectError): number | undefined {
  const info = error.findDetails(RetryInfoSchema)[0];
  if (!info?.retryDelay) return undefined;
  return Number(info.retryDelay.seconds) * 1_000 + info.retryDelay.nanos / 1e6;
}

const seconds = (s: number) => ({ seconds: BigInt(Math.floor(s)), nanos: Math.round((s % 1) * 1e9) });

const limit = (
  dimension: string,
  units: number,
  windowS: number,
  algorithm = QuotaAlgorithm.SLIDING_WINDOW,
) => ({
  dimension,
  limit: units,
  window: seconds(windowS),
  algorithm,
});

/** Remaining units per dimension of one backend, as GetService reports them. */
async function remainingOf(c: Clients, service: string, id: string): Promise<Record<string, number>> {
  const status = await c.registry.getService({ service });
  return { ...status.service?.backends.find((b) => b.backend?.id === id)?.quotaRemaining };
}

/** Waits until GetService shows `expected` for the backend (true-ups and releases settle in the background). */
function remainingBecomes(c: Clients, service: string, id: string, expected: Record<string, number>) {
  return eventually(async () => {
    const now = await remainingOf(c, service, id);
    return JSON.stringify(now) === JSON.stringify(expected) ? now : undefined;
  }).catch(async () => {
    expect(await remainingOf(c, service, id)).toEqual(expected);
  });
}

const pick = async (c: Clients, service: string, request: Record<string, unknown> = {}) =>
  (await c.balancer.select({ service, ...request })).backends[0]?.id;

describe("quota through the real RPCs (in memory, virtual time)", () => {
  it("Q1 Q8 Register validates quota limits per dimension, naming backends[i].quotas[j].field", async () => {
    const { registry } = await start();
    const cases = [
      { quotas: [limit("requests", 0, 60)], field: "backends[0].quotas[0].limit" },
      { quotas: [limit("requests", -5, 60)], field: "backends[0].quotas[0].limit" },
      {
        quotas: [limit("requests", 10, 60), { dimension: "tokens", limit: 100 }],
        field: "backends[0].quotas[1].window",
      },
      {
        quotas: [limit("requests", 10, 60), limit("tokens", 100, 60), limit("requests", 5, 1)],
        field: "backends[0].quotas[2].dimension",
      },
    ];
    for (const { quotas, field } of cases) {
      const error = await failure(
        registry.register({ service: "q1", backends: [{ id: "a", address: "10.0.0.1:80", quotas }] }),
      );
      expect(error.code, field).toBe(Code.InvalidArgument);
      expect(error.rawMessage, field).toContain(field);
      const fields = error
        .findDetails(BadRequestSchema)
        .flatMap((d) => d.fieldViolations.map((v) => v.field));
      expect(fields, field).toContain(field);
    }
    // The second backend's quotas are named with its own index; a failed Register changes nothing.
    const second = await failure(
      registry.register({
        service: "q1",
        backends: [
          { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 10, 60)] },
          { id: "b", address: "10.0.0.2:80", quotas: [limit("tokens", 10, 0)] },
        ],
      }),
    );
    expect(second.code).toBe(Code.InvalidArgument);
    expect(second.rawMessage).toContain("backends[1].quotas[0].window");
    expect((await failure(registry.getService({ service: "q1" }))).code).toBe(Code.NotFound);
  });

  it("Q8 unknown dimensions in cost and usage are ignored; the Select still succeeds and the known ones count", async () => {
    const { registry, balancer } = await start(new ManualClock(T0));
    const c = { registry, balancer };
    await registry.register({
      service: "q8",
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 10, 60), limit("tokens", 1000, 60)] },
      ],
    });
    const selected = await balancer.select({ service: "q8", cost: { requests: 1, tokens: 100, gpus: 7 } });
    expect(selected.backends[0]?.id).toBe("a");
    expect(await remainingOf(c, "q8", "a")).toEqual({ requests: 9, tokens: 900 });
    const report = await balancer.report({
      outcomes: [
        {
          ticket: selected.ticket,
          result: CallResult.SUCCESS,
          usage: { tokens: 40, gpus: 3, "cache-hits": 12 },
        },
      ],
    });
    expect(report.applied).toBe(1);
    await remainingBecomes(c, "q8", "a", { requests: 9, tokens: 960 });
    // A cost naming only unknown dimensions still takes the default one request.
    expect(await pick(c, "q8", { cost: { gpus: 1 } })).toBe("a");
    expect(await remainingOf(c, "q8", "a")).toEqual({ requests: 8, tokens: 960 });
  });

  it("Q3 Select reserves the cost on the chosen backend; Report usage refunds below it and charges above it", async () => {
    const { registry, balancer } = await start(new ManualClock(T0));
    const c = { registry, balancer };
    await registry.register({
      service: "q3",
      backends: [
        {
          id: "a",
          address: "10.0.0.1:80",
          quotas: [limit("requests", 100, 60), limit("tokens", 10_000, 60)],
        },
      ],
    });
    expect(await remainingOf(c, "q3", "a")).toEqual({ requests: 100, tokens: 10_000 });
    const first = await balancer.select({ service: "q3", cost: { requests: 1, tokens: 1500 } });
    expect(first.backends[0]?.id).toBe("a");
    expect(await remainingOf(c, "q3", "a")).toEqual({ requests: 99, tokens: 8500 });

    // Used less than estimated: the difference comes back.
    await balancer.report({
      outcomes: [{ ticket: first.ticket, result: CallResult.SUCCESS, usage: { tokens: 400 } }],
    });
    await remainingBecomes(c, "q3", "a", { requests: 99, tokens: 9600 });

    // Used more: the excess is charged on top of the reservation.
    const second = await balancer.select({ service: "q3", cost: { requests: 1, tokens: 1500 } });
    expect(await remainingOf(c, "q3", "a")).toEqual({ requests: 98, tokens: 8100 });
    await balancer.report({
      outcomes: [{ ticket: second.ticket, result: CallResult.SUCCESS, usage: { requests: 1, tokens: 4000 } }],
    });
    await remainingBecomes(c, "q3", "a", { requests: 98, tokens: 5600 });

    // Reporting the same ticket again changes nothing (idempotent).
    const again = await balancer.report({
      outcomes: [{ ticket: second.ticket, result: CallResult.SUCCESS, usage: { tokens: 0 } }],
    });
    expect(again).toMatchObject({ applied: 0, ignored: 1 });
    expect(await remainingOf(c, "q3", "a")).toEqual({ requests: 98, tokens: 5600 });
  });

  it("Q10 once Reports show usage running above Select costs, a cost that fits only by itself is refused, with RetryInfo", async () => {
    for (const mode of ["learned", "off"] as const) {
      const { registry, balancer } = await start(new ManualClock(T0), {
        quota: { estimateMargin: { mode } },
      });
      const c = { registry, balancer };
      const backends = [{ id: "a", address: "10.0.0.1:80", quotas: [limit("tokens", 1_000, 60)] }];
      await registry.register({ service: "q10", backends });
      for (let i = 0; i < 2; i++) {
        const { ticket } = await balancer.select({ service: "q10", cost: { tokens: 100 } });
        await balancer.report({ outcomes: [{ ticket, result: CallResult.SUCCESS, usage: { tokens: 150 } }] });
      }
      await remainingBecomes(c, "q10", "a", { tokens: 700 });
      // Learned: real usage runs 1.5 x the cost. 400 x 1.5 fits the 700 left; 250 x 1.5 not the 300 after it.
      expect(await pick(c, "q10", { cost: { tokens: 400 } })).toBe("a");
      const last = balancer.select({ service: "q10", cost: { tokens: 250 } });
      if (mode === "off") {
        expect((await last).backends[0]?.id).toBe("a");
        continue;
      }
      const refused = await failure(last);
      expect(refused.code).toBe(Code.ResourceExhausted);
      // Every unit leaves a window after the end of the 10 s bucket it was admitted in.
      expect(retryDelayMs(refused)).toBe(70_000);
      expect(await remainingOf(c, "q10", "a")).toEqual({ tokens: 300 });
    }
  });

  it("Q10 only a SUCCESS Report teaches the margin", async () => {
    const { registry, balancer } = await start(new ManualClock(T0));
    const c = { registry, balancer };
    const backends = [{ id: "a", address: "10.0.0.1:80", quotas: [limit("tokens", 1_000, 60)] }];
    await registry.register({ service: "q10-success", backends });
    const call = async (result: CallResult, tokens: number) => {
      const { ticket } = await balancer.select({ service: "q10-success", cost: { tokens: 100 } });
      await balancer.report({ outcomes: [{ ticket, result, usage: { tokens } }] });
    };
    await call(CallResult.SUCCESS, 150);
    await call(CallResult.SUCCESS, 150);
    // A failed call's usage (3 x its cost) is charged but does not teach: the factor stays 1.5.
    await call(CallResult.FAILURE, 300);
    await remainingBecomes(c, "q10-success", "a", { tokens: 400 });
    // 250 x 1.5 = 375 fits the 400 left; with the failure learned (factor 2) 500 would not.
    expect(await pick(c, "q10-success", { cost: { tokens: 250 } })).toBe("a");
  });

  it("Q3 a backend that cannot take the cost is skipped and another one is chosen", async () => {
    const { registry, balancer } = await start(new ManualClock(T0));
    const c = { registry, balancer };
    await registry.register({
      service: "q3-skip",
      config: { strategy: { strategy: Strategy.ROUND_ROBIN } },
      backends: [
        { id: "small", address: "10.0.0.1:80", quotas: [limit("tokens", 2000, 60)] },
        { id: "big", address: "10.0.0.2:80", quotas: [limit("tokens", 100_000, 60)] },
      ],
    });
    expect(await pick(c, "q3-skip", { exclude: ["big"], cost: { tokens: 1500 } })).toBe("small");
    expect(await remainingOf(c, "q3-skip", "small")).toEqual({ tokens: 500 });
    // "small" still has headroom (500 of 2000), so it stays a candidate, but 1500 does not fit.
    const picks = [];
    for (let i = 0; i < 6; i++) picks.push(await pick(c, "q3-skip", { cost: { tokens: 1500 } }));
    expect(picks).toEqual(Array(6).fill("big"));
    // A smaller cost still fits on "small", and round robin goes back to it.
    const small = [];
    for (let i = 0; i < 4; i++) small.push(await pick(c, "q3-skip", { cost: { tokens: 100 } }));
    expect(small).toContain("small");
    expect(await remainingOf(c, "q3-skip", "big")).toEqual({
      tokens: 100_000 - 6 * 1500 - 100 * (4 - small.filter((id) => id === "small").length),
    });
  });

  it("Q3 a ticket that expires without a Report gives its reservation back (ticket_lease on the injected clock)", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    const c = { registry, balancer };
    await registry.register({
      service: "q3-expire",
      config: { load: { ticketLease: seconds(5) } },
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 10, 60), limit("tokens", 10_000, 60)] },
      ],
    });
    const lost = await balancer.select({ service: "q3-expire", cost: { requests: 1, tokens: 1500 } });
    const kept = await balancer.select({ service: "q3-expire", cost: { requests: 1, tokens: 1000 } });
    expect(await remainingOf(c, "q3-expire", "a")).toEqual({ requests: 8, tokens: 7500 });
    await balancer.report({
      outcomes: [{ ticket: kept.ticket, result: CallResult.SUCCESS, usage: { tokens: 1000 } }],
    });
    clock.advance(4_000);
    expect(await remainingOf(c, "q3-expire", "a")).toEqual({ requests: 8, tokens: 7500 });
    clock.advance(2_000); // past the 5 s lease; the 1 s sweep runs on the injected clock
    await remainingBecomes(c, "q3-expire", "a", { requests: 9, tokens: 9000 });
    // The expired ticket's late Report is ignored: nothing is refunded twice.
    const late = await balancer.report({
      outcomes: [{ ticket: lost.ticket, result: CallResult.SUCCESS, usage: { tokens: 0 } }],
    });
    expect(late).toMatchObject({ applied: 0, ignored: 1 });
    expect(await remainingOf(c, "q3-expire", "a")).toEqual({ requests: 9, tokens: 9000 });
  });

  it("Q4 RATE_LIMITED with retry_after marks the backend exhausted until then; afterwards it is used again", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    const c = { registry, balancer };
    await registry.register({
      service: "q4",
      config: { strategy: { strategy: Strategy.ROUND_ROBIN } },
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 1000, 60)] },
        { id: "b", address: "10.0.0.2:80", quotas: [limit("requests", 1000, 60)] },
      ],
    });
    const onA = await balancer.select({ service: "q4", exclude: ["b"], cost: { requests: 1 } });
    expect(onA.backends[0]?.id).toBe("a");
    await balancer.report({
      outcomes: [{ ticket: onA.ticket, result: CallResult.RATE_LIMITED, retryAfter: seconds(30) }],
    });
    await eventually(async () =>
      (await pick(c, "q4", { exclude: ["b"] }).catch(() => "refused")) === "refused" ? true : undefined,
    );
    const during = [];
    for (let i = 0; i < 8; i++) during.push(await pick(c, "q4", { cost: { requests: 1 } }));
    expect(during).toEqual(Array(8).fill("b"));
    clock.advance(29_000);
    expect(await pick(c, "q4", { cost: { requests: 1 } })).toBe("b");
    expect(await pick(c, "q4", { cost: { requests: 1 } })).toBe("b");
    // The mark has lifted. Nothing has read a's quota since: the gate's cached view ages on its own
    // (it used to keep ratio 0 forever, so the quota filter skipped a until a GetService).
    clock.advance(1_500);
    const after = [];
    for (let i = 0; i < 6; i++) after.push(await pick(c, "q4", { cost: { requests: 1 } }));
    expect(after).toContain("a");
    expect(after).toContain("b");
  });

  it("Q4 RATE_LIMITED without a ticket (service + backend_id) marks the backend too; the RetryInfo is the mark's end", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    await registry.register({
      service: "q4-bare",
      backends: [{ id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 1000, 60)] }],
    });
    await balancer.report({
      outcomes: [
        { service: "q4-bare", backendId: "a", result: CallResult.RATE_LIMITED, retryAfter: seconds(12) },
      ],
    });
    const refused = await eventually(() =>
      failure(balancer.select({ service: "q4-bare", cost: { requests: 1 } })).then((e) =>
        e.code === Code.ResourceExhausted ? e : undefined,
      ),
    );
    expect(retryDelayMs(refused)).toBe(12_000);
    clock.advance(5_000);
    // Now the balancer's quota filter refuses before any reserve: the RetryInfo must still be there.
    const later = await failure(balancer.select({ service: "q4-bare", cost: { requests: 1 } }));
    expect(later.code).toBe(Code.ResourceExhausted);
    expect(retryDelayMs(later)).toBe(7_000);
    clock.advance(7_000);
    expect((await balancer.select({ service: "q4-bare", cost: { requests: 1 } })).backends[0]?.id).toBe("a");
  });

  it("Q4 upstream `remaining` in a Report lowers the local view (never raises it)", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    const c = { registry, balancer };
    await registry.register({
      service: "q4-up",
      config: { strategy: { strategy: Strategy.ROUND_ROBIN } },
      backends: [
        {
          id: "a",
          address: "10.0.0.1:80",
          quotas: [limit("requests", 100, 60), limit("tokens", 10_000, 60)],
        },
        {
          id: "b",
          address: "10.0.0.2:80",
          quotas: [limit("requests", 100, 60), limit("tokens", 10_000, 60)],
        },
      ],
    });
    const onA = await balancer.select({
      service: "q4-up",
      exclude: ["b"],
      cost: { requests: 1, tokens: 100 },
    });
    expect(await remainingOf(c, "q4-up", "a")).toEqual({ requests: 99, tokens: 9900 });
    await balancer.report({
      outcomes: [
        {
          ticket: onA.ticket,
          result: CallResult.SUCCESS,
          usage: { tokens: 100 },
          remaining: { tokens: 800, requests: 500, bogus: 1 },
        },
      ],
    });
    // tokens drop to the upstream's 800; requests stay at 99 (a higher upstream figure is ignored).
    await remainingBecomes(c, "q4-up", "a", { requests: 99, tokens: 800 });
    // Without a ticket, too.
    await balancer.report({
      outcomes: [
        { service: "q4-up", backendId: "b", result: CallResult.SUCCESS, remaining: { requests: 3 } },
      ],
    });
    await remainingBecomes(c, "q4-up", "b", { requests: 3, tokens: 10_000 });
    // A cost of 1500 tokens no longer fits on a; it goes to b.
    for (let i = 0; i < 3; i++)
      expect(await pick(c, "q4-up", { cost: { requests: 1, tokens: 1500 } })).toBe("b");
  });

  it("Q9 a Report's remaining is reconciled with what Fulcrum held when the call was admitted", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock, { quota: { reconcileHoldMs: 500, upstreamLagMs: 20 } });
    const c = { registry, balancer };
    // 3 requests per 3 s in 10 buckets of 300 ms: a unit admitted at t leaves at the end of t's bucket + 3 s.
    const quotas = [{ ...limit("requests", 3, 3), buckets: 10 }];
    for (const service of ["q9-flight", "q9-unknown", "q9-lag"])
      await registry.register({ service, backends: [{ id: "a", address: "10.0.0.1:80", quotas }] });
    const at = (offsetMs: number) => clock.advance(T0 + offsetMs - clock.now());
    const selectAt = async (service: string, offsetMs: number) => {
      at(offsetMs);
      return (await balancer.select({ service })).ticket;
    };
    const report = (ticket: string, remaining: Record<string, number>) =>
      balancer.report({ outcomes: [{ ticket, result: CallResult.SUCCESS, remaining }] });

    await report(await selectAt("q9-flight", 0), { requests: 2 });
    await report(await selectAt("q9-flight", 1_000), { requests: 1 });
    await report(await selectAt("q9-flight", 2_000), { requests: 0 });
    // t = 3.3 s: the first unit has left; the call admitted now reaches the provider, which counts 3.
    const inFlight = await selectAt("q9-flight", 3_300);
    // t = 4.2 s: the unit of t = 1 s leaves, upstream and here, while that call is in flight.
    at(4_200);
    await report(inFlight, { requests: 0 });
    // The provider's 0 was true when the call reached it; the unit that left since is not charged again.
    await remainingBecomes(c, "q9-flight", "a", { requests: 1 });

    // Usage the upstream counted and Fulcrum did not know of (here someone else used the key)
    // is held as long as the call was in flight (at least quota.reconcileHoldMs), to the end of
    // a bucket, not a window.
    const early = await selectAt("q9-unknown", 9_000);
    at(11_000); // in flight 2 s (from the Select at 9 s): held until 13 s
    await report(early, { requests: 1 });
    await remainingBecomes(c, "q9-unknown", "a", { requests: 1 });
    at(12_300); // the call's own unit: the end of 9.02 s's bucket + 3 s
    await remainingBecomes(c, "q9-unknown", "a", { requests: 2 });
    at(13_199);
    await remainingBecomes(c, "q9-unknown", "a", { requests: 2 });
    at(13_200); // 13 s falls in the bucket that leaves the window at 13.2 s
    await remainingBecomes(c, "q9-unknown", "a", { requests: 3 });

    const quick = await selectAt("q9-unknown", 14_000);
    at(14_100); // in flight 80 ms: held quota.reconcileHoldMs (500 ms), until 14.6 s
    await report(quick, { requests: 1 });
    await remainingBecomes(c, "q9-unknown", "a", { requests: 1 });
    at(14_699);
    await remainingBecomes(c, "q9-unknown", "a", { requests: 1 });
    at(14_700);
    await remainingBecomes(c, "q9-unknown", "a", { requests: 2 });

    // A Select 10 ms before a bucket ends: the provider may count the call up to
    // quota.upstreamLagMs (20 ms) later, in the next bucket, so the unit stays a bucket longer.
    await selectAt("q9-lag", 18_290);
    at(21_599);
    await remainingBecomes(c, "q9-lag", "a", { requests: 2 });
    at(21_600);
    await remainingBecomes(c, "q9-lag", "a", { requests: 3 });
  });

  it("Q5 when every backend is out of quota, RESOURCE_EXHAUSTED carries RetryInfo of the first recovery (window math)", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    const c = { registry, balancer };
    // 2 requests per 6 s, 6 buckets of 1 s: a unit admitted in bucket k leaves the window a
    // whole window after that bucket ends, at (k + 7) s.
    await registry.register({
      service: "q5",
      config: { strategy: { strategy: Strategy.ROUND_ROBIN } },
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 2, 6)] },
        { id: "b", address: "10.0.0.2:80", quotas: [limit("requests", 2, 6)] },
      ],
    });
    expect(await pick(c, "q5", { exclude: ["b"] })).toBe("a"); // t = 0 s, bucket 0
    clock.advance(1_000);
    expect(await pick(c, "q5", { exclude: ["b"] })).toBe("a"); // t = 1 s, bucket 1
    clock.advance(1_000);
    expect(await pick(c, "q5", { exclude: ["a"] })).toBe("b"); // t = 2 s, bucket 2
    clock.advance(500);
    expect(await pick(c, "q5", { exclude: ["a"] })).toBe("b"); // t = 2.5 s, bucket 2
    clock.advance(500); // t = 3 s
    const first = await failure(balancer.select({ service: "q5", cost: { requests: 1 } }));
    expect(first.code).toBe(Code.ResourceExhausted);
    // a's bucket 0 leaves at 7 s (4 s from now); b's units only at 9 s.
    expect(retryDelayMs(first)).toBe(4_000);
    // Asked again a little later (the balancer now knows both are out): still RetryInfo, aged.
    clock.advance(1_250); // t = 4.25 s
    const second = await failure(balancer.select({ service: "q5" }));
    expect(second.code).toBe(Code.ResourceExhausted);
    expect(retryDelayMs(second)).toBe(2_750);
    clock.advance(2_750); // t = 7 s: a's first unit has left the window
    // Nothing has read a's quota since it was full: the balancer's view recovers on its own.
    expect(await pick(c, "q5", { cost: { requests: 1 } })).toBe("a");
    expect(await remainingOf(c, "q5", "a")).toEqual({ requests: 0 });
    const third = await failure(balancer.select({ service: "q5" }));
    // Now a frees again at 8 s, b at 9 s.
    expect(retryDelayMs(third)).toBe(1_000);
    clock.advance(2_000); // t = 9 s: a (bucket 1) and b (bucket 2) have room again
    const picks = [await pick(c, "q5"), await pick(c, "q5")];
    expect(picks.sort()).toEqual(["a", "b"]);
  });

  it("Q5 the quota filter skips backends whose remaining ratio is below config.quota.filter_threshold", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    const c = { registry, balancer };
    await registry.register({
      service: "q5-filter",
      config: { strategy: { strategy: Strategy.ROUND_ROBIN }, quota: { filterThreshold: 0.5 } },
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 10, 60)] },
        { id: "b", address: "10.0.0.2:80", quotas: [limit("requests", 10, 60)] },
      ],
    });
    // a drops to 4 of 10 (ratio 0.4 < 0.5): it could still take a request, but the filter skips it.
    for (let i = 0; i < 6; i++) expect(await pick(c, "q5-filter", { exclude: ["b"] })).toBe("a");
    expect(await remainingOf(c, "q5-filter", "a")).toEqual({ requests: 4 });
    const picks = [];
    for (let i = 0; i < 5; i++) picks.push(await pick(c, "q5-filter"));
    expect(picks).toEqual(Array(5).fill("b"));
    // b is at 5 of 10 (0.5, not below): one more and both are below the threshold.
    expect(await pick(c, "q5-filter")).toBe("b");
    const refused = await failure(balancer.select({ service: "q5-filter" }));
    expect(refused.code).toBe(Code.ResourceExhausted);
    // Recovery under the threshold means 5 of 10 free: a's 6 units all sit in one bucket,
    // which leaves the window a whole window after it ends, at 70 s.
    expect(retryDelayMs(refused)).toBe(70_000);
    clock.advance(70_000);
    const after = [];
    for (let i = 0; i < 4; i++) after.push(await pick(c, "q5-filter"));
    expect(after.sort()).toEqual(["a", "a", "b", "b"]);
  });

  it("Q7 shadow mode admits past the limit (no RESOURCE_EXHAUSTED) while still counting", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    const c = { registry, balancer };
    await registry.register({
      service: "q7",
      config: { quota: { shadow: true } },
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 3, 60), limit("tokens", 1000, 60)] },
      ],
    });
    for (let i = 0; i < 8; i++) expect(await pick(c, "q7", { cost: { requests: 1, tokens: 400 } })).toBe("a");
    // Counted: the backend shows nothing left (usage is past the limit, remaining never below 0).
    expect(await remainingOf(c, "q7", "a")).toEqual({ requests: 0, tokens: 0 });
    // The same service enforcing: the next Select is refused.
    await registry.register({
      service: "q7",
      config: { quota: { shadow: false } },
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 3, 60), limit("tokens", 1000, 60)] },
      ],
    });
    const refused = await failure(balancer.select({ service: "q7", cost: { requests: 1 } }));
    expect(refused.code).toBe(Code.ResourceExhausted);
  });

  it("S8 most_available prefers the backend with the most headroom", async () => {
    const clock = new ManualClock(T0);
    const { registry, balancer } = await start(clock);
    const c = { registry, balancer };
    await registry.register({
      service: "s8",
      config: { strategy: { strategy: Strategy.MOST_AVAILABLE } },
      backends: [
        { id: "a", address: "10.0.0.1:80", quotas: [limit("tokens", 10_000, 60)] },
        { id: "b", address: "10.0.0.2:80", quotas: [limit("tokens", 10_000, 60)] },
      ],
    });
    expect(await pick(c, "s8", { exclude: ["b"], cost: { tokens: 5000 } })).toBe("a");
    const picks = [];
    for (let i = 0; i < 20; i++) picks.push(await pick(c, "s8", { cost: { tokens: 10 } }));
    expect(picks).toEqual(Array(20).fill("b"));
    // Once b has been used more than a, the preference turns around.
    expect(await pick(c, "s8", { exclude: ["a"], cost: { tokens: 6000 } })).toBe("b");
    const back = [];
    for (let i = 0; i < 10; i++) back.push(await pick(c, "s8", { cost: { tokens: 10 } }));
    expect(back).toEqual(Array(10).fill("a"));
  });
});

/** Q6 limit: requests per window, sliding window of 6 buckets. */
const Q6_LIMIT = 200;
const Q6_WINDOW_MS = 2_000;
const Q6_BUCKETS = 6;
const REPLICAS = 3;

interface Admission {
  readonly replica: number;
  /** Client clock when the Select was sent and when it was answered. */
  readonly sentAt: number;
  readonly at: number;
}

interface HammerResult {
  readonly admitted: Admission[];
  readonly refused: number;
  /** Failures other than RESOURCE_EXHAUSTED, by code name. */
  readonly errors: Record<string, number>;
}

/**
 * Independent clients, `perReplica` on each listed replica, Select `cost` as fast as the
 * answers allow until `until()` or `maxCalls` each; a RESOURCE_EXHAUSTED client sleeps for
 * its RetryInfo delay (capped, with a little jitter), so they all race for each bucket that
 * leaves the window. Admissions are recorded with the client clock.
 */
async function hammer(
  replicas: readonly Clients[],
  service: string,
  options: { perReplica: number; until: () => boolean; maxCalls: number },
): Promise<HammerResult> {
  const admitted: Admission[] = [];
  const errors: Record<string, number> = {};
  let refused = 0;
  const worker = async (client: Clients, replica: number) => {
    for (let calls = 0; calls < options.maxCalls && !options.until(); calls++) {
      const sentAt = Date.now();
      try {
        await client.balancer.select({ service, cost: { requests: 1 } });
        admitted.push({ replica, sentAt, at: Date.now() });
      } catch (error) {
        const e = ConnectError.from(error);
        if (e.code === Code.ResourceExhausted) {
          refused++;
          await sleep(Math.min(retryDelayMs(e) ?? 20, 250) + Math.random() * 3);
        } else {
          errors[Code[e.code]] = (errors[Code[e.code]] ?? 0) + 1;
          await sleep(20);
        }
      }
    }
  };
  await Promise.all(
    replicas.flatMap((client, replica) =>
      Array.from({ length: options.perReplica }, () => worker(client, replica)),
    ),
  );
  return { admitted, refused, errors };
}

/**
 * Admissions per sliding window on the server's bucket grid (bucket i covers
 * [i, i + 1) x windowMs / buckets of epoch ms; the limiter guarantees any `buckets`
 * consecutive buckets hold at most the limit). The server decided each admission at some
 * instant between sending and answer, so from the client side a window holds at least the
 * admissions sent and answered inside it (`certain`, what the assertions use: it can only
 * be above the limit if the server admitted too much) and at most those whose
 * [sent, answered] overlaps it (`possible`, printed: it counts a busy process's slow answers
 * in the next bucket).
 */
function windowCounts(
  admitted: readonly Admission[],
  windowMs = Q6_WINDOW_MS,
  buckets = Q6_BUCKETS,
): { certain: number; possible: number } {
  if (admitted.length === 0) return { certain: 0, possible: 0 };
  const bucketOf = (t: number) => Math.floor((t * buckets) / windowMs);
  const spans = admitted.map((a) => [bucketOf(a.sentAt), bucketOf(a.at)] as const);
  const lo = Math.min(...spans.map(([first]) => first));
  const hi = Math.max(...spans.map(([, last]) => last));
  let certain = 0;
  let possible = 0;
  for (let first = lo - buckets + 1; first <= hi; first++) {
    const last = first + buckets - 1;
    let inside = 0;
    let overlapping = 0;
    for (const [from, to] of spans) {
      if (from >= first && to <= last) inside++;
      if (to >= first && from <= last) overlapping++;
    }
    certain = Math.max(certain, inside);
    possible = Math.max(possible, overlapping);
  }
  return { certain, possible };
}

const overPercent = (count: number, limit: number) => (Math.max(0, count - limit) / limit) * 100;

const q6Backend = (id: string) => ({
  id,
  address: "10.9.0.1:443",
  quotas: [limit("requests", Q6_LIMIT, Q6_WINDOW_MS / 1_000)],
});

describe("quota headroom in Watch", () => {
  it("Q4 S8 Watch reports headroom crossing the watch thresholds, down and back up", async () => {
    const clock = new ManualClock(T0);
    const c = await start(clock);
    await c.registry.register({
      service: "headroom",
      config: { quota: { watchThresholds: [0.5] } },
      backends: [{ id: "a", address: "10.0.0.1:80", quotas: [limit("requests", 4, 10)] }],
    });
    const abort = new AbortController();
    const seen: { below: boolean; threshold: number; dimension: string }[] = [];
    const stream = c.balancer.watch({ services: ["headroom"] }, { signal: abort.signal });
    void (async () => {
      try {
        for await (const m of stream) if (m.event.case === "headroomCrossed") seen.push(m.event.value);
      } catch {
        // aborted
      }
    })();
    await sleep(50);
    const held = [];
    for (let i = 0; i < 2; i++) held.push(await c.balancer.select({ service: "headroom" }));
    await eventually(async () => (seen.length >= 1 ? true : undefined));
    expect(seen[0]).toMatchObject({ dimension: "requests", threshold: 0.5, below: true });
    clock.advance(12_000); // past the window and the bucket the units were admitted in
    await c.registry.getService({ service: "headroom" });
    await eventually(async () => (seen.length >= 2 ? true : undefined));
    expect(seen[1]).toMatchObject({ dimension: "requests", threshold: 0.5, below: false });
    abort.abort();
  });
});

describe("quota across three replicas on one Redis (real clock)", () => {
  let redis: RedisProcess;
  let redisDown = false;
  const replicas: App[] = [];
  let clients: Clients[] = [];
  beforeAll(async () => {
    redis = await startRedis();
    for (let i = 0; i < REPLICAS; i++)
      replicas.push(await startFulcrum({ redis: { url: redis.url }, quota: { replicas: REPLICAS } }));
    clients = replicas.map((app) => grpcTransportClients(app.grpcPort));
  }, 30_000);
  afterAll(async () => {
    if (redisDown) await redis.start();
    await Promise.all(replicas.map((app) => app.close()));
    await redis?.stop();
  }, 30_000);

  async function registerEverywhere(service: string) {
    await clients[0]!.registry.register({ service, backends: [q6Backend("llm")] });
    for (const client of clients) await eventually(() => client.registry.getService({ service }));
  }

  it("Q6 three replicas never admit more than the limit + 1% in any window (many concurrent clients, sliding window)", async () => {
    await registerEverywhere("q6-global");
    const windows = 4;
    const end = Date.now() + windows * Q6_WINDOW_MS;
    const result = await hammer(clients, "q6-global", {
      perReplica: 6,
      until: () => Date.now() >= end,
      maxCalls: 5_000,
    });
    const { certain, possible } = windowCounts(result.admitted);
    const perReplica = [0, 1, 2].map((r) => result.admitted.filter((a) => a.replica === r).length);
    console.log(
      `Q6 global accuracy: 3 replicas x 6 clients, ${Q6_LIMIT} requests / ${Q6_WINDOW_MS} ms sliding window, ${windows} windows: ` +
        `${result.admitted.length} admitted (per replica ${perReplica.join("/")}), ${result.refused} refused; ` +
        `worst window ${certain} admitted for certain (over-admission ${overPercent(certain, Q6_LIMIT).toFixed(2)}%), ` +
        `${possible} counting every answer that straddles a bucket edge in both`,
    );
    expect(result.errors).toEqual({});
    expect(certain).toBeLessThanOrEqual(Q6_LIMIT * 1.01);
    // Every replica admitted some (how many is a throughput figure: the quota bench measures it).
    for (const count of perReplica) expect(count).toBeGreaterThan(0);
  }, 60_000);

  it("Q6 with Redis stopped mid-run, Selects are answered from per-replica local budgets (1/3 each); on its return the replicas use Redis again", async () => {
    await registerEverywhere("q6-outage");
    let stoppedAt = Number.POSITIVE_INFINITY;
    const end = Date.now() + 4 * Q6_WINDOW_MS;
    const [result] = await Promise.all([
      hammer(clients, "q6-outage", { perReplica: 6, until: () => Date.now() >= end, maxCalls: 5_000 }),
      (async () => {
        await sleep(Q6_WINDOW_MS);
        redisDown = true;
        await redis.stop();
        stoppedAt = Date.now();
      })(),
    ]);
    // Never UNAVAILABLE (nor anything else): every refusal is RESOURCE_EXHAUSTED from a local budget.
    expect(result.errors).toEqual({});
    const share = Q6_LIMIT / REPLICAS;
    // Sent after Redis was gone: admitted by the replica's local budget alone.
    const local = result.admitted.filter((a) => a.sentAt >= stoppedAt);
    const perReplica = [0, 1, 2].map((r) => local.filter((a) => a.replica === r));
    const worst = perReplica.map((admitted) => windowCounts(admitted));
    const all = windowCounts(local);
    console.log(
      `Q6 degraded (Redis stopped): ${local.length} admitted after the stop (per replica ${perReplica.map((a) => a.length).join("/")}); ` +
        `worst window per replica ${worst.map((w) => `${w.certain} (${w.possible})`).join("/")} of a local share of ${share.toFixed(2)}; ` +
        `all replicas ${all.certain} (${all.possible}) of ${Q6_LIMIT}`,
    );
    for (const w of worst) expect(w.certain).toBeLessThanOrEqual(share * 1.01);
    expect(all.certain).toBeLessThanOrEqual(Q6_LIMIT * 1.01);
    // Each replica kept admitting on its own budget while Redis was gone.
    for (const admitted of perReplica) expect(admitted.length).toBeGreaterThan(0);

    await redis.start();
    redisDown = false;
    // Redis came back empty: Selects on replica 0 reserve there again once it answers.
    await eventually(async () => {
      await clients[0]!.balancer
        .select({ service: "q6-outage", cost: { requests: 1 } })
        .catch(() => undefined);
      const keys = await redis.cli("--scan", "--pattern", "fulcrum:{q:*");
      return keys.includes("q6-outage") ? true : undefined;
    }, 15_000);
    const again = Date.now() + Q6_WINDOW_MS + Q6_WINDOW_MS / 2;
    const back = await hammer([clients[0]!], "q6-outage", {
      perReplica: 6,
      until: () => Date.now() >= again,
      maxCalls: 5_000,
    });
    const backWorst = windowCounts(back.admitted);
    console.log(
      `Q6 after Redis returned: replica 0 alone admitted ${back.admitted.length}; worst window ${backWorst.certain} (${backWorst.possible}) of ${Q6_LIMIT}`,
    );
    expect(back.errors).toEqual({});
    // Past its local share within one window: it is on the shared budget again, and that budget holds.
    expect(backWorst.certain).toBeGreaterThan(share * 1.01);
    expect(backWorst.certain).toBeLessThanOrEqual(Q6_LIMIT * 1.01);
  }, 90_000);
});
