/**
 * The public face of a tiered cache (behaviour.md C1-C12): what callers of
 * `createTieredCache` (tiered-cache.ts) get, and the reasons it puts on the bus.
 */
import type { CacheListener, CacheSubscription } from "./cache-events.js";
import type { TieredCacheOptions } from "./cache-options.js";
import type { CacheStats } from "./cache-stats.js";

/**
 * The `reason` of an InvalidationMessage this cache publishes: after a write (`set`), a
 * delete, an invalidation of one key, or of the whole namespace (`invalidate_all`, key undefined).
 * A receiving replica records it as the `remoteReason` of its `remote` invalidate event.
 */
export type BusReason = "set" | "delete" | "invalidate" | "invalidate_all";

/** Per-write options. */
export interface EntryOptions {
  /** TTL of this entry in ms (0 = no expiry); defaults to the cache's `defaultTtlMs`. */
  readonly ttlMs?: number;
}

/** Produces the value of a missing key. Returning undefined caches nothing. */
export type Loader<V> = (key: string) => Promise<V>;

/** A tiered cache of values of type V under one namespace. */
export interface TieredCache<V> {
  readonly namespace: string;
  readonly replicaId: string;
  readonly options: TieredCacheOptions<V>;
  /** The value under `key` (fresh or stale) per the read policy, or undefined. */
  get(key: string): Promise<V | undefined>;
  /**
   * This replica's L1 value under `key` (fresh or stale), or undefined, without asking L2:
   * for a synchronous reader that calls `get` on a miss. A hit counts as an L1 hit; a miss
   * is left for that `get` to count.
   */
  peek(key: string): V | undefined;
  /** The cached value, or the loader's (one call per key at a time), written through. */
  getOrLoad(key: string, loader: Loader<V>, options?: EntryOptions): Promise<V>;
  /** Writes both tiers per the write policy and failure mode, then tells the other replicas. */
  set(key: string, value: V, options?: EntryOptions): Promise<void>;
  /**
   * Puts `value` into this replica's L1 only: no L2 write, no bus message. For a value that
   * came from the L2's own atomic path (a Lua script's result), which wrote the shared copy
   * already. Supersedes reads of `key` in flight, as a `set` does.
   */
  fill(key: string, value: V, options?: EntryOptions): void;
  /** Deletes from both tiers at once (success unless both fail); true when it existed in either. */
  delete(key: string): Promise<boolean>;
  /** Drops `key` from L1 here and on every replica; L2 keeps it. */
  invalidate(key: string): Promise<void>;
  /** Drops every L1 entry of the namespace here and on every replica; L2 keeps them. */
  invalidateAll(): Promise<void>;
  /**
   * The live L1 entries (key and value) of this replica, least recently used first, as a
   * copy: what a caller puts back when the L2 lost its data (an empty Redis restart).
   */
  entries(): [string, V][];
  /** Receives events through a queue of `queueSize` (default `eventQueueSize`). */
  subscribe(listener: CacheListener, options?: { readonly queueSize?: number }): CacheSubscription;
  /** A snapshot of the counters. */
  stats(): CacheStats;
  /** Drops expired L1 entries now; returns how many. */
  sweep(): number;
  /** Forgets every suppressed key (C6), e.g. once the L2 is known good again. */
  clearSuppressions(): void;
  /** Resolves when background work (refreshes, race-policy writes, publishes) has finished. */
  settled(): Promise<void>;
  /** Stops the sweep timer and the bus subscription. */
  close(): void;
}
