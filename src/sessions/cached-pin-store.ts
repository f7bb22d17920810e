/**
 * Session pins behind the tiered cache (behaviour.md C1-C9 applied to P4, P7): the shared
 * PinStore (Redis) stays the truth, and an in-process L1 remembers each pin this replica
 * made or used, for as long as the pin lives (its idle TTL), so a pinned session's Selects
 * need no Redis round trip. The L1 answers alone for `touchEveryMs` (a fraction of the idle
 * TTL) after the store last refreshed the pin; later the store is asked again, which both
 * refreshes the idle TTL in the store and heals a lost invalidation. Pins set or ended on one
 * replica invalidate the others' L1 over the cache's bus; `revalidate()` (after the bus or the
 * store reconnects, when invalidations may have been missed) makes every L1 pin ask the store
 * once before it answers alone again.
 *
 * Why the L1 keeps pins for their whole life: they are this replica's record of what it
 * acknowledged. When the store comes back empty (`reseed()`, a Redis restarted without its
 * data) every replica puts its L1 pins back through the store's own compare-and-set `pin`
 * (no capacity limit: they were admitted once), so a pin another replica put back first wins
 * and all replicas agree; replicas without the pin read it back from the store.
 * Sessions without a pin are not cached: the next stateful command must see a pin another
 * replica just made.
 */
import type { TieredCache } from "../cache/tiered-cache-api.js";
import type { Clock } from "../shared/clock.js";
import type { PinResult, PinStore, SessionPin } from "./pin-store.js";

/** Share of the idle TTL between two store refreshes of a pin in use. */
export const TOUCH_SHARE_OF_IDLE_TTL = 0.25;
/** Pins put back at once by `reseed` (concurrent store calls). */
const RESEED_BATCH = 64;

/** What the L1 holds per session. */
export interface CachedPin {
  readonly service: string;
  readonly sessionId: string;
  readonly pin: SessionPin;
  /** Epoch ms the store last refreshed the pin's idle TTL. */
  readonly touchedAt: number;
  readonly idleTtlMs: number;
  /** The store generation it was confirmed in; an older one must ask the store first. */
  readonly generation: number;
}

/** Options of a CachedPinStore. */
export interface CachedPinStoreOptions {
  readonly store: PinStore;
  readonly cache: TieredCache<CachedPin>;
  readonly clock: Clock;
}

function keyOf(service: string, sessionId: string): string {
  return `{p:${service}}:${sessionId}`;
}

/** A PinStore with an L1 in front of the shared one. */
export class CachedPinStore implements PinStore {
  private generation = 0;

  constructor(private readonly options: CachedPinStoreOptions) {}

  async get(service: string, sessionId: string): Promise<SessionPin | undefined> {
    const cached = await this.options.cache.get(keyOf(service, sessionId));
    if (cached && this.answersAlone(cached)) return cached.pin;
    return this.options.store.get(service, sessionId);
  }

  async pin(
    service: string,
    sessionId: string,
    backendId: string,
    idleTtlMs: number,
    maxPinsPerBackend: number,
    replacing?: string,
  ): Promise<PinResult> {
    const result = await this.options.store.pin(
      service,
      sessionId,
      backendId,
      idleTtlMs,
      maxPinsPerBackend,
      replacing,
    );
    if (result.kind === "capacity") await this.options.cache.delete(keyOf(service, sessionId));
    else await this.remember(service, sessionId, result.backendId, idleTtlMs);
    return result;
  }

  async touch(service: string, sessionId: string, idleTtlMs: number): Promise<SessionPin | undefined> {
    const key = keyOf(service, sessionId);
    const cached = await this.options.cache.get(key);
    if (cached && this.answersAlone(cached)) return cached.pin;
    const pin = await this.options.store.touch(service, sessionId, idleTtlMs);
    if (pin) await this.remember(service, sessionId, pin.backendId, idleTtlMs);
    else if (cached) await this.options.cache.delete(key);
    return pin;
  }

  async end(service: string, sessionId: string): Promise<string | undefined> {
    const released = await this.options.store.end(service, sessionId);
    await this.options.cache.delete(keyOf(service, sessionId));
    return released;
  }

  countByBackend(service: string): Promise<ReadonlyMap<string, number>> {
    return this.options.store.countByBackend(service);
  }

  releaseBackend(service: string, backendId: string): Promise<number> {
    return this.options.store.releaseBackend(service, backendId);
  }

  /** Invalidations may have been missed: every L1 pin asks the store once before answering alone. */
  revalidate(): void {
    this.generation++;
  }

  /**
   * The store lost its pins (restarted empty): puts every live L1 pin back, unless the
   * session has a pin there already (then the L1 takes that one), with the idle TTL it had
   * left. Returns how many pins were put back. Rejects on a store failure (call it again
   * once the store is back; pins already put back stay).
   */
  async reseed(): Promise<number> {
    this.revalidate();
    const pins = this.options.cache.entries().map(([, cached]) => cached);
    let restored = 0;
    for (let i = 0; i < pins.length; i += RESEED_BATCH) {
      const batch = pins.slice(i, i + RESEED_BATCH).map((cached) => this.putBack(cached));
      for (const putBack of await Promise.all(batch)) if (putBack) restored++;
    }
    return restored;
  }

  private async putBack(cached: CachedPin): Promise<boolean> {
    const leftMs = Math.floor(cached.touchedAt + cached.idleTtlMs - this.options.clock.now());
    if (leftMs < 1) return false;
    const { service, sessionId } = cached;
    const result = await this.options.store.pin(
      service,
      sessionId,
      cached.pin.backendId,
      leftMs,
      Number.POSITIVE_INFINITY,
    );
    if (result.kind === "capacity") return false;
    await this.remember(service, sessionId, result.backendId, cached.idleTtlMs, cached.touchedAt);
    return result.kind === "pinned";
  }

  private answersAlone(cached: CachedPin): boolean {
    if (cached.generation !== this.generation) return false;
    return this.options.clock.now() - cached.touchedAt < cached.idleTtlMs * TOUCH_SHARE_OF_IDLE_TTL;
  }

  private remember(
    service: string,
    sessionId: string,
    backendId: string,
    idleTtlMs: number,
    touchedAt = this.options.clock.now(),
  ): Promise<void> {
    const ttlMs = Math.max(1, Math.floor(touchedAt + idleTtlMs - this.options.clock.now()));
    const cached: CachedPin = {
      service,
      sessionId,
      pin: { backendId },
      touchedAt,
      idleTtlMs,
      generation: this.generation,
    };
    return this.options.cache.set(keyOf(service, sessionId), cached, { ttlMs });
  }
}
