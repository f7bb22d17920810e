import { readFileSync } from "node:fs";
import type { ConnectionOptions } from "node:tls";
import type { LoadBus } from "../balancer/load-share.js";
import { LOCAL_ONLY_RELAY, type TicketRelay } from "../balancer/ticket-relay.js";
import type { TieredCache } from "../cache/tiered-cache-api.js";
import { ConfigError } from "../config/load-config.js";
import { redactUrl } from "../config/redact.js";
import type { FulcrumConfig } from "../config/schema.js";
import { failureModeOf } from "../config/state-schema.js";
import type { Logger } from "../observability/logger.js";
import { FailoverQuotaLimiter } from "../quota/failover-quota-limiter.js";
import type { QuotaLimiter } from "../quota/quota-limiter.js";
import type { QuotaStatus } from "../quota/quota-status.js";
import type { RegistryLog } from "../registry/registry-log.js";
import type { NegativeRecord } from "../sessions/negative-availability.js";
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
import { RedisQuotaLimiter } from "../store/redis/redis-quota-limiter.js";
import type { QuotaLimitsOf } from "../store/redis/redis-quota-view-l2.js";
import { RedisRegistryLog } from "../store/redis/redis-registry-log.js";
import { RedisTicketRelay } from "../store/redis/redis-ticket-relay.js";
import { RedisTicketSecrets } from "../store/redis/redis-ticket-secrets.js";
import { StoreEpoch } from "../store/redis/store-epoch.js";
import { followEmptyRestarts } from "./pin-recovery.js";
import { negativeFactsOn, pinStateOn, quotaViewOn } from "./state-caches.js";
import { fixedTicketSecret, randomTicketSecret, type TicketSecretSource } from "./ticket-signer.js";

/** The shared-state adapters of one replica, and how to close them (last, on shutdown). */
export interface StateStore {
  readonly registryLog: RegistryLog;
  /** Quota reservations: in memory, or on Redis with per-replica local budgets while it is down. */
  readonly quotaLimiter: QuotaLimiter;
  readonly pinStore: PinStore;
  /** Negative-availability facts shared through Redis; undefined in memory (one replica). */
  readonly negativeFacts: TieredCache<NegativeRecord> | undefined;
  /**
   * Opens the quota view through the tiered cache (Redis as L2), given each backend's limits
   * now; undefined in memory (one replica: the quota gate's own statuses are the view).
   */
  readonly openQuotaView: ((limitsOf: QuotaLimitsOf) => TieredCache<QuotaStatus>) | undefined;
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

/** A configured secret as is; otherwise the one the replicas share through Redis. */
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
  if (!target) return memoryStateStore(config, clock);
  const redis = await connectTo(target, config.redis);
  watchConnection(redis, logger);
  return redisStateStore(redis, config, logger, clock);
}

/** One replica's state, in this process. */
function memoryStateStore(config: FulcrumConfig, clock: Clock): StateStore {
  const pinStore = new MemoryPinStore({ clock, maxSessions: config.sessions.maxSessions });
  return {
    registryLog: new MemoryRegistryLog(),
    quotaLimiter: new MemoryQuotaLimiter(),
    pinStore,
    ticketRelay: LOCAL_ONLY_RELAY,
    loadBus: undefined,
    cacheStats: () => ({}),
    negativeFacts: undefined,
    openQuotaView: undefined,
    ticketSecrets: fixedTicketSecret(config.tickets.secret ?? randomTicketSecret()),
    syncTicketSecrets: async () => {},
    redis: undefined,
    close: async () => pinStore.close(),
  };
}

/** Connects, or fails in one line naming the setting to look at (behaviour.md O7). */
function connectTo(target: RedisTarget, config: FulcrumConfig["redis"]): Promise<RedisClient> {
  return connectRedis(target, {
    commandTimeoutMs: config.commandTimeoutMs,
    connectTimeoutMs: config.connectTimeoutMs,
    reconnectStepMs: 50,
    maxReconnectDelayMs: 1_000,
  }).catch((error: Error) => {
    const setting =
      error instanceof RedisConnectError
        ? "redis.connectTimeoutMs"
        : config.url
          ? "redis.url"
          : "redis.cluster";
    throw new ConfigError(`cannot connect to Redis ${describeTarget(config)}: ${error.message} (${setting})`);
  });
}

/** Quota on Redis, falling back to this replica's share of each limit while Redis is away (Q6). */
function quotaLimiterOn(
  primary: RedisQuotaLimiter,
  config: FulcrumConfig,
  clock: Clock,
  logger: Logger,
): FailoverQuotaLimiter {
  return new FailoverQuotaLimiter({
    primary,
    local: new MemoryQuotaLimiter(),
    localShare: 1 / config.quota.replicas,
    retryPrimaryAfterMs: config.state.quota.l1TtlMs,
    failureMode: failureModeOf(config.state.quota),
    clock,
    onPrimaryError: (error) => logger.debug({ err: error }, "quota on redis failed"),
  });
}

/** The state every replica on `redis` shares: the registry log, pins, quota, facts, tickets. */
async function redisStateStore(
  redis: RedisClient,
  config: FulcrumConfig,
  logger: Logger,
  clock: Clock,
): Promise<StateStore> {
  const { prefix } = config.redis;
  const epoch = new StoreEpoch(redis, prefix);
  await epoch.adopt();
  const bus = new RedisBus({ client: redis, prefix, onResubscribed: () => pins.store.revalidate() });
  await bus.ready();
  const pins = pinStateOn(redis, bus, config, clock, logger);
  const negativeFacts = negativeFactsOn(redis, bus, config, clock, logger);
  const stopRecovery = followEmptyRestarts({ redis, epoch, pins: pins.store, clock, logger });
  const primaryQuota = new RedisQuotaLimiter({ client: redis, prefix });
  const quotaLimiter = quotaLimiterOn(primaryQuota, config, clock, logger);
  let quotaView: TieredCache<QuotaStatus> | undefined;
  const tickets = await ticketSecretsOn(redis, config);
  const writeDeadlineMs = Math.max(1, Math.floor(config.redis.commandTimeoutMs / 2));
  return {
    registryLog: new RedisRegistryLog({ client: redis, prefix, writeDeadlineMs }),
    quotaLimiter,
    pinStore: pins.store,
    ticketRelay: new RedisTicketRelay(redis, prefix),
    loadBus: new RedisLoadBus(redis, prefix),
    cacheStats: () => ({
      pins: { ...pins.cache.stats(), ...pins.store.counters },
      quota: { ...quotaLimiter.counters },
      negative: { ...negativeFacts.stats() },
      ...(quotaView && { quotaView: { ...quotaView.stats() } }),
    }),
    negativeFacts,
    openQuotaView(limitsOf) {
      quotaView ??= quotaViewOn(primaryQuota, limitsOf, bus, config, clock, logger);
      return quotaView;
    },
    ticketSecrets: tickets.source,
    syncTicketSecrets: tickets.sync,
    redis,
    async close() {
      tickets.close();
      stopRecovery();
      pins.cache.close();
      negativeFacts.close();
      quotaView?.close();
      bus.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
