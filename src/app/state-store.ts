import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import type { LoadBus } from "../balancer/load-share.js";
import { LOCAL_ONLY_RELAY, type TicketRelay } from "../balancer/ticket-relay.js";
import { createTieredCache } from "../cache/tiered-cache.js";
import { ConfigError } from "../config/load-config.js";
import { redactUrl } from "../config/redact.js";
import type { FulcrumConfig } from "../config/schema.js";
import { failureModeOf } from "../config/state-schema.js";
import type { Logger } from "../observability/logger.js";
import { FailoverQuotaLimiter } from "../quota/failover-quota-limiter.js";
import type { QuotaLimiter } from "../quota/quota-limiter.js";
import type { RegistryLog } from "../registry/registry-log.js";
import { type CachedPin, CachedPinStore } from "../sessions/cached-pin-store.js";
import type { PinStore } from "../sessions/pin-store.js";
import type { Clock } from "../shared/clock.js";
import { MemoryPinStore } from "../store/memory/memory-pin-store.js";
import { MemoryQuotaLimiter } from "../store/memory/memory-quota-limiter.js";
import { MemoryRegistryLog } from "../store/memory/memory-registry-log.js";
import { RedisBus } from "../store/redis/redis-bus.js";
import {
  connectRedis,
  parseClusterNodes,
  type RedisClient,
  RedisConnectError,
  type RedisTarget,
} from "../store/redis/redis-client.js";
import { RedisLoadBus } from "../store/redis/redis-load-bus.js";
import { RedisPinStore } from "../store/redis/redis-pin-store.js";
import { RedisQuotaLimiter } from "../store/redis/redis-quota-limiter.js";
import { RedisRegistryLog } from "../store/redis/redis-registry-log.js";
import { RedisTicketRelay } from "../store/redis/redis-ticket-relay.js";
import { RedisTicketSecrets } from "../store/redis/redis-ticket-secrets.js";
import { StoreEpoch } from "../store/redis/store-epoch.js";
import { followEmptyRestarts } from "./pin-recovery.js";
import { fixedTicketSecret, randomTicketSecret, type TicketSecretSource } from "./ticket-signer.js";

/** The shared-state adapters of one replica, and how to close them (last, on shutdown). */
export interface StateStore {
  readonly registryLog: RegistryLog;
  /** Quota reservations: in memory, or on Redis with per-replica local budgets while it is down. */
  readonly quotaLimiter: QuotaLimiter;
  readonly pinStore: PinStore;
  /** Carries in-flight counts between replicas; undefined in memory (one replica). */
  readonly loadBus: LoadBus | undefined;
  /** Carries Reports of other replicas' tickets to them. */
  readonly ticketRelay: TicketRelay;
  /** The ticket signing secrets every replica on this state shares. */
  readonly ticketSecrets: TicketSecretSource;
  /** Re-publishes and re-reads the shared ticket secrets (on Redis; a no-op in memory). */
  syncTicketSecrets(): Promise<void>;
  /** Counters of the tiered caches in use, by name (for /metrics). */
  cacheStats(): Record<string, Record<string, number>>;
  readonly redis: RedisClient | undefined;
  close(): Promise<void>;
}

function redisTls(config: FulcrumConfig["redis"]): ConnectionOptions | undefined {
  if (!config.tlsCaFile) return undefined;
  try {
    return { ca: readFileSync(config.tlsCaFile) };
  } catch (error) {
    throw new ConfigError(`redis.tlsCaFile: cannot read ${config.tlsCaFile}: ${(error as Error).message}`);
  }
}

function redisTarget(config: FulcrumConfig["redis"]): RedisTarget | undefined {
  const tls = redisTls(config);
  if (config.url) return { kind: "single", url: config.url, tls };
  if (config.cluster) return { kind: "cluster", nodes: parseClusterNodes(config.cluster), tls };
  return undefined;
}

/** Where the state lives, as shown to people: a Redis password is never part of it (A4). */
function describeTarget(config: FulcrumConfig["redis"]): string {
  return config.url ? redactUrl(config.url) : `cluster ${config.cluster}`;
}

/**
 * The tiered-cache namespace of session pins (L1 per replica, invalidated over the bus). It
 * is not flushed when the bus re-subscribes: the L1 pins are what the replica puts back
 * after an empty Redis restart (pin-recovery.ts); they ask the store again instead.
 */
const PIN_CACHE_NAMESPACE = "pins";

/** A configured secret as is; otherwise the one the replicas share through Redis (item 4 of issue 10). */
async function ticketSecretsOn(
  redis: RedisClient,
  config: FulcrumConfig,
): Promise<{ source: TicketSecretSource; sync(): Promise<void>; close(): void }> {
  if (config.tickets.secret) {
    return { source: fixedTicketSecret(config.tickets.secret), sync: async () => {}, close() {} };
  }
  const shared = new RedisTicketSecrets({
    client: redis,
    prefix: config.redis.prefix,
    candidate: randomTicketSecret(),
  });
  await shared.start();
  return { source: shared, sync: () => shared.sync(), close: () => shared.close() };
}

