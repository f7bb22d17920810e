/**
 * This replica's copy of the registry log (R7): every mutation is planned against the copy,
 * appended to the log with compare-and-set on the service version and only then applied, so a
 * failed call changes nothing and an acknowledged change is never lost. What other replicas
 * append arrives through the log and is applied the same way, with the same versions; a gap,
 * a lost compare-and-set or a reconnect resyncs the service from the log, a bounded number of
 * times with backoff.
 */
import type { MemberBackend, MembershipFollower } from "../model/membership.js";
import type { Clock } from "../shared/clock.js";
import { FulcrumError } from "../shared/errors.js";
import type { BackgroundWork } from "./background-work.js";
import type { ServiceEventListener } from "./events.js";
import { logFailure } from "./log-failure.js";
import type { Plan } from "./plan.js";
import { extendLeases, memberOf, type Registered, refreshChange, statusOf, storedOf } from "./registered.js";
import type { AppendedEntry, LeaseRenewal, RegistryLog, StoredService } from "./registry-log.js";

/** Plans that lose a compare-and-set to another replica are re-planned this often before giving up. */
const MAX_CONFLICT_RETRIES = 8;
/** A resync that keeps finding the log behind this replica (and cannot restore it) gives up after this many loads. */
export const MAX_RESYNC_ATTEMPTS = 5;
/** Wait before the second load of a resync; doubled for each further one. */
export const RESYNC_BACKOFF_BASE_MS = 50;
/**
 * A reload after a reconnect is tried this often before its failure is reported. The log's
 * subscription can come back before the connection its reads and restores go over (both
 * reconnect on their own), and a store that came back empty holds only what a replica puts
 * back: a reload that failed once and was dropped left services out of the log for good,
 * and a replica started later did not know them (NOT_FOUND).
 */
export const MAX_RECONNECT_RESYNC_ATTEMPTS = 20;
/** Longest wait between two tries of a reload after a reconnect. */
export const RECONNECT_RESYNC_MAX_BACKOFF_MS = 1_000;

/** Options of a Replicator. */
export interface ReplicatorOptions {
  readonly clock: Clock;
  readonly log: RegistryLog;
  /** Told about every membership change before its events go out (the balancer's service table). */
  readonly members: MembershipFollower;
  readonly onEvent: ServiceEventListener;
  readonly background: BackgroundWork;
  /** A backend started draining here (locally or on another replica): its deadline is `drainDeadline`. */
  readonly onDrainStarted: (service: string, backend: MemberBackend) => void;
}

/** A mutation: from the service as stored (undefined: not registered) to what to append. */
export type Planner = (current: StoredService | undefined) => Plan;

/** The local copy of the registry log, and the only writer of it. */
export class Replicator {
  private readonly services = new Map<string, Registered>();
  /** Last version of every service ever seen, removed ones included: versions are never reused. */
  private readonly versions = new Map<string, number>();
  /** Mutations of one service run one at a time on this replica; only replicas contend. */
  private readonly queues = new Map<string, Promise<unknown>>();
  private unsubscribe: (() => void) | undefined;
  private stopped = false;

  constructor(private readonly options: ReplicatorOptions) {}

  /** Loads every service from the log and follows other replicas' changes. */
  async start(): Promise<void> {
    const { log, background } = this.options;
    this.unsubscribe = await log.subscribe({
      appended: (entry) => this.onRemoteEntry(entry),
      renewed: (renewal) => this.onRemoteRenewal(renewal),
      reconnected: () => background.run("resync after reconnect", this.resyncAfterReconnect()),
    });
    await this.resyncAll();
  }

