import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { CallResult } from "../../../src/balancer/outcome.js";
import {
  DEFAULT_FAILURE_THRESHOLD,
  DEFAULT_RECOVERY_SUCCESSES,
} from "../../../src/health/parse-health-policy.js";
import {
  applyCallResult,
  applySignal,
  degradedAfter,
  deregisterDue,
  type HealthRecord,
  type HealthSignal,
  type HealthStep,
  initialHealthRecord,
  markProbeSelected,
  mayProbeSelect,
  nextProbeAt,
  overrideHealth,
  releaseProbe,
  signalOfResult,
  type ThresholdPolicy,
} from "../../../src/health/policy.js";
import type { HealthState } from "../../../src/model/specs.js";
import { DEFAULT_PROBE_INTERVAL_MS } from "../../../src/registry/defaults.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";

const DEFAULTS = {
  failureThreshold: DEFAULT_FAILURE_THRESHOLD,
  recoverySuccesses: DEFAULT_RECOVERY_SUCCESSES,
  probeIntervalMs: DEFAULT_PROBE_INTERVAL_MS,
};

/** Feeds `signals` one by one; returns every step. */
function run(
  start: HealthRecord,
  signals: readonly HealthSignal[],
  policy: ThresholdPolicy,
  clock = new ManualClock(),
): HealthStep[] {
  const steps: HealthStep[] = [];
  let record = start;
  for (const signal of signals) {
    const step = applySignal(record, signal, policy, clock.now());
    steps.push(step);
    record = step.record;
    clock.advance(1_000);
  }
  return steps;
}

const states = (steps: HealthStep[]) => steps.map((s) => s.record.health);
const F = "failure" as const;
const S = "success" as const;

