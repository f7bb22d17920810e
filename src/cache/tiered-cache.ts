/**
 * The tiered L1/L2 cache (behaviour.md C1-C12): an in-process L1 in front of a shared L2
 * (Redis, Redis Cluster, or memory), one instance per kind of state.
 *
 * Flow, after bentocache's L1 -> L2 -> loader: a read asks L1 and L2 as the read policy says
 * (C2), copies an L2 hit into L1 if the refill policy says so (C4), and on a miss runs the
 * loader once per key however many callers wait (C7); the loaded value is written through
 * the write policy (C3). A stale entry (past its TTL, inside the stale window) is served and
 * refreshed in the background, once per key (C8). L2 errors follow the failure mode (C5);
 * a key whose L2 copy can't be trusted is not read from L2 (C6). Writes, deletes and
 * invalidations tell the other replicas over the bus, which drop their L1 copy (C9).
 * Every L1 change becomes an event for bounded, lossy subscribers (C12).
 *
 * Races handled: a set, delete or invalidation of a key supersedes any read, load or refresh
 * of it in flight, whose result then reaches its callers but is not cached, so an older
 * value never overwrites a newer write or resurrects a deleted key.
 */
import { every } from "../shared/clock.js";
import { CacheEventHub, type CacheListener, type CacheSubscription } from "./cache-events.js";
import { resolveTieredCacheOptions, type TieredCacheOptions } from "./cache-options.js";
import { type CacheStats, zeroStats } from "./cache-stats.js";
import { isFresh, L1Cache, type L1ChangeListener } from "./l1-cache.js";
import { L2Tier } from "./l2-tier.js";
import type { InvalidationMessage } from "./ports.js";
import { readTiers, type TierHit } from "./read-policy.js";
import { type Flight, SingleFlight } from "./single-flight.js";
import { L2Suppression } from "./suppression.js";
import type { BusReason, EntryOptions, Loader, TieredCache } from "./tiered-cache-api.js";
import { deleteTiers, writeL2First, writeTiers } from "./write-policy.js";

export type { BusReason, EntryOptions, Loader, TieredCache } from "./tiered-cache-api.js";

/** Creates a tiered cache; `options` are resolved once with named defaults (cache-options.ts). */
export function createTieredCache<V>(options: Partial<TieredCacheOptions<V>>): TieredCache<V> {
  return new DefaultTieredCache(resolveTieredCacheOptions(options));
}

type Hit<V> = TierHit<V>;

class DefaultTieredCache<V> implements TieredCache<V> {
  readonly namespace: string;
  readonly replicaId: string;
  private readonly counters = zeroStats();
  private readonly hub: CacheEventHub;
  private readonly suppression: L2Suppression;
  private readonly l1: L1Cache<Hit<V>>;
  private readonly l2: L2Tier<V>;
  private readonly reads = new SingleFlight<string, Hit<V> | undefined>();
  private readonly loads = new SingleFlight<string, V>();
  private readonly refreshes = new SingleFlight<string, void>();
  private readonly background = new Set<Promise<unknown>>();
  private readonly stops: (() => void)[] = [];
  private readonly propagate: boolean;

  constructor(readonly options: TieredCacheOptions<V>) {
    const o = options;
    this.namespace = o.namespace;
    this.replicaId = o.replicaId;
    this.propagate = o.failureMode.kind === "error";
    this.hub = new CacheEventHub(o.eventQueueSize);
    this.suppression = new L2Suppression(o.maxSuppressedKeys);
    this.l1 = new L1Cache({ maxEntries: o.maxEntries, clock: o.clock, onChange: this.onL1Change });
    this.l2 = new L2Tier({
      options: o,
      stats: this.counters,
      suppression: this.suppression,
      events: this.hub,
    });
    if (o.sweepIntervalMs > 0) this.stops.push(every(o.clock, o.sweepIntervalMs, () => this.l1.sweep()));
    if (o.bus) this.stops.push(o.bus.subscribe((message) => this.onRemote(message)));
  }

  async get(key: string): Promise<V | undefined> {
    const l1 = this.l1Hit(key);
    if (l1 !== undefined && this.options.readPolicy !== "parallel") return this.served(l1);
    const found = await this.reads.run(key, (flight) => this.lookup(key, l1, flight));
    return found === undefined ? undefined : this.served(found);
  }

  peek(key: string): V | undefined {
    const entry = this.l1.get(key);
    if (entry === undefined) return undefined;
    this.counters.l1Hits++;
    return this.served(entry);
  }

