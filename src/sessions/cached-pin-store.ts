/**
 * Session pins behind the tiered cache (behaviour.md C1-C9 applied to P4, P7): the shared
 * PinStore (Redis) stays the truth, and an in-process L1 remembers each pin this replica
 * made or used, for as long as the pin lives (its idle TTL), so a pinned session's Selects
 * need no Redis round trip. The L1 answers alone for `l1TtlMs` (default a quarter of the
 * idle TTL) after the store last refreshed the pin; later the store is asked again, which
 * both refreshes the idle TTL in the store and heals a lost invalidation. Pins set or ended
 * on one replica invalidate the others' L1 over the cache's bus; `revalidate()` (after the
 * bus or the store reconnects, when invalidations may have been missed) makes every L1 pin
 * ask the store once before it answers alone again.
 *
 * Why the L1 keeps pins for their whole life: they are this replica's record of what it
 * acknowledged. When the store comes back empty (`reseed()`, a Redis restarted without its
 * data) every replica puts its L1 pins back through the store's own compare-and-set `pin`
 * (no capacity limit: they were admitted once), so a pin another replica put back first wins
 * and all replicas agree; replicas without the pin read it back from the store.
 *
 * When the store fails (after the tries of failure mode `retry`): under `error` the failure
 * reaches the caller (new pins UNAVAILABLE; the L1 still answers alone while it may); under
 * `l1Only` and `retry` the replica keeps pinning on its own: a touch answers from the L1
 * (whatever its age), a new pin is made in the L1 only (no capacity check: the counts are in
 * the store) and marked unsynced, an end drops the L1 pin; unsynced pins are put back
 * (compare-and-set, the first one back wins) as soon as the store answers again.
 * Sessions without a pin are not cached: the next stateful command must see a pin another
 * replica just made.
 */
import type { FailureMode } from "../cache/failure-mode.js";
import { runWithRetry } from "../cache/failure-mode.js";
import type { TieredCache } from "../cache/tiered-cache-api.js";
import type { Clock } from "../shared/clock.js";
import { type Random, systemRandom } from "../shared/random.js";
import type { PinResult, PinStore, SessionPin } from "./pin-store.js";

/** Share of the idle TTL between two store refreshes of a pin in use (the default `l1TtlMs`). */
export const TOUCH_SHARE_OF_IDLE_TTL = 0.25;
/** Pins put back at once by `reseed` (concurrent store calls). */
const RESEED_BATCH = 64;

/** What the L1 holds per session. */
export interface CachedPin {
  readonly service: string;
  readonly sessionId: string;
  readonly pin: SessionPin;
  /** Epoch ms the store last refreshed the pin's idle TTL (or the local pin was made). */
  readonly touchedAt: number;
  readonly idleTtlMs: number;
  /** The store generation it was confirmed in; an older one must ask the store first. */
  readonly generation: number;
  /** Made in the L1 only while the store failed (failure mode l1Only or retry). */
  readonly unsynced?: boolean;
}

/** Options of a CachedPinStore. */
export interface CachedPinStoreOptions {
  readonly store: PinStore;
  readonly cache: TieredCache<CachedPin>;
  readonly clock: Clock;
  /** What a store failure does (see the file header); default `error`. */
  readonly failureMode?: FailureMode;
  /** Retry jitter. */
  readonly random?: Random;
  /** How long the L1 answers alone; 0 or unset: a quarter of the idle TTL. */
  readonly l1TtlMs?: number;
}

/** Store calls and their outcomes, for /metrics (the pins' L2 is the store). */
export interface PinStoreCounters {
  l2Hits: number;
  l2Misses: number;
  l2Errors: number;
  l2Retries: number;
  localPins: number;
  reseeded: number;
}

function keyOf(service: string, sessionId: string): string {
  return `{p:${service}}:${sessionId}`;
}

/** A PinStore with an L1 in front of the shared one. */
export class CachedPinStore implements PinStore {
  /** Counters since start. */
  readonly counters: PinStoreCounters = {
    l2Hits: 0,
    l2Misses: 0,
    l2Errors: 0,
    l2Retries: 0,
    localPins: 0,
    reseeded: 0,
  };
  private generation = 0;
  private readonly mode: FailureMode;

  constructor(private readonly options: CachedPinStoreOptions) {
    this.mode = options.failureMode ?? { kind: "error" };
  }

  async get(service: string, sessionId: string): Promise<SessionPin | undefined> {
    const cached = await this.options.cache.get(keyOf(service, sessionId));
    if (cached && this.answersAlone(cached)) return cached.pin;
    const pin = await this.call(() => this.options.store.get(service, sessionId), cached?.pin);
    return pin;
  }

  async pin(
    service: string,
    sessionId: string,
    backendId: string,
    idleTtlMs: number,
    maxPinsPerBackend: number,
    replacing?: string,
  ): Promise<PinResult> {
    const local = { kind: "local" } as const;
    const result = await this.call<PinResult | typeof local>(
      () => this.options.store.pin(service, sessionId, backendId, idleTtlMs, maxPinsPerBackend, replacing),
      local,
    );
    if (result.kind === "local") {
      this.counters.localPins++;
      await this.remember(service, sessionId, backendId, idleTtlMs, { unsynced: true });
      return { kind: "pinned", backendId, previousBackendId: replacing };
    }
    if (result.kind === "capacity") await this.options.cache.delete(keyOf(service, sessionId));
    else await this.remember(service, sessionId, result.backendId, idleTtlMs);
    return result;
  }