describe("H1 consecutive-failure state machine", () => {
  const clock = new ManualClock();
  const healthy = initialHealthRecord("healthy", clock.now());

  it("H1 defaults: threshold 3 gives Degraded at 2 failures and Unhealthy at 3", () => {
    const steps = run(healthy, [F, F, F], DEFAULTS);
    expect(states(steps)).toEqual(["healthy", "degraded", "unhealthy"]);
    expect(steps[1]!.transition).toMatchObject({ previous: "healthy", current: "degraded" });
    expect(steps[2]!.transition).toMatchObject({ previous: "degraded", current: "unhealthy" });
    expect(steps[2]!.transition!.reason).toContain("3 consecutive failures");
    expect(steps[2]!.record.consecutiveFailures).toBe(3);
  });

  it("H1 Degraded at ceil(threshold/2) failures for thresholds 2..10", () => {
    for (let threshold = 2; threshold <= 10; threshold++) {
      const policy = { failureThreshold: threshold, recoverySuccesses: 2 };
      const steps = run(healthy, Array(threshold).fill(F), policy);
      const firstDegraded = states(steps).indexOf("degraded") + 1;
      expect(firstDegraded).toBe(Math.ceil(threshold / 2));
      expect(degradedAfter(threshold)).toBe(Math.ceil(threshold / 2));
      expect(states(steps).at(-1)).toBe("unhealthy");
      expect(states(steps).slice(0, -1)).not.toContain("unhealthy");
    }
  });

  it("H1 threshold 1 skips Degraded: one failure gives Unhealthy", () => {
    const steps = run(healthy, [F], { failureThreshold: 1, recoverySuccesses: 2 });
    expect(steps[0]!.transition).toMatchObject({ previous: "healthy", current: "unhealthy" });
  });

  it("H1 one success clears Degraded and resets the failure count", () => {
    const steps = run(healthy, [F, F, S, F, F], DEFAULTS);
    expect(states(steps)).toEqual(["healthy", "degraded", "healthy", "healthy", "degraded"]);
    expect(steps[2]!.transition).toMatchObject({ previous: "degraded", current: "healthy" });
    expect(steps[2]!.record.consecutiveFailures).toBe(0);
  });

  it("H1 a success between failures keeps a Healthy backend healthy", () => {
    const steps = run(healthy, [F, S, F, S, F, S], DEFAULTS);
    expect(new Set(states(steps))).toEqual(new Set(["healthy"]));
    expect(steps.every((s) => s.transition === undefined)).toBe(true);
  });

  it("H1 a success on Unhealthy gives Recovering; `recovery` successes in a row give Healthy", () => {
    const steps = run(healthy, [F, F, F, S, S], DEFAULTS);
    expect(states(steps)).toEqual(["healthy", "degraded", "unhealthy", "recovering", "healthy"]);
    expect(steps[3]!.transition).toMatchObject({ previous: "unhealthy", current: "recovering" });
    expect(steps[4]!.transition).toMatchObject({ previous: "recovering", current: "healthy" });
    expect(steps[4]!.transition!.reason).toContain("2 consecutive successes");
  });

  it("H1 recovery 4 needs 4 successes from Unhealthy (Recovering in between)", () => {
    const policy = { failureThreshold: 3, recoverySuccesses: 4 };
    const steps = run(healthy, [F, F, F, S, S, S, S], policy);
    expect(states(steps).slice(3)).toEqual(["recovering", "recovering", "recovering", "healthy"]);
  });

  it("H1 recovery 1 goes from Unhealthy straight to Healthy (as threshold 1 skips Degraded)", () => {
    const steps = run(healthy, [F, F, F, S], { failureThreshold: 3, recoverySuccesses: 1 });
    expect(steps[3]!.transition).toMatchObject({ previous: "unhealthy", current: "healthy" });
  });

  it("H1 a failure in Recovering returns to Unhealthy and restarts the probe clock", () => {
    const c = new ManualClock();
    const steps = run(healthy, [F, F, F, S], DEFAULTS, c);
    const recovering = steps.at(-1)!.record;
    expect(recovering.health).toBe("recovering");
    c.advance(5_000);
    const back = applySignal(recovering, F, DEFAULTS, c.now());
    expect(back.transition).toMatchObject({ previous: "recovering", current: "unhealthy" });
    expect(back.record.lastProbeAt).toBe(c.now());
    expect(back.record.consecutiveSuccesses).toBe(0);
    // The count starts over: two more successes are needed, not one.
    const again = run(back.record, [S, S], DEFAULTS);
    expect(states(again)).toEqual(["recovering", "healthy"]);
  });

  it("H1 failures while Unhealthy keep it Unhealthy and restart the probe clock", () => {
    const c = new ManualClock();
    const unhealthy = run(healthy, [F, F, F], DEFAULTS, c).at(-1)!.record;
    c.advance(3_000);
    const step = applySignal(unhealthy, F, DEFAULTS, c.now());
    expect(step.transition).toBeUndefined();
    expect(step.record).toMatchObject({ health: "unhealthy", consecutiveFailures: 4, lastProbeAt: c.now() });
  });

  it("H1 a new backend on probation (R4) starts Recovering and needs `recovery` successes", () => {
    const probation = initialHealthRecord("recovering", clock.now());
    expect(states(run(probation, [S, S], DEFAULTS))).toEqual(["recovering", "healthy"]);
    expect(states(run(probation, [F], DEFAULTS))).toEqual(["unhealthy"]);
  });

  it("H1 never mutates its input", () => {
    const record = Object.freeze(initialHealthRecord("healthy", clock.now()));
    expect(() => run(record, [F, F, F, S, S], DEFAULTS)).not.toThrow();
    expect(record.consecutiveFailures).toBe(0);
  });
});

describe("H3 outcomes that never touch health", () => {
  const clock = new ManualClock();

  it("H3 maps success to success; failure, timeout and rejected to failure", () => {
    expect(signalOfResult("success")).toBe("success");
    expect(signalOfResult("failure")).toBe("failure");
    expect(signalOfResult("timeout")).toBe("failure");
    expect(signalOfResult("rejected")).toBe("failure");
  });

  it("H3 RATE_LIMITED and NOT_FOUND have no health signal and leave the record untouched", () => {
    const degraded = run(initialHealthRecord("healthy", clock.now()), [F, F], DEFAULTS).at(-1)!.record;
    for (const result of ["rate_limited", "not_found"] as const) {
      expect(signalOfResult(result)).toBeUndefined();
      const step = applyCallResult(degraded, result, DEFAULTS, clock.now());
      expect(step.record).toBe(degraded);
      expect(step.transition).toBeUndefined();
    }
  });

  it("H3 a RATE_LIMITED between two failures does not break the failure run", () => {
    const results: CallResult[] = [
      "failure",
      "rate_limited",
      "not_found",
      "timeout",
      "rate_limited",
      "rejected",
    ];
    let record = initialHealthRecord("healthy", clock.now());
    for (const result of results) record = applyCallResult(record, result, DEFAULTS, clock.now()).record;
    expect(record).toMatchObject({ health: "unhealthy", consecutiveFailures: 3 });
  });

  it("H3 a RATE_LIMITED does not clear Degraded nor advance Recovering", () => {
    const degraded = run(initialHealthRecord("healthy", clock.now()), [F, F], DEFAULTS).at(-1)!.record;
    expect(applyCallResult(degraded, "rate_limited", DEFAULTS, clock.now()).record.health).toBe("degraded");
    const recovering = initialHealthRecord("recovering", clock.now());
    const after = applyCallResult(recovering, "rate_limited", DEFAULTS, clock.now()).record;
    expect(after.consecutiveSuccesses).toBe(0);
  });
});

