import { describe, expect, it } from "vitest";
import { applySignal, type HealthRecord, initialHealthRecord } from "../../../src/health/policy.js";
import {
  type Probe,
  type ProbeOutcome,
  type ProbeTarget,
  probeFailed,
  probePassed,
  signalOfProbe,
} from "../../../src/health/probe.js";
import { type ProberTarget, probeTargetsOf } from "../../../src/health/probe-targets.js";
import {
  createProber,
  DEFAULT_ABORT_GRACE_MS,
  DEFAULT_MAX_CONCURRENT_PROBES,
  type ProbeResult,
} from "../../../src/health/prober.js";
import type { BackendSpec, HealthCheckSpec } from "../../../src/model/specs.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom, type Random } from "../../../src/shared/random.js";

interface Call {
  readonly target: ProbeTarget;
  readonly signal: AbortSignal;
  readonly startedAt: number;
  settled: boolean;
  resolve(outcome: ProbeOutcome): void;
}

/**
 * A Probe on the manual clock: each check takes `latencyMs` (or waits for a manual resolve when
 * undefined), passes unless told otherwise, and settles on abort unless `ignoreAbort`.
 */
class FakeProbe implements Probe {
  readonly calls: Call[] = [];
  inFlight = 0;
  maxInFlight = 0;
  latencyMs: number | undefined = 0;
  ignoreAbort = false;
  outcome: ProbeOutcome = probePassed("ok");

  constructor(private readonly clock: ManualClock) {}

  check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    return new Promise((resolvePromise) => {
      const call: Call = {
        target,
        signal,
        startedAt: this.clock.now(),
        settled: false,
        resolve: (outcome) => {
          if (call.settled) return;
          call.settled = true;
          this.inFlight--;
          resolvePromise(outcome);
        },
      };
      this.calls.push(call);
      if (!this.ignoreAbort) signal.addEventListener("abort", () => call.resolve(probeFailed("aborted")));
      const outcome = this.outcome;
      if (this.latencyMs !== undefined) this.clock.setTimeout(() => call.resolve(outcome), this.latencyMs);
    });
  }

  startsOf(backendId: string, port?: number): number[] {
    return this.calls.filter((c) => c.target.port === (port ?? portOf(backendId))).map((c) => c.startedAt);
  }
}

const portOf = (backendId: string) => 10_000 + Number(backendId.slice(1));
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Advances `ms` in steps, letting promise callbacks run between steps. */
async function tick(clock: ManualClock, ms: number, stepMs = 10): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    clock.advance(Math.min(stepMs, ms - done));
    await flush();
  }
}

function check(intervalMs = 1_000, timeoutMs = 500, port = 0): HealthCheckSpec {
  return { probe: { kind: "tcp" }, intervalMs, timeoutMs, port };
}

function target(i: number, spec = check()): ProberTarget {
  return { backendId: `b${i}`, host: "127.0.0.1", port: portOf(`b${i}`), spec };
}

function setup(options: { random?: Random; maxConcurrent?: number } = {}) {
  const clock = new ManualClock(0);
  const probe = new FakeProbe(clock);
  const results: Array<{ service: string; backendId: string; result: ProbeResult }> = [];
  const prober = createProber({
    clock,
    random: options.random ?? { next: () => 0.25 },
    probe,
    sink: (service, backendId, result) => results.push({ service, backendId, result }),
    ...(options.maxConcurrent ? { maxConcurrent: options.maxConcurrent } : {}),
  });
  return { clock, probe, results, prober };
}

