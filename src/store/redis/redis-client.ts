/**
 * One factory for every Redis connection Fulcrum opens: a single server or a Redis Cluster
 * (behaviour.md C13), with auto-pipelining on and fail-fast settings, so an outage surfaces
 * as an error the failure modes handle instead of a queue that grows while Redis is away.
 */
import type { ConnectionOptions } from "node:tls";
import { Cluster, Redis, type RedisOptions } from "ioredis";

/** Where Redis is. */
export type RedisTarget = (
  | { readonly kind: "single"; readonly url: string }
  | { readonly kind: "cluster"; readonly nodes: readonly { readonly host: string; readonly port: number }[] }
) & {
  /** TLS settings (a CA to trust); a `rediss://` URL turns TLS on with the system CAs when unset. */
  readonly tls?: ConnectionOptions;
};

/** Timing of Redis connections. */
export interface RedisClientOptions {
  /** A command not answered within this fails with a timeout. */
  readonly commandTimeoutMs: number;
  /** Reconnect delay grows by this per attempt up to `maxReconnectDelayMs`. */
  readonly reconnectStepMs: number;
  readonly maxReconnectDelayMs: number;
  /** How long `connectRedis` waits for a Redis that does not answer; 5,000 ms when unset. */
  readonly connectTimeoutMs?: number;
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

/** Redis accepted the connection (or none was refused) but was not ready within `waitedMs`. */
export class RedisConnectError extends Error {
  override readonly name = "RedisConnectError";
  constructor(readonly waitedMs: number) {
    super(`no answer within ${waitedMs} ms`);
  }
}

export const DEFAULT_REDIS_CLIENT_OPTIONS: RedisClientOptions = {
  commandTimeoutMs: 1_000,
  reconnectStepMs: 50,
  maxReconnectDelayMs: 1_000,
};

/** A connected client: a Redis or a Cluster (same command surface). */
export type RedisClient = Redis | Cluster;

function connectionOptions(options: RedisClientOptions, tls: ConnectionOptions | undefined): RedisOptions {
  return {
    ...(tls && { tls }),
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: options.commandTimeoutMs,
    lazyConnect: true,
    retryStrategy: (times: number) => Math.min(times * options.reconnectStepMs, options.maxReconnectDelayMs),
  };
}

/** Creates a client (not yet connected; call `connect()` or use `connectRedis`). */
export function createRedisClient(
  target: RedisTarget,
  options: RedisClientOptions = DEFAULT_REDIS_CLIENT_OPTIONS,
): RedisClient {
  if (target.kind === "single") return new Redis(target.url, connectionOptions(options, target.tls));
  return new Cluster([...target.nodes], {
    enableAutoPipelining: true,
    enableOfflineQueue: false,
    lazyConnect: true,
    clusterRetryStrategy: (times: number) =>
      Math.min(times * options.reconnectStepMs, options.maxReconnectDelayMs),
    redisOptions: connectionOptions(options, target.tls),
  });
}

/**
 * Creates a client and waits until it is ready. A failed first connection rejects with the
 * first cause seen (refused, WRONGPASS, TLS) rather than ioredis's generic "Connection is
 * closed"; a Redis that accepts but never answers rejects with RedisConnectError after
 * `options.connectTimeoutMs`. Either way no client is left retrying in the background.
 */
export async function connectRedis(
  target: RedisTarget,
  options: RedisClientOptions = DEFAULT_REDIS_CLIENT_OPTIONS,
): Promise<RedisClient> {
  const client = createRedisClient(target, options);
  const waitMs = options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  let firstError: Error | undefined;
  const remember = (error: Error) => {
    firstError ??= error;
  };
  client.on("error", remember);
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      client.connect(),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new RedisConnectError(waitMs)), waitMs);
      }),
    ]);
  } catch (error) {
    client.disconnect();
    throw firstError ?? error;
  } finally {
    clearTimeout(timer);
    client.off("error", remember);
  }
  return client;
}

/** Parses `host:port,host:port` into cluster seed nodes. */
export function parseClusterNodes(list: string): { host: string; port: number }[] {
  return list
    .split(",")
    .map((item) => item.trim())
    .filter(Boolean)
    .map((item) => {
      const colon = item.lastIndexOf(":");
      return { host: item.slice(0, colon), port: Number(item.slice(colon + 1)) };
    });
}
