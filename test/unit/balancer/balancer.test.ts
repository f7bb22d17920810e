import { describe, expect, it } from "vitest";
import { createTicketSigner, fixedTicketSecret } from "../../../src/app/ticket-signer.js";
import type { BackendState } from "../../../src/balancer/backend-state.js";
import { Balancer, type BalancerOptions, type ReportListener } from "../../../src/balancer/balancer.js";
import type { LiveService } from "../../../src/balancer/live-service.js";
import type { Outcome } from "../../../src/balancer/outcome.js";
import type { QuotaView } from "../../../src/balancer/quota-view.js";
import type { SelectQuery } from "../../../src/balancer/select-query.js";
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import type { ServiceConfig } from "../../../src/model/specs.js";
import { backend, config, deps, query, snapshotOf } from "./fixtures.js";

/** A Balancer over one service "s", with a stand-in service table; drains it reports idle are recorded. */
function setup(
  backends: BackendState[],
  cfg: ServiceConfig = config(),
  extra: Partial<BalancerOptions> = {},
) {
  const d = deps();
  const entry = {
    name: "s",
    config: cfg,
    backends: new Map(backends.map((b) => [b.spec.id, b])),
    snapshot: snapshotOf(backends, cfg, d),
  } as unknown as LiveService;
  const drained: string[] = [];
  const balancer = new Balancer({
    services: { find: (name: string) => (name === "s" ? entry : undefined) },
    onDrainIdle: (_service: string, backendId: string) => {
      drained.push(backendId);
    },
    clock: d.clock,
    limits: { ...DEFAULT_REGISTRY_LIMITS, maxReportBatch: 100 },
    replica: "t",
    signer: createTicketSigner(fixedTicketSecret("unit-test-secret-0123456789")),
    ...extra,
  });
  return { balancer, clock: d.clock, drained };
}

/** Selects in "s"; the selection, or the test fails with the refusal's message. */
function picked(balancer: Balancer, q: SelectQuery) {
  const decision = balancer.select("s", q);
  if (decision.kind !== "picked")
    throw new Error(`expected a pick, got ${decision.kind}: ${decision.message}`);
  return decision.selection;
}

function outcome(extra: Partial<Outcome>): Outcome {
  return {
    ticket: "",
    service: "",
    backendId: "",
    result: "success",
    latencyMs: 0,
    usage: {},
    retryAfterMs: 0,
    resourceKey: "",
    remaining: {},
    ...extra,
  };
}

describe("in-flight tickets", () => {
  it("S12 in-flight: +1 on Select, -1 on Report, idempotent", () => {
    const a = backend("a");
    const { balancer } = setup([a]);
    const first = picked(balancer, query());
    picked(balancer, query());
    expect(a.inFlight).toBe(2);
    expect(balancer.tickets.inFlightOf("s")).toBe(2);
    expect(balancer.report([outcome({ ticket: first.ticket })])).toEqual({ applied: 1, ignored: 0 });
    expect(balancer.report([outcome({ ticket: first.ticket })])).toEqual({ applied: 0, ignored: 1 });
    expect(a.inFlight).toBe(1);
    expect(balancer.tickets.inFlightOf("s")).toBe(1);
  });

  it("S12 a ticket whose lease expires without a Report releases its slots (ManualClock)", () => {
    const a = backend("a");
    const b = backend("b");
    const cfg = config({}, { ticketLeaseMs: 5_000 });
    const { balancer, clock } = setup([a, b], cfg);
    const early = picked(balancer, query({ count: 2 }));
    clock.advance(3_000);
    picked(balancer, query());
    expect([a.inFlight, b.inFlight]).toEqual([2, 1]);
    clock.advance(1_999);
    balancer.expireTickets();
    expect([a.inFlight, b.inFlight]).toEqual([2, 1]);
    clock.advance(1);
    balancer.expireTickets();
    expect([a.inFlight, b.inFlight]).toEqual([1, 0]);
    expect(balancer.report([outcome({ ticket: early.ticket })])).toEqual({ applied: 0, ignored: 1 });
    clock.advance(3_000);
    balancer.expireTickets();
    expect([a.inFlight, b.inFlight]).toEqual([0, 0]);
    expect(balancer.tickets.size).toBe(0);
    expect(balancer.tickets.inFlightOf("s")).toBe(0);
  });

  it("S12 R6 a draining backend is finished when its last ticket expires", () => {
    const a = backend("a");
    const { balancer, clock, drained } = setup([a], config({}, { ticketLeaseMs: 1_000 }));
    picked(balancer, query());
    a.draining = true;
    clock.advance(1_000);
    balancer.expireTickets();
    expect(drained).toEqual(["a"]);
  });
});

