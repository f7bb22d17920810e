import type { FulcrumConfig } from "../config/schema.js";
import type { Logger } from "../observability/logger.js";
import type { RegistryLog } from "../registry/registry-log.js";
import { MemoryRegistryLog } from "../store/memory/memory-registry-log.js";
import {
  connectRedis,
  parseClusterNodes,
  type RedisClient,
  type RedisTarget,
} from "../store/redis/redis-client.js";
import { RedisRegistryLog } from "../store/redis/redis-registry-log.js";

/** The shared-state adapters of one replica, and how to close them (last, on shutdown). */
export interface StateStore {
  readonly registryLog: RegistryLog;
  readonly redis: RedisClient | undefined;
  close(): Promise<void>;
}

function redisTarget(config: FulcrumConfig["redis"]): RedisTarget | undefined {
  if (config.url) return { kind: "single", url: config.url };
  if (config.cluster) return { kind: "cluster", nodes: parseClusterNodes(config.cluster) };
  return undefined;
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
export async function createStateStore(config: FulcrumConfig, logger: Logger): Promise<StateStore> {
  const target = redisTarget(config.redis);
  if (!target) return { registryLog: new MemoryRegistryLog(), redis: undefined, close: async () => {} };
  const redis = await connectRedis(target, {
    commandTimeoutMs: config.redis.commandTimeoutMs,
    reconnectStepMs: 50,
    maxReconnectDelayMs: 1_000,
  });
  watchConnection(redis, logger);
  return {
    registryLog: new RedisRegistryLog({ client: redis, prefix: config.redis.prefix }),
    redis,
    async close() {
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
