/**
 * Session pins behind the tiered cache (behaviour.md C1-C9 applied to P4, P7): the shared
 * PinStore (Redis) stays the truth, and an in-process L1 remembers each session's pin so a
 * pinned session's Selects need no Redis round trip. The idle TTL is refreshed in the store
 * at most every `touchEveryMs` (a fraction of the idle TTL, so a pin in use never lapses);
 * pins set or ended on one replica invalidate the others' L1 over the cache's bus, and L1
 * entries live no longer than `touchEveryMs`, so a lost invalidation is healed by then.
 * Sessions without a pin are not cached: the next stateful command must see a pin another
 * replica just made.
 */
import type { TieredCache } from "../cache/tiered-cache-api.js";
import type { Clock } from "../shared/clock.js";
import type { PinResult, PinStore, SessionPin } from "./pin-store.js";

/** Share of the idle TTL between two store refreshes of a pin in use. */
export const TOUCH_SHARE_OF_IDLE_TTL = 0.25;

/** What the L1 holds per session. */
export interface CachedPin {
  readonly pin: SessionPin;
  /** Epoch ms the store last refreshed the pin's idle TTL. */
  readonly touchedAt: number;
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
  constructor(private readonly options: CachedPinStoreOptions) {}

  async get(service: string, sessionId: string): Promise<SessionPin | undefined> {
    const cached = await this.options.cache.get(keyOf(service, sessionId));
    return cached?.pin ?? this.options.store.get(service, sessionId);
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
    const key = keyOf(service, sessionId);
    if (result.kind === "pinned") await this.remember(key, { backendId }, idleTtlMs);
    else await this.options.cache.delete(key);
    return result;
  }

  async touch(service: string, sessionId: string, idleTtlMs: number): Promise<SessionPin | undefined> {
    const key = keyOf(service, sessionId);
    const cached = await this.options.cache.get(key);
    const now = this.options.clock.now();
    if (cached && now - cached.touchedAt < idleTtlMs * TOUCH_SHARE_OF_IDLE_TTL) return cached.pin;
    const pin = await this.options.store.touch(service, sessionId, idleTtlMs);
    if (pin) await this.remember(key, pin, idleTtlMs);
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

  private remember(key: string, pin: SessionPin, idleTtlMs: number): Promise<void> {
    const ttlMs = Math.max(1, Math.floor(idleTtlMs * TOUCH_SHARE_OF_IDLE_TTL));
    return this.options.cache.set(key, { pin, touchedAt: this.options.clock.now() }, { ttlMs });
  }
}
