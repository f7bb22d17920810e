/**
 * The tiered caches of the shared state on Redis, one per kind, as `state.<kind>` says
 * (docs/state.md). They share one invalidation bus; its owner closes it.
 */
import type { TieredCacheOptions } from "../cache/cache-options.js";
import type { InvalidationBus, L2Store } from "../cache/ports.js";
import { createTieredCache } from "../cache/tiered-cache.js";
import type { FulcrumConfig } from "../config/schema.js";
import { failureModeOf } from "../config/state-schema.js";
import type { Logger } from "../observability/logger.js";
import type { QuotaStatus } from "../quota/quota-status.js";
import { type CachedPin, CachedPinStore } from "../sessions/cached-pin-store.js";
import type { NegativeRecord } from "../sessions/negative-availability.js";
import type { Clock } from "../shared/clock.js";
import type { RedisClient } from "../store/redis/redis-client.js";
import { RedisL2Store } from "../store/redis/redis-l2-store.js";
import { RedisPinStore } from "../store/redis/redis-pin-store.js";
import type { RedisQuotaLimiter } from "../store/redis/redis-quota-limiter.js";
import { type QuotaLimitsOf, RedisQuotaViewL2 } from "../store/redis/redis-quota-view-l2.js";

/**
 * The tiered-cache namespace of session pins (L1 per replica, invalidated over the bus). It
 * is not flushed when the bus re-subscribes: the L1 pins are what the replica puts back
 * after an empty Redis restart (pin-recovery.ts); they ask the store again instead.
 */
const PIN_CACHE_NAMESPACE = "pins";

/** Session pins: the Redis PinStore behind an L1 per replica, as `state.pins` says. */
export function pinStateOn(
  redis: RedisClient,
  bus: InvalidationBus,
  config: FulcrumConfig,
  clock: Clock,
  logger: Logger,
) {
  const settings = config.state.pins;
  const cache = createTieredCache<CachedPin>({
    namespace: PIN_CACHE_NAMESPACE,
    name: "state.pins",
    bus,
    clock,
    maxEntries: settings.l1MaxEntries,
    logger,
  });
  const store = new CachedPinStore({
    store: new RedisPinStore({ client: redis, prefix: config.redis.prefix }),
    cache,
    clock,
    failureMode: failureModeOf(settings),
    l1TtlMs: settings.l1TtlMs,
  });
  return { store, cache };
}

/** What every kind read through the tiered cache is built from, besides its settings. */
interface CacheParts {
  readonly l2: L2Store;
  readonly bus: InvalidationBus;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** The tiered cache of `state.<kind>`: namespace `kind`, its L1 capacity, read policy, refill, failure mode. */
function stateCache<V>(
  kind: "negative" | "quotaView",
  parts: CacheParts,
  extra: Partial<TieredCacheOptions<V>>,
  config: FulcrumConfig,
) {
  const settings = config.state[kind];
  return createTieredCache<V>({
    namespace: kind,
    name: `state.${kind}`,
    ...parts,
    maxEntries: settings.l1MaxEntries,
    readPolicy: settings.readPolicy,
    refill: settings.refill,
    failureMode: failureModeOf(settings),
    ...extra,
  });
}

/** Negative-availability facts: L1 per replica, Redis as L2 (`state.negative`). */
export function negativeFactsOn(
  redis: RedisClient,
  bus: InvalidationBus,
  config: FulcrumConfig,
  clock: Clock,
  logger: Logger,
) {
  const l2 = new RedisL2Store({ client: redis, keyPrefix: `${config.redis.prefix}:`, clock });
  const writePolicy = config.state.negative.writePolicy;
  return stateCache<NegativeRecord>("negative", { l2, bus, clock, logger }, { writePolicy }, config);
}

/**
 * The quota view (`state.quotaView`): L1 per replica, the quota keys on Redis as L2, read
 * under the limits `limitsOf` gives (the service table's, known once the core is built).
 */
export function quotaViewOn(
  limiter: RedisQuotaLimiter,
  limitsOf: QuotaLimitsOf,
  bus: InvalidationBus,
  config: FulcrumConfig,
  clock: Clock,
  logger: Logger,
) {
  const ttlMs = config.state.quotaView.l1TtlMs;
  const l2 = new RedisQuotaViewL2({ limiter, limitsOf, clock, ttlMs });
  return stateCache<QuotaStatus>("quotaView", { l2, bus, clock, logger }, { defaultTtlMs: ttlMs }, config);
}
