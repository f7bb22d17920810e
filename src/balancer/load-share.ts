/**
 * Sharing in-flight counts between replicas (issue 5): each replica counts the calls it
 * handed out itself, and every `intervalMs` tells the others its per-backend counts; a
 * replica adds what the others reported (BackendState.remoteInFlight) when it compares load
 * (least load, power of two, backpressure). A report replaces that replica's previous one,
 * and reports older than `staleAfterMs` are dropped (a replica that died stops counting), so
 * the view of other replicas' load is at most one interval plus the bus delay old.
 * Latency scores stay per replica: each reflects what its own callers observed.
 */
import type { Clock } from "../shared/clock.js";
import type { LiveService } from "./live-service.js";

/** One replica's in-flight counts: service -> backend id -> calls in flight (zeros left out). */
export interface LoadReport {
  readonly replica: string;
  readonly services: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

/** Carries load reports between replicas (Redis pub/sub in store/). */
export interface LoadBus {
  publish(report: LoadReport): Promise<void>;
  /** Calls `handler` for every report, this replica's own included; resolves once subscribed. */
  subscribe(handler: (report: LoadReport) => void): Promise<() => void>;
}

/** Options of a LoadShare. */
export interface LoadShareOptions {
  readonly replica: string;
  readonly clock: Clock;
  /** Reports older than this stop counting. */
  readonly staleAfterMs: number;
  readonly find: (service: string) => LiveService | undefined;
  readonly services: () => Iterable<LiveService>;
}

/** This replica's side of load sharing. */
export class LoadShare {
  private readonly remote = new Map<string, { at: number; report: LoadReport }>();

  constructor(private readonly options: LoadShareOptions) {}

  /** What this replica has in flight now. */
  report(): LoadReport {
    const services: Record<string, Record<string, number>> = {};
    for (const entry of this.options.services()) {
      for (const backend of entry.backends.values()) {
        if (backend.inFlight === 0) continue;
        services[entry.name] ??= {};
        services[entry.name]![backend.spec.id] = backend.inFlight;
      }
    }
    return { replica: this.options.replica, services };
  }

  /** Takes another replica's report (own reports are ignored). */
  receive(report: LoadReport): void {
    if (report.replica === this.options.replica) return;
    const previous = this.remote.get(report.replica)?.report;
    this.remote.set(report.replica, { at: this.options.clock.now(), report });
    this.recompute(new Set([...Object.keys(report.services), ...Object.keys(previous?.services ?? {})]));
  }

  /** Drops reports of replicas that went quiet. */
  expire(): void {
    const cutoff = this.options.clock.now() - this.options.staleAfterMs;
    const touched = new Set<string>();
    for (const [replica, { at, report }] of this.remote) {
      if (at >= cutoff) continue;
      this.remote.delete(replica);
      for (const service of Object.keys(report.services)) touched.add(service);
    }
    if (touched.size > 0) this.recompute(touched);
  }

  private recompute(services: Set<string>): void {
    for (const service of services) {
      const entry = this.options.find(service);
      if (!entry) continue;
      for (const backend of entry.backends.values()) {
        let sum = 0;
        for (const { report } of this.remote.values())
          sum += report.services[service]?.[backend.spec.id] ?? 0;
        backend.remoteInFlight = sum;
      }
    }
  }
}