  async touch(service: string, sessionId: string, idleTtlMs: number): Promise<SessionPin | undefined> {
    const key = keyOf(service, sessionId);
    const cached = await this.options.cache.get(key);
    if (cached && this.answersAlone(cached)) return cached.pin;
    const fallback = { kind: "fallback" } as const;
    const pin = await this.call<SessionPin | undefined | typeof fallback>(
      () => this.options.store.touch(service, sessionId, idleTtlMs),
      fallback,
    );
    if (pin !== undefined && "kind" in pin) return cached?.pin;
    if (pin) this.counters.l2Hits++;
    else this.counters.l2Misses++;
    if (pin) await this.remember(service, sessionId, pin.backendId, idleTtlMs);
    else if (cached?.unsynced) {
      const putBack = await this.putBack(cached);
      return putBack && putBack.kind !== "capacity" ? { backendId: putBack.backendId } : undefined;
    } else if (cached) await this.options.cache.delete(key);
    return pin;
  }

  async end(service: string, sessionId: string): Promise<string | undefined> {
    const key = keyOf(service, sessionId);
    const cached = await this.options.cache.get(key);
    const released = await this.call(() => this.options.store.end(service, sessionId), cached?.pin.backendId);
    await this.options.cache.delete(key);
    return released;
  }

  countByBackend(service: string): Promise<ReadonlyMap<string, number>> {
    return this.call(() => this.options.store.countByBackend(service), new Map<string, number>());
  }

  releaseBackend(service: string, backendId: string): Promise<number> {
    return this.call(() => this.options.store.releaseBackend(service, backendId), 0);
  }

  /** Invalidations may have been missed: every L1 pin asks the store once before answering alone. */
  revalidate(): void {
    this.generation++;
  }

  /**
   * Puts L1 pins back into the store, unless the session has a pin there already (then the
   * L1 takes that one), with the idle TTL they had left: every one after the store came back
   * empty (`all`), else those made while it failed. Returns how many were put back. Rejects
   * on a store failure (call it again once the store is back; pins already put back stay).
   */
  async reseed(all: boolean): Promise<number> {
    this.revalidate();
    const pins = this.options.cache
      .entries()
      .map(([, cached]) => cached)
      .filter((cached) => all || cached.unsynced);
    let restored = 0;
    for (let i = 0; i < pins.length; i += RESEED_BATCH) {
      const batch = pins.slice(i, i + RESEED_BATCH).map((cached) => this.putBack(cached));
      for (const putBack of await Promise.all(batch)) if (putBack?.kind === "pinned") restored++;
    }
    this.counters.reseeded += restored;
    return restored;
  }

  /** Puts one L1 pin back (compare-and-set) and makes the L1 follow what the store kept. */
  private async putBack(cached: CachedPin): Promise<PinResult | undefined> {
    const leftMs = Math.floor(cached.touchedAt + cached.idleTtlMs - this.options.clock.now());
    if (leftMs < 1) return undefined;
    const { service, sessionId } = cached;
    const result = await this.options.store.pin(
      service,
      sessionId,
      cached.pin.backendId,
      leftMs,
      Number.POSITIVE_INFINITY,
    );
    if (result.kind === "capacity") return result;
    await this.remember(service, sessionId, result.backendId, cached.idleTtlMs, {
      touchedAt: cached.touchedAt,
    });
    return result;
  }

  /**
   * Runs a store call under the failure mode: `error` lets its failure through; `retry`
   * tries again, then answers `fallback` like `l1Only` does.
   */
  private async call<T>(work: () => Promise<T>, fallback: T): Promise<T> {
    if (this.mode.kind === "error") {
      try {
        return await work();
      } catch (error) {
        this.counters.l2Errors++;
        throw error;
      }
    }
    try {
      return await runWithRetry(work, {
        mode: this.mode,
        clock: this.options.clock,
        random: this.options.random ?? systemRandom,
        onFailure: (_error, _attempt, willRetry) => {
          if (willRetry) this.counters.l2Retries++;
        },
      });
    } catch {
      this.counters.l2Errors++;
      return fallback;
    }
  }

  private answersAlone(cached: CachedPin): boolean {
    if (cached.generation !== this.generation && !cached.unsynced) return false;
    const aloneMs = this.options.l1TtlMs || cached.idleTtlMs * TOUCH_SHARE_OF_IDLE_TTL;
    return this.options.clock.now() - cached.touchedAt < aloneMs;
  }

  private remember(
    service: string,
    sessionId: string,
    backendId: string,
    idleTtlMs: number,
    extra: { touchedAt?: number; unsynced?: boolean } = {},
  ): Promise<void> {
    const touchedAt = extra.touchedAt ?? this.options.clock.now();
    const ttlMs = Math.max(1, Math.floor(touchedAt + idleTtlMs - this.options.clock.now()));
    const cached: CachedPin = {
      service,
      sessionId,
      pin: { backendId },
      touchedAt,
      idleTtlMs,
      generation: this.generation,
      ...(extra.unsynced && { unsynced: true }),
    };
    return this.options.cache.set(keyOf(service, sessionId), cached, { ttlMs });
  }
}