  async getOrLoad(key: string, loader: Loader<V>, options?: EntryOptions): Promise<V> {
    if (this.options.readPolicy !== "parallel") {
      const l1 = this.l1Hit(key);
      if (l1 !== undefined) return this.servedOrRefreshed(key, l1, loader, options);
    }
    return this.loads.run(key, (flight) => this.fetch(key, loader, options, flight));
  }

  async set(key: string, value: V, options?: EntryOptions): Promise<void> {
    this.supersede(key);
    await this.write(key, value, options?.ttlMs);
  }

  fill(key: string, value: V, options?: EntryOptions): void {
    this.supersede(key);
    this.counters.fills++;
    this.l1.set(key, this.entryFor(value, options?.ttlMs));
  }

  async delete(key: string): Promise<boolean> {
    this.supersede(key);
    const [l1, l2] = await deleteTiers(
      () => this.l1.delete(key, "manual"),
      () => this.l2.remove(key),
    );
    await this.publish(key, "delete");
    return l1 === true || l2 === true;
  }

  async invalidate(key: string): Promise<void> {
    this.supersede(key);
    this.l1.delete(key, "manual");
    await this.publish(key, "invalidate");
  }

  async invalidateAll(): Promise<void> {
    this.supersedeAll();
    this.l1.clear("manual");
    await this.publish(undefined, "invalidate_all");
  }

  entries(): [string, V][] {
    return Array.from(this.l1.liveEntries(), ([key, hit]) => [key, hit.value]);
  }

  subscribe(listener: CacheListener, options?: { readonly queueSize?: number }): CacheSubscription {
    return this.hub.subscribe(listener, options?.queueSize ?? this.options.eventQueueSize);
  }

  stats(): CacheStats {
    return {
      ...this.counters,
      evictions: this.l1.evictions,
      expirations: this.l1.expirations,
      eventsDropped: this.hub.dropped,
      l1Size: this.l1.size,
      suppressedKeys: this.suppression.size,
    };
  }

  sweep(): number {
    return this.l1.sweep();
  }

  clearSuppressions(): void {
    this.suppression.clear();
  }

  async settled(): Promise<void> {
    while (this.background.size > 0) await Promise.all(this.background);
  }

  close(): void {
    for (const stop of this.stops.splice(0)) stop();
  }

  /** The L1 entry under `key`, counted as a hit or a miss. */
  private l1Hit(key: string): Hit<V> | undefined {
    const entry = this.l1.get(key);
    if (entry === undefined) this.counters.l1Misses++;
    else this.counters.l1Hits++;
    return entry;
  }

  private served(hit: Hit<V>): V {
    if (!isFresh(hit, this.options.clock.now())) this.counters.staleServed++;
    return hit.value;
  }

  private servedOrRefreshed(key: string, hit: Hit<V>, loader: Loader<V>, options?: EntryOptions): V {
    if (!isFresh(hit, this.options.clock.now())) {
      this.counters.staleServed++;
      this.refreshInBackground(key, loader, options);
    }
    return hit.value;
  }

  /** Applies the read policy, then the refill policy (unless superseded meanwhile). */
  private async lookup(key: string, l1: Hit<V> | undefined, flight: Flight): Promise<Hit<V> | undefined> {
    const o = this.options;
    const found = await readTiers(
      o.readPolicy,
      l1,
      () => this.l2.read(key),
      this.propagate,
      () => o.clock.now(),
    );
    if (found?.source === "l2" && o.refill === "always" && !flight.superseded) {
      this.counters.refills++;
      this.l1.set(key, { ...found, source: "l1" });
    }
    return found;
  }

  /** One single flight's work for a miss: both tiers, then the loader, then one write. */
  private async fetch(key: string, loader: Loader<V>, options: EntryOptions | undefined, flight: Flight) {
    const l1 = this.options.readPolicy === "parallel" ? this.l1Hit(key) : undefined;
    const found = await this.lookup(key, l1, flight);
    if (found !== undefined) return this.servedOrRefreshed(key, found, loader, options);
    this.counters.loads++;
    let value: V;
    try {
      value = await loader(key);
    } catch (error) {
      this.counters.loadErrors++;
      throw error;
    }
    if (value !== undefined && !flight.superseded) await this.write(key, value, options?.ttlMs);
    return value;
  }