describe("H2 one probe selection at a time once probe_interval has passed", () => {
  it("H2 an Unhealthy backend may be probed only after probe_interval, then one at a time", () => {
    const clock = new ManualClock();
    const unhealthy = run(initialHealthRecord("healthy", clock.now()), [F, F, F], DEFAULTS, clock).at(
      -1,
    )!.record;
    const wentDownAt = unhealthy.lastProbeAt;
    clock.advance(wentDownAt + DEFAULT_PROBE_INTERVAL_MS - 1 - clock.now());
    expect(mayProbeSelect(unhealthy, DEFAULTS, clock.now())).toBe(false);
    clock.advance(1);
    expect(nextProbeAt(unhealthy, DEFAULTS)).toBe(clock.now());
    expect(mayProbeSelect(unhealthy, DEFAULTS, clock.now())).toBe(true);
    const probing = markProbeSelected(unhealthy, clock.now());
    clock.advance(DEFAULT_PROBE_INTERVAL_MS * 3);
    expect(mayProbeSelect(probing, DEFAULTS, clock.now())).toBe(false);
  });

  it("H2 a failed probe restarts the clock; a successful one gives Recovering", () => {
    const clock = new ManualClock();
    const unhealthy = overrideHealth(
      initialHealthRecord("healthy", clock.now()),
      "unhealthy",
      clock.now(),
    ).record;
    clock.advance(DEFAULT_PROBE_INTERVAL_MS);
    const probing = markProbeSelected(unhealthy, clock.now());
    clock.advance(200);
    const failed = applyCallResult(probing, "timeout", DEFAULTS, clock.now()).record;
    expect(failed).toMatchObject({ health: "unhealthy", probeInFlight: false, lastProbeAt: clock.now() });
    clock.advance(DEFAULT_PROBE_INTERVAL_MS - 1);
    expect(mayProbeSelect(failed, DEFAULTS, clock.now())).toBe(false);
    clock.advance(1);
    const probingAgain = markProbeSelected(failed, clock.now());
    const ok = applyCallResult(probingAgain, "success", DEFAULTS, clock.now());
    expect(ok.transition).toMatchObject({ previous: "unhealthy", current: "recovering" });
    expect(ok.record.probeInFlight).toBe(false);
  });

  it("H2 a probe ended without a health signal frees the slot; the clock runs from the selection", () => {
    const clock = new ManualClock();
    const unhealthy = overrideHealth(
      initialHealthRecord("healthy", clock.now()),
      "unhealthy",
      clock.now(),
    ).record;
    clock.advance(DEFAULT_PROBE_INTERVAL_MS);
    const selectedAt = clock.now();
    const probing = markProbeSelected(unhealthy, selectedAt);
    const limited = applyCallResult(probing, "rate_limited", DEFAULTS, clock.now()).record;
    expect(limited.probeInFlight).toBe(true);
    const released = releaseProbe(limited);
    expect(released.probeInFlight).toBe(false);
    expect(releaseProbe(released)).toBe(released);
    expect(nextProbeAt(released, DEFAULTS)).toBe(selectedAt + DEFAULT_PROBE_INTERVAL_MS);
  });

  it("H2 only Unhealthy backends take probe selections", () => {
    const clock = new ManualClock();
    for (const state of ["healthy", "degraded", "recovering"] as const) {
      const record = { ...initialHealthRecord(state, 0), lastProbeAt: 0 };
      expect(mayProbeSelect(record, DEFAULTS, clock.now())).toBe(false);
    }
  });
});

