/**
 * Negative availability (behaviour.md P8): a Report with result NOT_FOUND and a
 * resource_key says "this backend lacks this key" (an NNTP article one spool does not
 * have). For the service's negative_ttl after that, a Select carrying the same
 * resource_key skips that backend. It is a filter of its own, separate from the Select's
 * `exclude` list and from health (H3: NOT_FOUND touches neither health nor quota).
 *
 * Facts live in one table per process (they are hints, not shared state), bounded by
 * `maxFacts` with least-recently-used eviction in O(1) (a report or a hit makes a fact
 * recent). Expiry is on the injected Clock: lazy on read, where an expired fact is dropped,
 * plus `purgeExpired()` for a caller's timer. Losing a fact early (eviction, restart)
 * costs one more NOT_FOUND round trip, nothing else.
 */
import { type Clock, systemClock } from "../shared/clock.js";

/** Options of a NegativeAvailability table. */
export interface NegativeAvailabilityOptions {
  readonly clock: Clock;
  /** The most facts held at once; the least recently used goes first. Integer >= 1. */
  readonly maxFacts: number;
}

/** Default bound of the negative availability table, in facts. */
export const DEFAULT_NEGATIVE_MAX_FACTS = 100_000;

const SEP = "\u0000";

/** The negative availability table; see the file header. */
export class NegativeAvailability {
  private readonly clock: Clock;
  private readonly maxFacts: number;
  /** Key → expiry (epoch ms), in least-recently-used-first order. */
  private readonly facts = new Map<string, number>();

  constructor(options: Partial<NegativeAvailabilityOptions> = {}) {
    this.clock = options.clock ?? systemClock;
    this.maxFacts = options.maxFacts ?? DEFAULT_NEGATIVE_MAX_FACTS;
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
    const key = factKey(service, resourceKey, backendId);
    this.facts.delete(key);
    this.facts.set(key, this.clock.now() + ttlMs);
    if (this.facts.size > this.maxFacts) this.evictOldest();
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

function factKey(service: string, resourceKey: string, backendId: string): string {
  return `${service}${SEP}${resourceKey}${SEP}${backendId}`;
}