/** Session pins: the Redis PinStore behind an L1 per replica, as `state.pins` says. */
async function pinStateOn(redis: RedisClient, config: FulcrumConfig, clock: Clock, logger: Logger) {
  let store: CachedPinStore | undefined;
  const bus = new RedisBus({
    client: redis,
    prefix: config.redis.prefix,
    onResubscribed: () => store?.revalidate(),
  });
  await bus.ready();
  const settings = config.state.pins;
  const cache = createTieredCache<CachedPin>({
    namespace: PIN_CACHE_NAMESPACE,
    name: "state.pins",
    bus,
    clock,
    maxEntries: settings.l1MaxEntries,
    logger,
  });
  store = new CachedPinStore({
    store: new RedisPinStore({ client: redis, prefix: config.redis.prefix }),
    cache,
    clock,
    failureMode: failureModeOf(settings),
    l1TtlMs: settings.l1TtlMs,
  });
  const close = () => {
    cache.close();
    bus.close();
  };
  return { store, cache, close };
}

/** Reports Redis going away and coming back once per transition, not once per reconnect attempt. */
function watchConnection(redis: RedisClient, logger: Logger): void {
  let up = true;
  redis.on("error", (error: Error) => {
    if (!up) return;
    up = false;
    logger.warn(
      { err: error },
      "redis unavailable; selections continue from local state, registry writes fail until it returns",
    );
  });
  redis.on("ready", () => {
    if (up) return;
    up = true;
    logger.info("redis available again");
  });
}

/** In memory without Redis settings (the embedded default); on Redis or Redis Cluster otherwise. */
export async function createStateStore(
  config: FulcrumConfig,
  logger: Logger,
  clock: Clock,
): Promise<StateStore> {
  const target = redisTarget(config.redis);
  if (!target) {
    const pinStore = new MemoryPinStore({ clock, maxSessions: config.sessions.maxSessions });
    return {
      registryLog: new MemoryRegistryLog(),
      quotaLimiter: new MemoryQuotaLimiter(),
      pinStore,
      ticketRelay: LOCAL_ONLY_RELAY,
      loadBus: undefined,
      cacheStats: () => ({}),
      ticketSecrets: fixedTicketSecret(config.tickets.secret ?? randomTicketSecret()),
      syncTicketSecrets: async () => {},
      redis: undefined,
      close: async () => pinStore.close(),
    };
  }
  const redis = await connectRedis(target, {
    commandTimeoutMs: config.redis.commandTimeoutMs,
    connectTimeoutMs: config.redis.connectTimeoutMs,
    reconnectStepMs: 50,
    maxReconnectDelayMs: 1_000,
  }).catch((error: Error) => {
    const setting =
      error instanceof RedisConnectError
        ? "redis.connectTimeoutMs"
        : config.redis.url
          ? "redis.url"
          : "redis.cluster";
    throw new ConfigError(
      `cannot connect to Redis ${describeTarget(config.redis)}: ${error.message} (${setting})`,
    );
  });
  watchConnection(redis, logger);
  const epoch = new StoreEpoch(redis, config.redis.prefix);
  await epoch.adopt();
  const pins = await pinStateOn(redis, config, clock, logger);
  const stopRecovery = followEmptyRestarts({ redis, epoch, pins: pins.store, clock, logger });
  const quotaLimiter = new FailoverQuotaLimiter({
    primary: new RedisQuotaLimiter({ client: redis, prefix: config.redis.prefix }),
    local: new MemoryQuotaLimiter(),
    localShare: 1 / config.quota.replicas,
    retryPrimaryAfterMs: config.state.quota.l1TtlMs,
    failureMode: failureModeOf(config.state.quota),
    clock,
    onPrimaryError: (error) => logger.debug({ err: error }, "quota on redis failed"),
  });
  const tickets = await ticketSecretsOn(redis, config);
  return {
    registryLog: new RedisRegistryLog({
      client: redis,
      prefix: config.redis.prefix,
      writeDeadlineMs: Math.max(1, Math.floor(config.redis.commandTimeoutMs / 2)),
    }),
    quotaLimiter,
    pinStore: pins.store,
    ticketRelay: new RedisTicketRelay(redis, config.redis.prefix),
    loadBus: new RedisLoadBus(redis, config.redis.prefix),
    cacheStats: () => ({
      pins: { ...pins.cache.stats(), ...pins.store.counters },
      quota: { ...quotaLimiter.counters },
    }),
    ticketSecrets: tickets.source,
    syncTicketSecrets: tickets.sync,
    redis,
    async close() {
      tickets.close();
      stopRecovery();
      pins.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