describe("H6 SetHealth", () => {
  it("H6 unhealthy takes effect at once, whatever the counters, and starts the probe clock", () => {
    const clock = new ManualClock();
    for (const state of ["healthy", "degraded", "recovering"] as const) {
      const step = overrideHealth(
        initialHealthRecord(state, clock.now()),
        "unhealthy",
        clock.now(),
        "operator",
      );
      expect(step.transition).toEqual({ previous: state, current: "unhealthy", reason: "operator" });
      expect(step.record).toMatchObject({
        health: "unhealthy",
        lastProbeAt: clock.now(),
        probeInFlight: false,
      });
    }
  });

  it("H6 healthy resets counters, even when already healthy (no transition then)", () => {
    const clock = new ManualClock();
    const oneFailure = run(initialHealthRecord("healthy", clock.now()), [F], DEFAULTS).at(-1)!.record;
    const same = overrideHealth(oneFailure, "healthy", clock.now());
    expect(same.transition).toBeUndefined();
    expect(same.record).toMatchObject({ consecutiveFailures: 0, consecutiveSuccesses: 0 });
    // The reset means three more failures are needed, not two.
    expect(states(run(same.record, [F, F], DEFAULTS)).at(-1)).toBe("degraded");
  });

  it("H6 healthy on an Unhealthy backend with a probe out clears everything", () => {
    const clock = new ManualClock();
    const unhealthy = run(initialHealthRecord("healthy", clock.now()), [F, F, F], DEFAULTS).at(-1)!.record;
    const probing = markProbeSelected(unhealthy, clock.now());
    const step = overrideHealth(probing, "healthy", clock.now());
    expect(step.transition).toMatchObject({
      previous: "unhealthy",
      current: "healthy",
      reason: "set_health",
    });
    expect(step.record).toMatchObject({
      consecutiveFailures: 0,
      consecutiveSuccesses: 0,
      probeInFlight: false,
    });
  });
});

describe("R5 deregister-after-critical", () => {
  const critical = { deregisterCriticalAfterMs: 60_000 };

  it("R5 is due once a backend has stayed Unhealthy for the limit, failures or not", () => {
    const clock = new ManualClock();
    let record = run(initialHealthRecord("healthy", clock.now()), [F, F, F], DEFAULTS, clock).at(-1)!.record;
    const downAt = record.unhealthySince;
    expect(downAt).toBeGreaterThan(0);
    clock.advance(downAt + 30_000 - clock.now());
    record = applySignal(record, F, DEFAULTS, clock.now()).record;
    expect(record.unhealthySince).toBe(downAt);
    clock.advance(29_999);
    expect(deregisterDue(record, critical, clock.now())).toBe(false);
    clock.advance(1);
    expect(deregisterDue(record, critical, clock.now())).toBe(true);
    expect(deregisterDue(record, { deregisterCriticalAfterMs: 0 }, clock.now())).toBe(false);
  });

  it("R5 a pass in between starts the critical time over; Recovering is not critical", () => {
    const clock = new ManualClock();
    const down = overrideHealth(initialHealthRecord("healthy", clock.now()), "unhealthy", clock.now()).record;
    clock.advance(50_000);
    const recovering = applySignal(down, S, DEFAULTS, clock.now()).record;
    expect(recovering.unhealthySince).toBe(0);
    clock.advance(20_000);
    expect(deregisterDue(recovering, critical, clock.now())).toBe(false);
    const downAgain = applySignal(recovering, F, DEFAULTS, clock.now()).record;
    expect(downAgain.unhealthySince).toBe(clock.now());
    clock.advance(59_999);
    expect(deregisterDue(downAgain, critical, clock.now())).toBe(false);
  });
});

