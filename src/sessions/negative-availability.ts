/**
 * Negative availability (behaviour.md P8): a Report with result NOT_FOUND and a
 * resource_key says "this backend lacks this key" (an NNTP article one spool does not
 * have). For the service's negative_ttl after that, a Select carrying the same
 * resource_key skips that backend. It is a filter of its own, separate from the Select's
 * `exclude` list and from health (H3: NOT_FOUND touches neither health nor quota).
 *
 * Facts live in one table per process, bounded by `maxFacts` with least-recently-used
 * eviction in O(1) (a report or a hit makes a fact recent). Expiry is on the injected Clock:
 * lazy on read, where an expired fact is dropped, plus `purgeExpired()` for a caller's timer.
 * Losing a fact early (eviction, restart) costs one more NOT_FOUND round trip, nothing else.
 *
 * With a `shared` tiered cache (Redis as L2, docs/state.md) the replicas share facts: a report
 * is written through it as one record per (service, resource key) holding each backend's
 * expiry, and `skipperFor` first reads that record (its L1 copy, else Redis) into the table.
 * Two replicas reporting the same key at once may keep only one of their facts (last write
 * wins): a lost fact costs one more NOT_FOUND, as above. Read failures follow the cache's
 * failure mode (`error`: `skipperFor` rejects); write failures never fail a Report.
 */
import type { TieredCache } from "../cache/tiered-cache-api.js";
import { type Clock, systemClock } from "../shared/clock.js";

/** Options of a NegativeAvailability table. */
export interface NegativeAvailabilityOptions {
  readonly clock: Clock;
  /** The most facts held at once; the least recently used goes first. Integer >= 1. */
  readonly maxFacts: number;
  /** Facts shared with the other replicas; undefined keeps them in this process. */
  readonly shared?: TieredCache<NegativeRecord>;
  /** Told when writing a fact to `shared` failed (it stays local). */
  readonly onShareError?: (error: unknown) => void;
}

/** One shared record: backend id -> epoch ms its fact about the resource key expires. */
export type NegativeRecord = Readonly<Record<string, number>>;

/** Default bound of the negative availability table, in facts. */
export const DEFAULT_NEGATIVE_MAX_FACTS = 100_000;

const SEP = "\u0000";

/** The negative availability table; see the file header. */
export class NegativeAvailability {
  private readonly clock: Clock;
  private readonly maxFacts: number;
  private readonly shared: TieredCache<NegativeRecord> | undefined;
  private readonly onShareError: (error: unknown) => void;
  /** Key → expiry (epoch ms), in least-recently-used-first order. */
  private readonly facts = new Map<string, number>();

  constructor(options: Partial<NegativeAvailabilityOptions> = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxFacts = options.maxFacts ?? DEFAULT_NEGATIVE_MAX_FACTS;
    this.shared = options.shared;
    this.onShareError = options.onShareError ?? (() => {});
    if (!Number.isInteger(this.maxFacts) || this.maxFacts < 1) {
      throw new RangeError(`negativeAvailability.maxFacts: must be an integer >= 1, got ${this.maxFacts}`);
    }
  }

  /** Facts held, including expired ones not yet read. */
  get size(): number {
    return this.facts.size;
  }

  /**
   * Records that `backendId` of `service` lacks `resourceKey` for `ttlMs` from now (the
   * service's negative_ttl). A repeated report extends the fact. No-op for an empty key or
   * a ttl <= 0.
   */
  report(service: string, backendId: string, resourceKey: string, ttlMs: number): void {
    if (resourceKey === "" || !(ttlMs > 0)) return;
    const expiresAt = this.clock.now() + ttlMs;
    this.record(factKey(service, resourceKey, backendId), expiresAt);
    if (this.shared) this.share(service, resourceKey, backendId, expiresAt).catch(this.onShareError);
  }

