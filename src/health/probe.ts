/**
 * The Probe port (behaviour.md H5): one active check of one backend. The core declares it;
 * the I/O implementations (TCP connect, grpc.health.v1 Check, HTTP GET) live in
 * src/store/probes/ and are chosen by the composition root. The scheduler that decides when
 * to run a probe is src/health/prober.ts (Consul's split: probe, schedule and sink are three
 * separate things).
 */
import type { HealthCheckSpec } from "../model/specs.js";
import type { HealthSignal } from "./policy.js";

/** Where and how to check: `port` is already resolved (the check's own port, else the backend's). */
export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly spec: HealthCheckSpec;
}

/** pass / fail as the probe saw it; `timeout` is set by the scheduler when the check ran out of time. */
export type ProbeStatus = "pass" | "fail" | "timeout";

/** The verdict of one check, with a one-line detail for logs and Watch reasons. */
export interface ProbeOutcome {
  readonly status: ProbeStatus;
  readonly detail: string;
}

/**
 * One kind of active check. Contract: `check` resolves (never rejects) with pass or fail;
 * once `signal` aborts it releases its socket and settles promptly (the scheduler counts the
 * probe as in flight until it settles). It sets no timer of its own: timeouts belong to the
 * scheduler.
 */
export interface Probe {
  check(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome>;
}

/** A passing outcome. */
export function probePassed(detail: string): ProbeOutcome {
  return { status: "pass", detail };
}

/** A failing outcome. */
export function probeFailed(detail: string): ProbeOutcome {
  return { status: "fail", detail };
}

/** The H1 signal of a probe outcome: pass is a success; fail and timeout are failures (H5). */
export function signalOfProbe(outcome: ProbeOutcome): HealthSignal {
  return outcome.status === "pass" ? "success" : "failure";
}