describe("H5 prober schedule", () => {
  it("H5 the first run is jittered in [0, interval), then runs every interval", async () => {
    const { clock, probe, prober } = setup();
    prober.add("svc", target(0));
    await tick(clock, 3_500);
    expect(probe.startsOf("b0")).toEqual([250, 1_250, 2_250, 3_250]);
  });

  it("H5 first runs of many backends spread over the whole interval", async () => {
    const { clock, probe, prober } = setup({ random: createSeededRandom(42), maxConcurrent: 1_000 });
    prober.sync(
      "svc",
      Array.from({ length: 200 }, (_, i) => target(i)),
    );
    await tick(clock, 999);
    const firsts = probe.calls.map((c) => c.startedAt);
    expect(firsts).toHaveLength(200);
    expect(Math.min(...firsts)).toBeLessThan(50);
    expect(Math.max(...firsts)).toBeGreaterThan(950);
    const buckets = [0, 0, 0, 0];
    for (const t of firsts) buckets[Math.floor(t / 250)]!++;
    for (const count of buckets) expect(count).toBeGreaterThan(30);
  });

  it("H5 no overlapping probes for one backend: a slow run delays the next", async () => {
    const { clock, probe, prober } = setup();
    probe.latencyMs = 2_500;
    prober.add("svc", target(0, check(1_000, 5_000)));
    await tick(clock, 8_000);
    expect(probe.maxInFlight).toBe(1);
    expect(probe.startsOf("b0")).toEqual([250, 2_750, 5_250, 7_750]);
  });

  it("H5 a timeout is reported as a failure at once and the probe is aborted", async () => {
    const { clock, probe, results, prober } = setup();
    probe.latencyMs = undefined; // never answers on its own
    prober.add("svc", target(0, check(1_000, 300)));
    await tick(clock, 600);
    expect(results).toEqual([
      {
        service: "svc",
        backendId: "b0",
        result: { status: "timeout", detail: "no answer within 300 ms", startedAt: 250, durationMs: 300 },
      },
    ]);
    expect(signalOfProbe(results[0]!.result)).toBe("failure");
    expect(probe.calls[0]!.signal.aborted).toBe(true);
    expect(prober.stats().running).toBe(0);
    await tick(clock, 1_000);
    expect(probe.startsOf("b0")).toEqual([250, 1_250]);
    expect(results.every((r) => r.result.status === "timeout")).toBe(true);
  });

  it("H5 a probe that ignores its abort keeps its slot for the grace period, then is dropped", async () => {
    const { clock, probe, results, prober } = setup();
    probe.latencyMs = undefined;
    probe.ignoreAbort = true;
    prober.add("svc", target(0, check(10_000, 100)));
    await tick(clock, 2_650); // first run at 2,500 (jitter 0.25 of 10 s), timeout at 2,600
    expect(results.map((r) => r.result.status)).toEqual(["timeout"]);
    expect(prober.stats().running).toBe(1);
    await tick(clock, DEFAULT_ABORT_GRACE_MS);
    expect(prober.stats().running).toBe(0);
    probe.calls[0]!.resolve(probePassed("too late"));
    await flush();
    expect(results).toHaveLength(1);
  });

  it("H5 a pass and a fail reach the sink with the probe's detail and timing", async () => {
    const { clock, probe, results, prober } = setup();
    probe.latencyMs = 40;
    prober.add("svc", target(0));
    await tick(clock, 300);
    probe.outcome = probeFailed("connection refused");
    await tick(clock, 1_000);
    expect(results.map((r) => r.result)).toEqual([
      { status: "pass", detail: "ok", startedAt: 250, durationMs: 40 },
      { status: "fail", detail: "connection refused", startedAt: 1_250, durationMs: 40 },
    ]);
  });

  it("H5 a probe that throws counts as a failure", async () => {
    const { clock, results } = setup();
    const prober = createProber({
      clock,
      random: { next: () => 0 },
      probe: {
        check: () => {
          throw new Error("boom");
        },
      },
      sink: (service, backendId, result) => results.push({ service, backendId, result }),
    });
    prober.add("svc", target(0));
    await tick(clock, 10);
    expect(results[0]!.result).toMatchObject({ status: "fail", detail: "probe error: boom" });
  });

  it("H5 a sink that throws is reported and the schedule goes on", async () => {
    const clock = new ManualClock(0);
    const probe = new FakeProbe(clock);
    const errors: string[] = [];
    const prober = createProber({
      clock,
      random: { next: () => 0 },
      probe,
      sink: () => {
        throw new Error("sink down");
      },
      onSinkError: (error, service, backendId) =>
        errors.push(`${service}/${backendId}: ${(error as Error).message}`),
    });
    prober.add("svc", target(0));
    await tick(clock, 2_500);
    expect(errors).toEqual(["svc/b0: sink down", "svc/b0: sink down", "svc/b0: sink down"]);
  });

  it("H5 the check's own port wins over the backend's", async () => {
    const { clock, probe, prober } = setup();
    prober.add("svc", target(0, check(1_000, 500, 8_081)));
    await tick(clock, 300);
    expect(probe.calls[0]!.target).toMatchObject({ host: "127.0.0.1", port: 8_081 });
  });
});

describe("H5 prober concurrency", () => {
  it("H5 at most 64 probes in flight by default, with 200 backends", async () => {
    const { clock, probe, results, prober } = setup({ random: createSeededRandom(1) });
    probe.latencyMs = 300;
    prober.sync(
      "svc",
      Array.from({ length: 200 }, (_, i) => target(i, check(100, 1_000))),
    );
    let peakQueued = 0;
    for (let t = 0; t < 3_000; t += 10) {
      await tick(clock, 10);
      peakQueued = Math.max(peakQueued, prober.stats().queued);
      expect(prober.stats().running).toBeLessThanOrEqual(DEFAULT_MAX_CONCURRENT_PROBES);
    }
    expect(probe.maxInFlight).toBe(DEFAULT_MAX_CONCURRENT_PROBES);
    expect(peakQueued).toBeGreaterThan(100);
    expect(new Set(results.map((r) => r.backendId)).size).toBe(200);
  });

  it("H5 the queue is fair: every backend runs once before any runs twice", async () => {
    const { clock, probe, prober } = setup({ random: createSeededRandom(3), maxConcurrent: 3 });
    probe.latencyMs = 500;
    prober.sync(
      "svc",
      Array.from({ length: 10 }, (_, i) => target(i, check(100, 1_000))),
    );
    await tick(clock, 5_000);
    expect(probe.maxInFlight).toBe(3);
    const order = probe.calls.map((c) => c.target.port);
    expect(new Set(order.slice(0, 10)).size).toBe(10);
    expect(new Set(order.slice(10, 20)).size).toBe(10);
  });

  it("H5 maxConcurrent is configurable", async () => {
    const { clock, probe, prober } = setup({ maxConcurrent: 5 });
    probe.latencyMs = 200;
    prober.sync(
      "svc",
      Array.from({ length: 20 }, (_, i) => target(i, check(100, 1_000))),
    );
    await tick(clock, 2_000);
    expect(probe.maxInFlight).toBe(5);
  });
});

