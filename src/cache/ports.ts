/**
 * Ports the tiered cache needs from an L2 and an invalidation bus. Declared by the core,
 * implemented in store/ (Redis, Redis Cluster, memory).
 */

/** An L2 entry: the full key it was written under (checked on read, C10), the serialized value, its expiry. */
export interface L2Record {
  readonly key: string;
  readonly value: string;
  /** Epoch ms; 0 means no expiry. */
  readonly expiresAt: number;
}

/** Why an L2 call failed; only `connection` and `unknown` are worth retrying (C5). */
export type L2ErrorKind = "connection" | "timeout" | "command" | "corrupt" | "unknown";

/** The one error type an L2 adapter throws. */
export class L2Error extends Error {
  constructor(
    readonly kind: L2ErrorKind,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "L2Error";
  }
}

/** The second tier: a shared store such as Redis. Every method may throw L2Error. */
export interface L2Store {
  /** The record under `key`, or undefined when absent or expired. A record whose key differs is `corrupt`. */
  get(key: string): Promise<L2Record | undefined>;
  /** Writes the record, expiring it at `record.expiresAt`. */
  set(record: L2Record): Promise<void>;
  /** Removes `key`; true when it existed. */
  delete(key: string): Promise<boolean>;
}

/** A cross-replica invalidation (C9). `key` undefined means every key of the namespace. */
export interface InvalidationMessage {
  readonly namespace: string;
  readonly key: string | undefined;
  readonly reason: string;
  /** The replica that sent it; a replica ignores its own messages. */
  readonly origin: string;
}

/** Publishes and receives invalidations between replicas (Redis pub/sub in store/). */
export interface InvalidationBus {
  publish(message: InvalidationMessage): Promise<void>;
  /** Calls `handler` for every message from other replicas; the returned function unsubscribes. */
  subscribe(handler: (message: InvalidationMessage) => void): () => void;
}
