/**
 * The active-check scheduler (behaviour.md H5): one schedule per backend with a check, run on
 * the injected Clock, with the I/O behind the Probe port. What it promises:
 * - the first run of a new schedule is jittered uniformly in [0, interval), so a Register of
 *   many backends does not probe them all at once;
 * - a run starts one interval after the previous run started (at once if that already
 *   passed), and never while the previous run of the same backend is still in flight;
 * - a run has `timeoutMs` from the moment it starts: then the sink hears `timeout` (a
 *   failure) and the probe is aborted through its AbortSignal;
 * - at most `maxConcurrent` probes are in flight across the process; runs that come due
 *   beyond that wait in one FIFO queue (so every backend gets its turn before any gets two);
 * - removing a backend cancels its timer and aborts its run; nothing is reported for it after.
 * A probe that ignores its abort keeps its slot for `abortGraceMs`, then is abandoned (its
 * late result is dropped), so a broken probe cannot stall the scheduler.
 *
 * Results go to one sink; the composition root feeds them to the same H1 state machine as
 * Reports (policy.ts `applySignal` with probe.ts `signalOfProbe`). Source: Consul's check
 * runner (jittered first run, no overlapping runs) and Envoy's health checker (timeout counts
 * as a failure).
 */
import type { Clock, TimerHandle } from "../shared/clock.js";
import { type Random, randomInt } from "../shared/random.js";
import { type Probe, type ProbeOutcome, type ProbeTarget, probeFailed } from "./probe.js";
import type { ProberTarget } from "./probe-targets.js";

/** Probes in flight across the process, at most (H5). */
export const DEFAULT_MAX_CONCURRENT_PROBES = 64;
/** How long an aborted probe may keep its slot before it is abandoned, in ms. */
export const DEFAULT_ABORT_GRACE_MS = 1_000;
/** Floor on a check's interval, so a zero interval cannot spin the clock, in ms. */
export const MIN_PROBE_INTERVAL_MS = 1;

/** A probe outcome as delivered: when the run started and how long it took (Clock ms). */
export interface ProbeResult extends ProbeOutcome {
  readonly startedAt: number;
  readonly durationMs: number;
}

/** Receives every probe result. It should not throw; if it does, `onSinkError` hears it. */
export type ProbeSink = (service: string, backendId: string, result: ProbeResult) => void;

/** Everything the scheduler needs; `createProber` fills the optional ones with defaults. */
export interface ProberOptions {
  readonly clock: Clock;
  readonly random: Random;
  readonly probe: Probe;
  readonly sink: ProbeSink;
  readonly maxConcurrent: number;
  readonly abortGraceMs: number;
  readonly onSinkError: (error: unknown, service: string, backendId: string) => void;
}

/** Counts for metrics and tests. */
export interface ProberStats {
  /** Backends with a schedule. */
  readonly scheduled: number;
  /** Probes in flight (including aborted ones not yet settled). */
  readonly running: number;
  /** Runs due but waiting for a slot. */
  readonly queued: number;
}

/** The scheduler's entry points. Every method is synchronous and never throws. */
export interface Prober {
  /**
   * Makes `targets` the set of checked backends of `service`: new ones are scheduled (first
   * run jittered), missing ones removed, changed ones updated (see `add`). Empty: none.
   */
  sync(service: string, targets: readonly ProberTarget[]): void;
  /**
   * Schedules one backend. If it is already scheduled, the new target applies from its next
   * run; a changed interval re-jitters a schedule that is only waiting.
   */
  add(service: string, target: ProberTarget): void;
  /** Stops checking one backend: cancels its timer, aborts its run; no result after this. */
  remove(service: string, backendId: string): void;
  /** Removes every schedule (shutdown). */
  stop(): void;
  stats(): ProberStats;
}

/** A scheduler with the given deps; maxConcurrent, abortGraceMs and onSinkError default. */
export function createProber(
  options: Pick<ProberOptions, "clock" | "random" | "probe" | "sink"> & Partial<ProberOptions>,
): Prober {
  return new ProbeScheduler({
    abortGraceMs: DEFAULT_ABORT_GRACE_MS,
    onSinkError: () => {},
    ...options,
    maxConcurrent: Math.max(1, options.maxConcurrent ?? DEFAULT_MAX_CONCURRENT_PROBES),
  });
}

interface Schedule {
  readonly service: string;
  target: ProberTarget;
  phase: "waiting" | "queued" | "running";
  timer: TimerHandle | undefined;
  run: Run | undefined;
  removed: boolean;
}

interface Run {
  readonly schedule: Schedule;
  readonly controller: AbortController;
  readonly startedAt: number;
  timeoutTimer: TimerHandle | undefined;
  graceTimer: TimerHandle | undefined;
  reported: boolean;
  finished: boolean;
}

class ProbeScheduler implements Prober {
  private readonly services = new Map<string, Map<string, Schedule>>();
  private readonly queue: Schedule[] = [];
  private running = 0;

  constructor(private readonly o: ProberOptions) {}

  sync(service: string, targets: readonly ProberTarget[]): void {
    const wanted = new Set(targets.map((t) => t.backendId));
    for (const id of [...(this.services.get(service)?.keys() ?? [])]) {
      if (!wanted.has(id)) this.remove(service, id);
    }
    for (const target of targets) this.add(service, target);
  }