  private refreshInBackground(key: string, loader: Loader<V>, options: EntryOptions | undefined): void {
    if (this.refreshes.has(key)) return;
    this.counters.refreshes++;
    this.track(this.refreshes.run(key, (flight) => this.refresh(key, loader, options, flight)));
  }

  /** Takes a fresh L2 copy if another replica refreshed already, else runs the loader. Never throws. */
  private async refresh(key: string, loader: Loader<V>, options: EntryOptions | undefined, flight: Flight) {
    try {
      const l2 = await this.l2.read(key);
      if (l2.kind === "hit" && isFresh(l2.hit, this.options.clock.now())) {
        if (!flight.superseded) this.l1.set(key, { ...l2.hit, source: "l1" });
        return;
      }
      const value = await loader(key);
      if (value !== undefined && !flight.superseded) await this.write(key, value, options?.ttlMs);
    } catch (error) {
      this.counters.refreshErrors++;
      this.report("refresh_error", key, error);
    }
  }

  /** Writes through the write policy (or L2 first under failure mode `error`), then publishes. */
  private async write(key: string, value: V, ttlMs: number | undefined): Promise<void> {
    const entry = this.entryFor(value, ttlMs);
    const text = this.l2.enabled ? this.options.codec.encode(value) : "";
    const l1Arm = () => {
      this.l1.set(key, entry);
    };
    const l2Arm = () => this.l2.write(key, text, entry.expiresAt);
    if (this.propagate) {
      await writeL2First(l1Arm, l2Arm);
      await this.publish(key, "set");
      return;
    }
    const write = writeTiers(this.options.writePolicy, l1Arm, l2Arm);
    const published = write.settled.then((s) => (s.l1 || s.l2 ? this.publish(key, "set") : undefined));
    if (this.options.writePolicy === "race") {
      this.track(published);
      return write.done;
    }
    await write.done;
    await published;
  }

  private entryFor(value: V, ttlMs: number | undefined): Hit<V> {
    const ttl = ttlMs ?? this.options.defaultTtlMs;
    if (!Number.isInteger(ttl) || ttl < 0) throw new RangeError(`ttlMs: must be an integer >= 0, got ${ttl}`);
    if (ttl === 0) return { value, freshUntil: 0, expiresAt: 0, source: "l1" };
    const freshUntil = this.options.clock.now() + ttl;
    return { value, freshUntil, expiresAt: freshUntil + this.options.staleWindowMs, source: "l1" };
  }

  /** Tells the other replicas; a bus failure is counted and reported, never thrown. */
  private async publish(key: string | undefined, reason: BusReason): Promise<void> {
    const bus = this.options.bus;
    if (bus === undefined) return;
    try {
      await bus.publish({ namespace: this.namespace, key, reason, origin: this.replicaId });
    } catch (error) {
      this.counters.busErrors++;
      this.report("bus_error", key, error);
    }
  }

  private onRemote(message: InvalidationMessage): void {
    if (message.namespace !== this.namespace || message.origin === this.replicaId) return;
    this.counters.remoteInvalidations++;
    if (message.key === undefined) {
      this.supersedeAll();
      this.l1.clear("remote", message.reason);
    } else {
      this.supersede(message.key);
      this.l1.delete(message.key, "remote", message.reason);
    }
  }

  private readonly onL1Change: L1ChangeListener = (type, key, reason, remoteReason) => {
    if (!this.hub.active) return;
    const at = this.options.clock.now();
    const namespace = this.namespace;
    if (type === "invalidate") {
      this.hub.emit({ type, namespace, key, reason: reason ?? "manual", remoteReason, at });
    } else if (key !== undefined) {
      this.hub.emit({ type, namespace, key, at });
    }
  };

  private report(type: "refresh_error" | "bus_error", key: string | undefined, error: unknown): void {
    const message = error instanceof Error ? error.message : String(error);
    this.options.logger.warn({ namespace: this.namespace, key, err: message }, `cache: ${type}`);
    if (this.hub.active)
      this.hub.emit({ type, namespace: this.namespace, key, message, at: this.options.clock.now() });
  }

  private supersede(key: string): void {
    this.reads.supersede(key);
    this.loads.supersede(key);
    this.refreshes.supersede(key);
  }

  private supersedeAll(): void {
    this.reads.supersedeAll();
    this.loads.supersedeAll();
    this.refreshes.supersedeAll();
  }

  private track(promise: Promise<unknown>): void {
    this.background.add(promise);
    const done = () => this.background.delete(promise);
    promise.then(done, done);
  }
}
