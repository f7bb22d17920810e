/**
 * The in-process first tier (behaviour.md C1): at most `maxEntries` entries, least recently
 * used evicted first, but expired entries are always reclaimed before a live one is evicted;
 * per-entry expiry, checked lazily on read, plus `sweep()` for an optional periodic pass.
 *
 * Why this shape: lru-cache gives the LRU order and eviction; expiry is kept here, in
 * absolute epoch ms from the injected Clock (the same unit L2 records use, so a refill keeps
 * the exact expiry, C4), and an expiry min-heap finds the earliest-expiring entry (the
 * earliest written on a tie) in O(log n) when the cache is full, which lru-cache's own TTL (LRU-only eviction, O(n)
 * `purgeStale`) cannot. Values are held by reference: treat cached values as immutable.
 */
import { LRUCache } from "lru-cache";
import type { Clock } from "../shared/clock.js";
import type { InvalidateReason } from "./cache-events.js";
import { ExpiryHeap } from "./expiry-heap.js";

/** Default capacity of an L1, in entries. */
export const DEFAULT_MAX_ENTRIES = 10_000;

/** What the L1 needs of an entry. Times are epoch ms; 0 means never (no staleness, no expiry). */
export interface L1Entry {
  /** After this the entry is stale (C8): still served, refreshed in the background. */
  readonly freshUntil: number;
  /** At or after this the entry is gone. */
  readonly expiresAt: number;
}

/** Told about every change; `key` undefined means every key (a clear). */
export type L1ChangeListener = (
  type: "insert" | "update" | "invalidate",
  key: string | undefined,
  reason?: InvalidateReason,
  remoteReason?: string,
) => void;

/** Options of an L1. */
export interface L1CacheOptions {
  readonly maxEntries: number;
  readonly clock: Clock;
  readonly onChange?: L1ChangeListener;
}

/** True when `entry` has expired at `now`. */
export function isExpired(entry: { readonly expiresAt: number }, now: number): boolean {
  return entry.expiresAt !== 0 && now >= entry.expiresAt;
}

/** True when `entry` is within its fresh TTL at `now` (not stale). */
export function isFresh(entry: { readonly freshUntil: number }, now: number): boolean {
  return entry.freshUntil === 0 || now < entry.freshUntil;
}

/** A capacity-bounded LRU with per-entry expiry, holding entries of type `E`; see the file header. */
export class L1Cache<E extends L1Entry> {
  private readonly lru: LRUCache<string, E>;
  private readonly expiries = new ExpiryHeap<E>();
  private readonly clock: Clock;
  private readonly onChange: L1ChangeListener | undefined;
  /** Entries dropped by LRU capacity eviction. */
  evictions = 0;
  /** Entries dropped because they expired (lazily, on reclaim, or by sweep). */
  expirations = 0;

  constructor(options: L1CacheOptions) {
    this.clock = options.clock;
    this.onChange = options.onChange;
    this.lru = new LRUCache<string, E>({
      max: options.maxEntries,
      dispose: (_value, key, reason) => {
        if (reason !== "evict") return;
        this.evictions++;
        this.onChange?.("invalidate", key, "evicted");
      },
    });
  }

  /** Entries held, including expired ones not yet reclaimed. */
  get size(): number {
    return this.lru.size;
  }

  /** The live entry under `key`, marking it most recently used; an expired one is dropped. */
  get(key: string): E | undefined {
    const entry = this.lru.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt !== 0 && this.clock.now() >= entry.expiresAt) {
      this.expire(key);
      return undefined;
    }
    return entry;
  }

  /** The live entry under `key`, without touching the LRU order. */
  peek(key: string): E | undefined {
    const entry = this.lru.peek(key);
    return entry && !isExpired(entry, this.clock.now()) ? entry : undefined;
  }

  /** Stores `entry`; when full, reclaims an expired entry before evicting the LRU one. */
  set(key: string, entry: E): "insert" | "update" {
    const existing = this.lru.peek(key);
    if (existing !== undefined && isExpired(existing, this.clock.now())) this.expire(key);
    const existed = existing !== undefined && this.lru.has(key);
    if (!existed && this.lru.size >= this.lru.max) this.reclaimOneExpired();
    this.lru.set(key, entry);
    if (entry.expiresAt !== 0) {
      this.expiries.push({ expiresAt: entry.expiresAt, key, token: entry });
      if (this.expiries.size > 2 * this.lru.size + 64) this.compact();
    }
    const type = existed ? "update" : "insert";
    this.onChange?.(type, key);
    return type;
  }

  /** Removes `key`; true when a live entry was there. */
  delete(key: string, reason: InvalidateReason = "manual", remoteReason?: string): boolean {
    const entry = this.lru.peek(key);
    if (entry === undefined) return false;
    this.lru.delete(key);
    const live = !isExpired(entry, this.clock.now());
    if (!live) this.expirations++;
    this.onChange?.("invalidate", key, live ? reason : "expired", live ? remoteReason : undefined);
    return live;
  }

  /** Removes every entry (one event with no key); returns how many there were. */
  clear(reason: InvalidateReason = "manual", remoteReason?: string): number {
    const count = this.lru.size;
    this.lru.clear();
    this.expiries.clear();
    this.onChange?.("invalidate", undefined, reason, remoteReason);
    return count;
  }

  /** Drops every expired entry; returns how many. Cost O(k log n) for k expired entries. */
  sweep(): number {
    const now = this.clock.now();
    let dropped = 0;
    for (;;) {
      const top = this.expiries.peek();
      if (top === undefined || top.expiresAt > now) return dropped;
      this.expiries.pop();
      if (this.lru.peek(top.key) === top.token) {
        this.expire(top.key);
        dropped++;
      }
    }
  }

  /** Live entries, least recently used first, without touching the LRU order. */
  *liveEntries(): IterableIterator<[string, E]> {
    const now = this.clock.now();
    for (const key of this.lru.rkeys()) {
      const entry = this.lru.peek(key);
      if (entry !== undefined && !isExpired(entry, now)) yield [key, entry];
    }
  }

  /** Keys from least to most recently used (for tests and diagnostics). */
  keysLeastRecentFirst(): string[] {
    return [...this.lru.rkeys()];
  }

  private reclaimOneExpired(): void {
    const now = this.clock.now();
    for (;;) {
      const top = this.expiries.peek();
      if (top === undefined) return;
      const live = this.lru.peek(top.key) === top.token;
      if (live && top.expiresAt > now) return;
      this.expiries.pop();
      if (live) {
        this.expire(top.key);
        return;
      }
    }
  }

  private expire(key: string): void {
    this.lru.delete(key);
    this.expirations++;
    this.onChange?.("invalidate", key, "expired");
  }

  private compact(): void {
    this.expiries.compact((node) => this.lru.peek(node.key) === node.token);
  }
}