describe("H1 state-machine laws (property)", () => {
  const ALLOWED: Record<HealthSignal, ReadonlySet<string>> = {
    failure: new Set(["healthy>degraded", "healthy>unhealthy", "degraded>unhealthy", "recovering>unhealthy"]),
    success: new Set(["degraded>healthy", "unhealthy>recovering", "unhealthy>healthy", "recovering>healthy"]),
  };
  const policyArb = fc.record({
    failureThreshold: fc.integer({ min: 1, max: 10 }),
    recoverySuccesses: fc.integer({ min: 1, max: 10 }),
  });
  const resultArb = fc.constantFrom<CallResult>(
    "success",
    "failure",
    "timeout",
    "rejected",
    "rate_limited",
    "not_found",
  );
  const startArb = fc.constantFrom<HealthState>("healthy", "recovering", "unhealthy");

  it("H1 random outcome sequences give only allowed transitions, each with a changed state", () => {
    fc.assert(
      fc.property(policyArb, startArb, fc.array(resultArb, { maxLength: 200 }), (policy, start, results) => {
        let record = initialHealthRecord(start, 1);
        for (const result of results) {
          const step = applyCallResult(record, result, policy, 2);
          const signal = signalOfResult(result);
          if (step.transition) {
            expect(signal).toBeDefined();
            const { previous, current } = step.transition;
            expect(previous).toBe(record.health);
            expect(current).toBe(step.record.health);
            expect(ALLOWED[signal!].has(`${previous}>${current}`)).toBe(true);
            if (previous === "healthy" && current === "unhealthy") expect(policy.failureThreshold).toBe(1);
            if (previous === "unhealthy" && current === "healthy") expect(policy.recoverySuccesses).toBe(1);
          } else {
            expect(step.record.health).toBe(record.health);
          }
          expect(step.record.consecutiveFailures === 0 || step.record.consecutiveSuccesses === 0).toBe(true);
          expect(step.record.unhealthySince > 0).toBe(step.record.health === "unhealthy");
          record = step.record;
        }
      }),
    );
  });

  it("H1 Healthy is reached from Unhealthy only after exactly `recovery` successes in a row", () => {
    fc.assert(
      fc.property(policyArb, fc.array(fc.constantFrom(S, F), { maxLength: 200 }), (policy, signals) => {
        let record = initialHealthRecord("unhealthy", 1);
        let successesSinceUnhealthy = 0;
        for (const signal of signals) {
          const step = applySignal(record, signal, policy, 2);
          successesSinceUnhealthy = signal === "success" ? successesSinceUnhealthy + 1 : 0;
          if (step.transition?.current === "healthy" && record.health !== "degraded")
            expect(successesSinceUnhealthy).toBe(policy.recoverySuccesses);
          if (step.record.health === "unhealthy") successesSinceUnhealthy = 0;
          record = step.record;
        }
      }),
    );
  });

  it("H1 Unhealthy is reached from Healthy only after exactly `threshold` failures in a row", () => {
    fc.assert(
      fc.property(policyArb, fc.array(fc.constantFrom(S, F), { maxLength: 200 }), (policy, signals) => {
        let record = initialHealthRecord("healthy", 1);
        let failuresInARow = 0;
        for (const signal of signals) {
          const step = applySignal(record, signal, policy, 2);
          failuresInARow = signal === "failure" ? failuresInARow + 1 : 0;
          const fromHealthySide = record.health === "healthy" || record.health === "degraded";
          if (step.transition?.current === "unhealthy" && fromHealthySide)
            expect(failuresInARow).toBe(policy.failureThreshold);
          record = step.record;
        }
      }),
    );
  });

  it("H3 inserting RATE_LIMITED / NOT_FOUND anywhere changes nothing", () => {
    const healthEffect = fc.constantFrom<CallResult>("success", "failure", "timeout", "rejected");
    const noEffect = fc.constantFrom<CallResult>("rate_limited", "not_found");
    fc.assert(
      fc.property(
        policyArb,
        startArb,
        fc.array(fc.tuple(healthEffect, fc.array(noEffect, { maxLength: 3 })), { maxLength: 100 }),
        (policy, start, pairs) => {
          let plain = initialHealthRecord(start, 1);
          let noisy = plain;
          for (const [result, noise] of pairs) {
            plain = applyCallResult(plain, result, policy, 2).record;
            noisy = applyCallResult(noisy, result, policy, 2).record;
            for (const extra of noise) noisy = applyCallResult(noisy, extra, policy, 2).record;
          }
          expect(noisy).toEqual(plain);
        },
      ),
    );
  });
});
