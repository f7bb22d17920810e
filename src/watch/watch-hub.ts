import type { ServiceStatus } from "../model/status.js";
import type { ServiceEvent } from "../registry/events.js";
import type { Clock } from "../shared/clock.js";
import { FulcrumError } from "../shared/errors.js";
import { type Defer, FanOut, type Recipient } from "./fan-out.js";
import { approximateBytes } from "./message-bytes.js";
import type { WatchMessage } from "./watch-message.js";
import { Watcher } from "./watcher.js";

/** Limits and timing of Watch. */
export interface WatchLimits {
  /** Events kept per service for resume. */
  readonly historyPerService: number;
  /** Bytes of events (message-bytes.ts) kept per service for resume; the oldest go first. */
  readonly historyBytesPerService: number;
  readonly queuePerWatcher: number;
  /** Bytes queued for one slow watcher before it gets RESET + snapshot instead. */
  readonly queueBytesPerWatcher: number;
  readonly maxWatchers: number;
  readonly heartbeatMs: number;
}

export const DEFAULT_WATCH_LIMITS: WatchLimits = {
  historyPerService: 1_000,
  historyBytesPerService: 16 * 1024 * 1024,
  queuePerWatcher: 4_096,
  queueBytesPerWatcher: 4 * 1024 * 1024,
  maxWatchers: 20_000,
  heartbeatMs: 15_000,
};

/** Options of a WatchHub. */
export interface WatchHubOptions {
  readonly clock: Clock;
  readonly limits: WatchLimits;
  /** The current status of a service, or undefined when it is not registered. */
  readonly describe: (service: string) => ServiceStatus | undefined;
  readonly serviceNames: () => readonly string[];
  /**
   * Defers delivery (fan-out.ts): unset, a change reaches every watcher inside `publish`; set,
   * in slices of `fanOutSlice` watchers, each a deferred task, so the caller answers first.
   */
  readonly defer?: Defer;
  readonly fanOutSlice?: number;
}

interface History {
  readonly events: { readonly event: ServiceEvent; readonly bytes: number }[];
  /** Sum of the events' bytes. */
  bytes: number;
  /** Version of the newest event dropped from `events`; resuming from below it needs a RESET. */
  truncatedAt: number;
}

/**
 * Fans service events out to Watch streams (the Watch messages of proto/fulcrum/v1/balancer.proto): a snapshot first, then deltas;
 * resume from `resume_versions` replays exactly what was missed while the bounded history
 * still holds it, and answers RESET + snapshot otherwise.
 */
export class WatchHub {
  private readonly histories = new Map<string, History>();
  private readonly watchers = new Map<Watcher, ReadonlySet<string> | "all">();
  /**
   * The watchers of a service, listed once and shared by every delivery until a watcher opens
   * or closes: a burst of changes (a MERGE of many backends) holds one list, not one per change.
   */
  private readonly recipients = new Map<string, readonly Recipient[]>();
  private readonly fanOut: FanOut;

  constructor(private readonly options: WatchHubOptions) {
    this.fanOut = new FanOut(options.defer, options.fanOutSlice);
  }

  /**
   * Records an event at once (a resume sees it from now on) and delivers it to every watcher
   * in scope now, after the events before it (deferred when the hub has `defer`).
   */
  publish(event: ServiceEvent): void {
    const history = this.histories.get(event.service) ?? { events: [], bytes: 0, truncatedAt: 0 };
    this.histories.set(event.service, history);
    const bytes = approximateBytes(event.change);
    history.events.push({ event, bytes });
    history.bytes += bytes;
    this.trim(history);
    const message: WatchMessage = { service: event.service, version: event.version, event: event.change };
    this.fanOut.deliver(message, bytes, this.inScope(event.service));
    // A removed service keeps only a tombstone: resuming from before it needs RESET.
    if (event.change.kind === "service_removed")
      this.histories.set(event.service, { events: [], bytes: 0, truncatedAt: event.version });
  }