  /** Stops following the log. */
  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
  }

  /** The service as this replica holds it, or undefined. */
  entry(name: string): Registered | undefined {
    return this.services.get(name);
  }

  /** Every service this replica holds. */
  entries(): IterableIterator<Registered> {
    return this.services.values();
  }

  get size(): number {
    return this.services.size;
  }

  /** The last version of `service`, removed ones included; 0 when never seen. */
  versionOf(service: string): number {
    return this.versions.get(service) ?? 0;
  }

  /** Queues a mutation of `service` behind the ones already running here. Resolves to whether anything changed. */
  mutate(service: string, plan: Planner): Promise<boolean> {
    const previous = this.queues.get(service) ?? Promise.resolve();
    const run = previous.then(() => this.mutateNow(service, plan));
    const tail = run.catch(() => {});
    this.queues.set(service, tail);
    void tail.then(() => {
      if (this.queues.get(service) === tail) this.queues.delete(service);
    });
    return run;
  }

  /** Plans against the current state, appends (compare-and-set), applies; re-plans on conflict. */
  private async mutateNow(service: string, plan: Planner): Promise<boolean> {
    for (let attempt = 0; attempt < MAX_CONFLICT_RETRIES; attempt++) {
      const known = this.services.get(service);
      const planned = plan(known && storedOf(known));
      if (planned.changes.length === 0) return false;
      const baseVersion = this.versionOf(service);
      const entry = { service, baseVersion, changes: planned.changes, next: planned.next };
      const appended = await this.options.log.append(entry).catch((cause: unknown) => {
        throw logFailure(service, cause);
      });
      if (appended.ok) {
        if (this.versionOf(service) === baseVersion)
          this.apply({ ...entry, firstVersion: appended.firstVersion });
        return true;
      }
      await this.resync(service);
    }
    throw new FulcrumError(
      "unavailable",
      `service ${JSON.stringify(service)}: concurrent updates kept conflicting; retry`,
    );
  }

  /** Applies an appended entry: state from `next`, then the events with their versions. */
  private apply(entry: AppendedEntry): void {
    const lastVersion = entry.firstVersion + entry.changes.length - 1;
    this.versions.set(entry.service, lastVersion);
    const live = entry.next ? this.install(entry.next, lastVersion) : undefined;
    if (!entry.next) this.uninstall(entry.service);
    entry.changes.forEach((change, i) => {
      this.options.onEvent({
        service: entry.service,
        version: entry.firstVersion + i,
        change: live ? refreshChange(change, live, this.options.members) : change,
      });
    });
  }

  /** Makes the local membership match `stored` (leases only ever move later), then tells the follower. */
  private install(stored: StoredService, version: number): Registered {
    const previous = this.services.get(stored.name)?.backends;
    const backends = new Map<string, MemberBackend>();
    const startedDraining: MemberBackend[] = [];
    for (const shared of stored.backends) {
      const known = previous?.get(shared.spec.id);
      const leaseExpiresAt = Math.max(known?.leaseExpiresAt ?? 0, shared.leaseExpiresAt);
      backends.set(shared.spec.id, { ...shared, leaseExpiresAt });
      if (shared.draining && !known?.draining) startedDraining.push(shared);
    }
    const entry: Registered = { name: stored.name, config: stored.config, version, backends };
    this.services.set(stored.name, entry);
    for (const backend of startedDraining) this.options.onDrainStarted(stored.name, backend);
    this.options.members.installed(memberOf(entry));
    return entry;
  }

  /** Drops a removed service here and in the follower; true when it was known. */
  private uninstall(service: string): boolean {
    this.options.members.removed(service);
    return this.services.delete(service);
  }

  private onRemoteEntry(entry: AppendedEntry): void {
    const local = this.versionOf(entry.service);
    const last = entry.firstVersion + entry.changes.length - 1;
    if (last <= local) return;
    if (entry.firstVersion === local + 1) this.apply(entry);
    else this.options.background.run(`resyncing ${entry.service} after a gap`, this.resync(entry.service));
  }

  private onRemoteRenewal(renewal: LeaseRenewal): void {
    const entry = this.services.get(renewal.service);
    if (entry) extendLeases(entry, renewal.expiries);
  }

  /**
   * Reloads one service from the log; when it moved on, installs it and tells watchers with a
   * snapshot. When the log is behind this replica (it lost what was acknowledged: Redis
   * restarted empty) the service is put back; should another writer keep getting there first,
   * the load is retried with backoff, at most MAX_RESYNC_ATTEMPTS times.
   */
  private async resync(service: string): Promise<void> {
    for (let attempt = 0; attempt < MAX_RESYNC_ATTEMPTS; attempt++) {
      if (attempt > 0) await this.sleep(RESYNC_BACKOFF_BASE_MS * 2 ** (attempt - 1));
      const { stored, version } = await this.options.log.load(service);
      const local = this.versionOf(service);
      if (version >= local) return this.installLoaded(service, stored, version);
      const held = this.services.get(service);
      if (await this.options.log.restore(service, held && storedOf(held), local)) return;
    }
    throw new FulcrumError(
      "unavailable",
      `service ${JSON.stringify(service)}: the registry log stayed behind this replica after ${MAX_RESYNC_ATTEMPTS} resyncs`,
    );
  }

  /** Installs what the log holds for `service` at `version` unless this replica already has it. */
  private installLoaded(service: string, stored: StoredService | undefined, version: number): void {
    if (version <= this.versionOf(service)) return;
    this.versions.set(service, version);
    if (!stored) {
      if (this.uninstall(service))
        this.options.onEvent({ service, version, change: { kind: "service_removed" } });
      return;
    }
    const entry = this.install(stored, version);
    this.options.onEvent({
      service,
      version,
      change: { kind: "snapshot", status: statusOf(entry, this.options.members) },
    });
  }

  private async resyncAll(): Promise<void> {
    const all = await this.options.log.loadAll();
    const live = new Set(all.map(({ stored }) => stored.name));
    for (const name of [...this.services.keys()]) if (!live.has(name)) await this.resync(name);
    for (const { stored, version } of all) this.installLoaded(stored.name, stored, version);
  }

  /** resyncAll until it succeeds, with capped backoff, at most MAX_RECONNECT_RESYNC_ATTEMPTS times; the last failure is thrown. */
  private async resyncAfterReconnect(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.resyncAll();
      } catch (error) {
        if (this.stopped) return;
        if (attempt >= MAX_RECONNECT_RESYNC_ATTEMPTS) throw error;
      }
      await this.sleep(
        Math.min(RESYNC_BACKOFF_BASE_MS * 2 ** (attempt - 1), RECONNECT_RESYNC_MAX_BACKOFF_MS),
      );
      if (this.stopped) return;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => this.options.clock.setTimeout(resolve, ms));
  }
}