/** A Report listener that hears outcomes only. */
function listener(outcome: ReportListener["outcome"]): ReportListener {
  return { outcome, ticketReported: () => {}, ticketExpired: () => {} };
}

describe("report feeds latency and listeners", () => {
  it("S6 Report records latency on the ticket's backend and tells the Report listener once per backend", () => {
    const a = backend("a");
    const b = backend("b");
    const heard: string[] = [];
    const { balancer, clock } = setup(
      [a, b],
      config({ name: "power_of_two", settings: { decay_ms: 1_000 } }),
      { report: listener((service, backend, o) => heard.push(`${service}/${backend.spec.id}/${o.result}`)) },
    );
    const both = picked(balancer, query({ count: 2 }));
    balancer.report([outcome({ ticket: both.ticket, latencyMs: 40, result: "failure" })]);
    expect([a.ewmaLatencyMs, b.ewmaLatencyMs]).toEqual([40, 40]);
    expect(heard.sort()).toEqual(["s/a/failure", "s/b/failure"]);
    clock.advance(1_000);
    balancer.report([outcome({ service: "s", backendId: "a", latencyMs: 10 })]);
    const w = Math.exp(-1); // decay_ms 1000 from the strategy settings
    expect(a.ewmaLatencyMs).toBeCloseTo(40 * w + 10 * (1 - w), 10);
    expect(a.peakEwmaMs).toBeCloseTo(40 * w + 10 * (1 - w), 10);
    expect(heard).toContain("s/a/success");
  });

  it("S6 a ticket with several backends plus backend_id reports on that backend only", () => {
    const a = backend("a");
    const b = backend("b");
    const { balancer } = setup([a, b]);
    const both = picked(balancer, query({ count: 2 }));
    balancer.report([outcome({ ticket: both.ticket, backendId: "b", latencyMs: 7 })]);
    expect([a.ewmaLatencyMs, b.ewmaLatencyMs, a.inFlight, b.inFlight]).toEqual([0, 7, 0, 0]);
  });

  it("S6 an outcome for an unknown backend is ignored, and a zero latency records nothing", () => {
    const a = backend("a");
    const heard: string[] = [];
    const { balancer } = setup([a], config(), { report: listener((_s, b) => heard.push(b.spec.id)) });
    expect(balancer.report([outcome({ service: "s", backendId: "zz", latencyMs: 5 })])).toEqual({
      applied: 0,
      ignored: 1,
    });
    balancer.report([outcome({ service: "s", backendId: "a" })]);
    expect(a.latencyUpdatedAt).toBe(0);
    expect(heard).toEqual(["a"]);
  });
});

describe("quota view", () => {
  it("S8 Q5 a plugged-in QuotaView filters backends out of quota; all out gives RESOURCE_EXHAUSTED", () => {
    const ratios: Record<string, number> = { a: 0, b: 0.5 };
    const quota: QuotaView = { remainingRatio: (b) => ratios[b.spec.id] ?? 1 };
    const { balancer } = setup([backend("a"), backend("b")], config(), { quota });
    expect(picked(balancer, query()).backends[0]!.spec.id).toBe("b");
    expect(picked(balancer, query()).backends[0]!.spec.id).toBe("b");
    ratios.b = 0;
    const refused = balancer.select("s", query());
    expect(refused.kind).toBe("exhausted");
    expect(refused.kind !== "picked" && refused.message).toContain("out of quota");
  });

  it("S13 a degraded pick is reported on the Selection", () => {
    const a = backend("a");
    const b = backend("b");
    b.health = "unhealthy";
    const { balancer } = setup([a, b], config({}, { panicThresholdPercent: 60 }));
    expect(picked(balancer, query()).degraded).toBe(true);
  });
});
