/**
 * The tiered caches of the shared state on Redis, one per kind, as `state.<kind>` says
 * (docs/state.md). They share one invalidation bus; its owner closes it.
 */
import type { InvalidationBus } from "../cache/ports.js";
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

/** Negative-availability facts: L1 per replica, Redis as L2 (`state.negative`). */
export function negativeFactsOn(
  redis: RedisClient,
  bus: InvalidationBus,
  config: FulcrumConfig,
  clock: Clock,
  logger: Logger,
) {
  const settings = config.state.negative;
  return createTieredCache<NegativeRecord>({
    namespace: "negative",
    name: "state.negative",
    l2: new RedisL2Store({ client: redis, keyPrefix: `${config.redis.prefix}:`, clock }),
    bus,
    clock,
    logger,
    maxEntries: settings.l1MaxEntries,
    readPolicy: settings.readPolicy,
    writePolicy: settings.writePolicy,
    refill: settings.refill,
    failureMode: failureModeOf(settings),
  });
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
  const settings = config.state.quotaView;
  return createTieredCache<QuotaStatus>({
    namespace: "quotaView",
    name: "state.quotaView",
    l2: new RedisQuotaViewL2({ limiter, limitsOf, clock, ttlMs: settings.l1TtlMs }),
    bus,
    clock,
    logger,
    maxEntries: settings.l1MaxEntries,
    defaultTtlMs: settings.l1TtlMs,
    readPolicy: settings.readPolicy,
    refill: settings.refill,
    failureMode: failureModeOf(settings),
  });
}