  add(service: string, target: ProberTarget): void {
    let backends = this.services.get(service);
    if (!backends) {
      backends = new Map();
      this.services.set(service, backends);
    }
    const existing = backends.get(target.backendId);
    if (existing) {
      this.update(existing, target);
      return;
    }
    const schedule: Schedule = {
      service,
      target,
      phase: "waiting",
      timer: undefined,
      run: undefined,
      removed: false,
    };
    backends.set(target.backendId, schedule);
    this.arm(schedule, randomInt(this.o.random, intervalOf(target)));
  }

  remove(service: string, backendId: string): void {
    const backends = this.services.get(service);
    const schedule = backends?.get(backendId);
    if (!backends || !schedule) return;
    backends.delete(backendId);
    if (backends.size === 0) this.services.delete(service);
    schedule.removed = true;
    if (schedule.timer) this.o.clock.clearTimeout(schedule.timer);
    schedule.timer = undefined;
    const queued = this.queue.indexOf(schedule);
    if (queued >= 0) this.queue.splice(queued, 1);
    if (schedule.run) {
      schedule.run.reported = true;
      this.abort(schedule.run);
    }
  }

  stop(): void {
    for (const [service, backends] of [...this.services]) {
      for (const id of [...backends.keys()]) this.remove(service, id);
    }
  }

  stats(): ProberStats {
    let scheduled = 0;
    for (const backends of this.services.values()) scheduled += backends.size;
    return { scheduled, running: this.running, queued: this.queue.length };
  }

  private update(schedule: Schedule, target: ProberTarget): void {
    const intervalChanged = intervalOf(schedule.target) !== intervalOf(target);
    schedule.target = target;
    if (schedule.phase !== "waiting" || !intervalChanged || !schedule.timer) return;
    this.o.clock.clearTimeout(schedule.timer);
    this.arm(schedule, randomInt(this.o.random, intervalOf(target)));
  }

  private arm(schedule: Schedule, delayMs: number): void {
    schedule.phase = "waiting";
    schedule.timer = this.o.clock.setTimeout(() => this.due(schedule), delayMs);
  }

  private due(schedule: Schedule): void {
    schedule.timer = undefined;
    if (schedule.removed) return;
    if (this.running < this.o.maxConcurrent) {
      this.start(schedule);
    } else {
      schedule.phase = "queued";
      this.queue.push(schedule);
    }
  }

  private start(schedule: Schedule): void {
    this.running++;
    const run: Run = {
      schedule,
      controller: new AbortController(),
      startedAt: this.o.clock.now(),
      timeoutTimer: undefined,
      graceTimer: undefined,
      reported: false,
      finished: false,
    };
    schedule.phase = "running";
    schedule.run = run;
    const { spec } = schedule.target;
    run.timeoutTimer = this.o.clock.setTimeout(() => this.onTimeout(run, spec.timeoutMs), spec.timeoutMs);
    const target: ProbeTarget = { host: schedule.target.host, port: spec.port || schedule.target.port, spec };
    void this.invoke(target, run.controller.signal).then((outcome) => {
      this.report(run, outcome);
      this.finish(run);
    });
  }

  private async invoke(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
    try {
      return await this.o.probe.check(target, signal);
    } catch (error) {
      return probeFailed(`probe error: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  private onTimeout(run: Run, timeoutMs: number): void {
    run.timeoutTimer = undefined;
    this.report(run, { status: "timeout", detail: `no answer within ${timeoutMs} ms` });
    this.abort(run);
  }

  /** Aborts a run; its slot is freed when the probe settles or, at the latest, after the grace. */
  private abort(run: Run): void {
    if (run.finished || run.graceTimer) return;
    run.graceTimer = this.o.clock.setTimeout(() => this.finish(run), this.o.abortGraceMs);
    run.controller.abort();
  }

  private report(run: Run, outcome: ProbeOutcome): void {
    if (run.reported) return;
    run.reported = true;
    const { service, target, removed } = run.schedule;
    if (removed) return;
    const result: ProbeResult = {
      status: outcome.status,
      detail: outcome.detail,
      startedAt: run.startedAt,
      durationMs: this.o.clock.now() - run.startedAt,
    };
    try {
      this.o.sink(service, target.backendId, result);
    } catch (error) {
      this.o.onSinkError(error, service, target.backendId);
    }
  }

  private finish(run: Run): void {
    if (run.finished) return;
    run.finished = true;
    if (run.timeoutTimer) this.o.clock.clearTimeout(run.timeoutTimer);
    if (run.graceTimer) this.o.clock.clearTimeout(run.graceTimer);
    this.running--;
    const schedule = run.schedule;
    schedule.run = undefined;
    if (!schedule.removed) {
      const nextAt = run.startedAt + intervalOf(schedule.target);
      this.arm(schedule, Math.max(0, nextAt - this.o.clock.now()));
    }
    this.pump();
  }

  private pump(): void {
    while (this.running < this.o.maxConcurrent) {
      const next = this.queue.shift();
      if (!next) return;
      this.start(next);
    }
  }
}

function intervalOf(target: ProberTarget): number {
  return Math.max(MIN_PROBE_INTERVAL_MS, target.spec.intervalMs);
}
