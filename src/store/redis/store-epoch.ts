/**
 * Tells a Redis that came back empty from one that only dropped the connection. The first
 * replica on a Redis writes a random epoch under `<prefix>:epoch` (SET NX) and every replica
 * remembers the one it read. After a reconnect a replica reads it again: the same epoch means
 * the data survived; none, or another one (a replica that noticed first wrote a new one),
 * means Redis lost its data, and what the replicas acknowledged must be put back. Every
 * replica notices by itself, whatever the others did first, which the registry's own check
 * (a service version lower than the local one) cannot promise once another replica restored it.
 */
import { randomUUID } from "node:crypto";
import type { RedisClient } from "./redis-client.js";

/** What a reconnect found. */
export type EpochCheck = "kept" | "emptied";

/** The epoch of one Redis as this replica knows it; see the file header. */
export class StoreEpoch {
  private known: string | undefined;
  private readonly key: string;

  constructor(
    private readonly redis: RedisClient,
    prefix: string,
  ) {
    this.key = `${prefix}:epoch`;
  }

  /** Reads (creating it when absent) the epoch of the Redis as it is now. */
  async adopt(): Promise<void> {
    await this.redis.set(this.key, randomUUID(), "NX");
    const epoch = await this.redis.get(this.key);
    if (epoch === null) throw new Error(`redis lost ${this.key} right after creating it`);
    this.known = epoch;
  }

  /**
   * After a reconnect: `kept` when the epoch is the one known, else `emptied`. An emptied
   * Redis stays `emptied` until `adopt()`, which the caller runs once it has put back what
   * was lost (so a failure half-way is noticed again at the next reconnect).
   */
  async check(): Promise<EpochCheck> {
    const epoch = await this.redis.get(this.key);
    return epoch !== null && epoch === this.known ? "kept" : "emptied";
  }
}