  /**
   * `skipper`, after reading the facts other replicas shared for `resourceKey` (when facts
   * are shared). Rejects only when that read fails under failure mode `error`.
   */
  async skipperFor(service: string, resourceKey: string): Promise<(backendId: string) => boolean> {
    if (this.shared && resourceKey !== "") {
      const record = await this.shared.get(sharedKey(service, resourceKey));
      for (const [backendId, expiresAt] of Object.entries(record ?? {}))
        this.record(factKey(service, resourceKey, backendId), expiresAt);
    }
    return this.skipper(service, resourceKey);
  }

  /** True while a fact says `backendId` lacks `resourceKey`; always false for an empty key. */
  lacks(service: string, backendId: string, resourceKey: string): boolean {
    if (resourceKey === "") return false;
    return this.hit(factKey(service, resourceKey, backendId));
  }

  /**
   * A predicate for Select's candidate filter: true for the backends to skip for
   * `resourceKey` (those with a live fact). For an empty key it skips nothing.
   */
  skipper(service: string, resourceKey: string): (backendId: string) => boolean {
    if (resourceKey === "") return () => false;
    const prefix = `${service}${SEP}${resourceKey}${SEP}`;
    return (backendId) => this.hit(prefix + backendId);
  }

  /** Drops the fact for one backend and key (e.g. the backend reported success for it). */
  forget(service: string, backendId: string, resourceKey: string): void {
    this.facts.delete(factKey(service, resourceKey, backendId));
  }

  /** Drops every fact of `service`, or of one of its backends (removed, re-registered). O(facts). */
  forgetBackend(service: string, backendId?: string): void {
    const prefix = `${service}${SEP}`;
    const suffix = backendId === undefined ? undefined : `${SEP}${backendId}`;
    for (const key of this.facts.keys()) {
      if (!key.startsWith(prefix)) continue;
      if (suffix === undefined || key.endsWith(suffix)) this.facts.delete(key);
    }
  }

  /** Drops every expired fact; O(facts). Returns how many went. */
  purgeExpired(): number {
    const now = this.clock.now();
    let dropped = 0;
    for (const [key, expiresAt] of this.facts) {
      if (now < expiresAt) continue;
      this.facts.delete(key);
      dropped++;
    }
    return dropped;
  }

  /** Keeps the later of the known and the given expiry. */
  private record(key: string, expiresAt: number): void {
    const known = this.facts.get(key) ?? 0;
    if (expiresAt <= this.clock.now()) return;
    this.facts.delete(key);
    this.facts.set(key, Math.max(known, expiresAt));
    if (this.facts.size > this.maxFacts) this.evictOldest();
  }

  /** Merges one fact into the shared record of its resource key. */
  private async share(service: string, resourceKey: string, backendId: string, expiresAt: number) {
    const shared = this.shared!;
    const key = sharedKey(service, resourceKey);
    const now = this.clock.now();
    const live = Object.entries((await shared.get(key).catch(() => undefined)) ?? {}).filter(
      ([, until]) => until > now,
    );
    const next: Record<string, number> = Object.fromEntries(live);
    next[backendId] = Math.max(next[backendId] ?? 0, expiresAt);
    const ttlMs = Math.max(...Object.values(next)) - now;
    await shared.set(key, next, { ttlMs });
  }

  private hit(key: string): boolean {
    const expiresAt = this.facts.get(key);
    if (expiresAt === undefined) return false;
    this.facts.delete(key);
    if (this.clock.now() >= expiresAt) return false;
    this.facts.set(key, expiresAt);
    return true;
  }

  private evictOldest(): void {
    for (const key of this.facts.keys()) {
      if (this.facts.size <= this.maxFacts) return;
      this.facts.delete(key);
    }
  }
}

/** The shared record's cache key: one hash tag per service (Redis Cluster, C13). */
function sharedKey(service: string, resourceKey: string): string {
  return `{n:${service}}:${resourceKey}`;
}

function factKey(service: string, resourceKey: string, backendId: string): string {
  return `${service}${SEP}${resourceKey}${SEP}${backendId}`;
}