describe("H5 prober membership", () => {
  it("H5 removing a backend cancels its timer, aborts its run, and reports nothing more", async () => {
    const { clock, probe, results, prober } = setup();
    probe.latencyMs = undefined;
    prober.sync("svc", [target(0), target(1)]);
    await tick(clock, 300);
    expect(prober.stats()).toEqual({ scheduled: 2, running: 2, queued: 0 });
    prober.remove("svc", "b0");
    expect(probe.calls[0]!.signal.aborted).toBe(true);
    await tick(clock, 3_000);
    expect(results.filter((r) => r.backendId === "b0")).toEqual([]);
    expect(probe.startsOf("b0")).toEqual([250]);
    expect(prober.stats().scheduled).toBe(1);
  });

  it("H5 sync adds new backends, keeps the ones that stay, and drops the missing", async () => {
    const { clock, probe, prober } = setup();
    prober.sync("svc", [target(0), target(1)]);
    prober.sync("other", [target(5)]);
    await tick(clock, 1_100);
    prober.sync("svc", [target(1), target(2)]);
    await tick(clock, 1_000);
    expect(probe.startsOf("b0")).toEqual([250]);
    expect(probe.startsOf("b1")).toEqual([250, 1_250]);
    expect(probe.startsOf("b2")).toEqual([1_100 + 250]);
    expect(probe.startsOf("b5")).toEqual([250, 1_250]);
    prober.sync("svc", []);
    expect(prober.stats().scheduled).toBe(1);
  });

  it("H5 a changed check applies from the next run; a changed interval re-jitters a waiting schedule", async () => {
    const { clock, probe, prober } = setup();
    prober.add("svc", target(0));
    await tick(clock, 300);
    prober.add("svc", target(0, check(1_000, 500, 9_000)));
    await tick(clock, 1_000);
    expect(probe.calls.map((c) => c.target.port)).toEqual([portOf("b0"), 9_000]);
    prober.add("svc", target(0, check(4_000, 500, 9_000)));
    await tick(clock, 5_000);
    expect(probe.startsOf("b0", 9_000)).toEqual([1_250, 1_300 + 1_000, 2_300 + 4_000]);
  });

  it("H5 stop removes every schedule and leaves no timer behind", async () => {
    const { clock, probe, prober } = setup();
    probe.latencyMs = undefined;
    prober.sync(
      "svc",
      Array.from({ length: 5 }, (_, i) => target(i)),
    );
    await tick(clock, 300);
    prober.stop();
    await flush();
    expect(prober.stats()).toEqual({ scheduled: 0, running: 0, queued: 0 });
    expect(clock.pending()).toBe(0);
  });
});

describe("H5 probes feed the H1 state machine", () => {
  it("H5 H1 failing probes take a backend down at the threshold, passing ones bring it back", async () => {
    const clock = new ManualClock(0);
    const probe = new FakeProbe(clock);
    const policy = { failureThreshold: 3, recoverySuccesses: 2 };
    let record: HealthRecord = initialHealthRecord("healthy", clock.now());
    const states: string[] = [];
    const fed = createProber({
      clock,
      random: { next: () => 0 },
      probe,
      sink: (_service, _id, result) => {
        const step = applySignal(record, signalOfProbe(result), policy, clock.now());
        record = step.record;
        if (step.transition) states.push(step.transition.current);
      },
    });
    probe.outcome = probeFailed("refused");
    fed.add("svc", target(0));
    await tick(clock, 2_500);
    probe.outcome = probePassed("ok");
    await tick(clock, 2_000);
    expect(states).toEqual(["degraded", "unhealthy", "recovering", "healthy"]);
  });

  it("H5 targets: a backend's own check wins over the service's; no check, no target", () => {
    const backend = (id: string, healthCheck: HealthCheckSpec | undefined): BackendSpec => ({
      id,
      address: `10.0.0.1:${id.length}`,
      host: "10.0.0.1",
      port: 80,
      weight: 1,
      zone: "",
      tier: 0,
      labels: {},
      maxConnections: 0,
      quotas: [],
      healthCheck,
      leaseTtlMs: 0,
    });
    const own = check(500, 100, 81);
    const service = check(2_000, 300);
    const targets = probeTargetsOf([backend("a", own), backend("b", undefined)], { check: service });
    expect(targets).toEqual([
      { backendId: "a", host: "10.0.0.1", port: 80, spec: own },
      { backendId: "b", host: "10.0.0.1", port: 80, spec: service },
    ]);
    expect(probeTargetsOf([backend("b", undefined)], { check: undefined })).toEqual([]);
  });
});