  /** Drops the oldest events while the history is past its count or byte bound. */
  private trim(history: History): void {
    const { historyPerService, historyBytesPerService } = this.options.limits;
    while (history.events.length > historyPerService || history.bytes > historyBytesPerService) {
      const oldest = history.events.shift()!;
      history.bytes -= oldest.bytes;
      history.truncatedAt = oldest.event.version;
    }
  }

  /**
   * Delivers a message that is not part of the service's history (a quota headroom crossing,
   * observed by this replica): watchers in scope get it at the current version; a resume
   * does not replay it.
   */
  publishEphemeral(message: WatchMessage): void {
    this.fanOut.deliver(message, approximateBytes(message.event), this.inScope(message.service));
  }

  /**
   * The watchers of `service` now. One opened later starts from the service's current status,
   * which already holds the change; one closed meanwhile ignores the push.
   */
  private inScope(service: string): readonly Recipient[] {
    const known = this.recipients.get(service);
    if (known) return known;
    const recipients: Recipient[] = [];
    for (const [watcher, scope] of this.watchers)
      if (scope === "all" || scope.has(service)) recipients.push(watcher);
    this.recipients.set(service, recipients);
    return recipients;
  }

  /** Opens a Watch stream over `services` (all when empty), resuming where `resume` says. */
  subscribe(services: readonly string[], resume: ReadonlyMap<string, number>): Watcher {
    if (this.watchers.size >= this.options.limits.maxWatchers) {
      throw new FulcrumError(
        "resource_exhausted",
        `${this.watchers.size} watchers open, the limit max_watchers`,
      );
    }
    const scope = services.length === 0 ? "all" : new Set(services);
    const watcher = new Watcher({
      clock: this.options.clock,
      queueLimit: this.options.limits.queuePerWatcher,
      queueBytesLimit: this.options.limits.queueBytesPerWatcher,
      heartbeatMs: this.options.limits.heartbeatMs,
      resync: (service, reason) => this.resync(service, reason),
      scope: () => (scope === "all" ? this.options.serviceNames() : [...scope]),
      onClose: () => {
        this.watchers.delete(watcher);
        this.recipients.clear();
      },
    });
    const initial = scope === "all" ? new Set([...this.options.serviceNames(), ...resume.keys()]) : scope;
    for (const service of initial) this.catchUp(watcher, service, resume.get(service));
    this.watchers.set(watcher, scope);
    this.recipients.clear();
    return watcher;
  }

  /** Ends every stream cleanly (shutdown). */
  closeAll(): void {
    for (const watcher of [...this.watchers.keys()]) watcher.close();
  }

  get watcherCount(): number {
    return this.watchers.size;
  }

  private catchUp(watcher: Watcher, service: string, resumeFrom: number | undefined): void {
    const status = this.options.describe(service);
    const history = this.histories.get(service);
    if (resumeFrom === undefined) {
      if (status)
        watcher.push(
          { service, version: status.version, event: { kind: "snapshot", status } },
          approximateBytes(status),
        );
      return;
    }
    const current = this.currentVersion(service);
    const replayable = history !== undefined && resumeFrom >= history.truncatedAt && resumeFrom <= current;
    if (replayable) {
      for (const { event, bytes } of history.events) {
        if (event.version > resumeFrom)
          watcher.push({ service, version: event.version, event: event.change }, bytes);
      }
      return;
    }
    if (resumeFrom === current) return;
    watcher.pushResync(
      service,
      resumeFrom > current ? "version is from another history" : "history needed to resume is gone",
    );
  }

  /** The service's version, or for a removed one the version of its removal. */
  private currentVersion(service: string): number {
    const history = this.histories.get(service);
    return (
      this.options.describe(service)?.version ??
      history?.events.at(-1)?.event.version ??
      history?.truncatedAt ??
      0
    );
  }

  private resync(service: string, reason: string): WatchMessage[] {
    const status = this.options.describe(service);
    const version = this.currentVersion(service);
    const reset: WatchMessage = { service, version, event: { kind: "reset", reason } };
    if (!status) return [reset, { service, version, event: { kind: "service_removed" } }];
    return [reset, { service, version, event: { kind: "snapshot", status } }];
  }
}
