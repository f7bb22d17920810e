/**
 * The tiered cache's side of the L2 port: full keys (`<namespace>:<key>`, C10), the codec,
 * corrupt-record rejection (C10), suppression (C6), and the failure mode's retries, logs,
 * counters and events (C5). Reads never throw: they return hit, miss or error, and the read
 * policy decides what an error means. Writes and deletes throw the final L2Error after
 * recording it, so the write policy can decide.
 */
import type { CacheEventHub, L2Operation } from "./cache-events.js";
import type { TieredCacheOptions } from "./cache-options.js";
import type { CacheStats } from "./cache-stats.js";
import { type RetryContext, runWithRetry, toL2Error } from "./failure-mode.js";
import type { L2Error, L2Record } from "./ports.js";
import type { L2Read } from "./read-policy.js";
import type { L2Suppression } from "./suppression.js";

const MISS = { kind: "miss" } as const;

/** What an L2Tier shares with its cache. */
export interface L2TierContext<V> {
  readonly options: TieredCacheOptions<V>;
  readonly stats: CacheStats;
  readonly suppression: L2Suppression;
  readonly events: CacheEventHub;
}

/** L2 reads, writes and deletes for one cache instance; see the file header. */
export class L2Tier<V> {
  private readonly o: TieredCacheOptions<V>;
  private readonly prefix: string;

  constructor(private readonly ctx: L2TierContext<V>) {
    this.o = ctx.options;
    this.prefix = `${ctx.options.namespace}:`;
  }

  /** True when the cache has an L2 at all. */
  get enabled(): boolean {
    return this.o.l2 !== undefined;
  }

  /** The L2 key of `key`. */
  fullKey(key: string): string {
    return this.prefix + key;
  }

  /** Reads `key`: a hit, a miss (absent, expired, suppressed, corrupt) or the final error. */
  async read(key: string): Promise<L2Read<V>> {
    const l2 = this.o.l2;
    if (l2 === undefined) return MISS;
    if (this.ctx.suppression.isSuppressed(key)) {
      this.ctx.stats.l2Suppressed++;
      return MISS;
    }
    const full = this.fullKey(key);
    let record: L2Record | undefined;
    try {
      record = await runWithRetry(() => l2.get(full), this.retry(key, "get"));
    } catch (thrown) {
      const error = toL2Error(thrown);
      if (error.kind === "corrupt") return this.corrupt(key, undefined, error.message);
      this.failed(key, "get", error);
      return { kind: "error", error };
    }
    if (this.ctx.suppression.isSuppressed(key)) return MISS;
    return this.decode(key, full, record);
  }

  /** Writes `text` under `key` until `expiresAt`; lifts its suppression, or suppresses it and throws. */
  async write(key: string, text: string, expiresAt: number): Promise<void> {
    const l2 = this.o.l2;
    if (l2 === undefined) return;
    const record: L2Record = { key: this.fullKey(key), value: text, expiresAt };
    try {
      await runWithRetry(() => l2.set(record), this.retry(key, "set"));
    } catch (thrown) {
      this.ctx.suppression.suppress(key);
      throw this.failed(key, "set", toL2Error(thrown));
    }
    this.ctx.suppression.lift(key);
  }

  /**
   * Deletes `key`; true when it existed. The key is suppressed while the delete is in flight
   * (a read racing it would fetch the old copy) and stays suppressed if it fails (C6).
   */
  async remove(key: string): Promise<boolean> {
    const l2 = this.o.l2;
    if (l2 === undefined) return false;
    const full = this.fullKey(key);
    let existed: boolean;
    this.ctx.suppression.suppress(key);
    try {
      existed = await runWithRetry(() => l2.delete(full), this.retry(key, "delete"));
    } catch (thrown) {
      throw this.failed(key, "delete", toL2Error(thrown));
    }
    this.ctx.suppression.lift(key);
    return existed;
  }

  private decode(key: string, full: string, record: L2Record | undefined): L2Read<V> {
    const now = this.o.clock.now();
    if (record === undefined || (record.expiresAt !== 0 && now >= record.expiresAt)) {
      this.ctx.stats.l2Misses++;
      return MISS;
    }
    if (record.key !== full) return this.corrupt(key, record.key, `record key ${record.key} is not ${full}`);
    let value: V;
    try {
      value = this.o.codec.decode(record.value);
    } catch (error) {
      return this.corrupt(key, record.key, `undecodable value: ${(error as Error).message}`);
    }
    this.ctx.stats.l2Hits++;
    const freshUntil = record.expiresAt === 0 ? 0 : record.expiresAt - this.o.staleWindowMs;
    return { kind: "hit", hit: { value, freshUntil, expiresAt: record.expiresAt, source: "l2" } };
  }

  private corrupt(key: string, recordKey: string | undefined, detail: string): L2Read<V> {
    this.ctx.stats.corrupt++;
    this.o.logger.warn(
      { namespace: this.o.namespace, key, recordKey, detail },
      "cache: corrupt L2 record rejected",
    );
    if (this.ctx.events.active) {
      const at = this.o.clock.now();
      this.ctx.events.emit({ type: "corrupt", namespace: this.o.namespace, key, recordKey, detail, at });
    }
    return MISS;
  }

  private retry(key: string, operation: L2Operation): RetryContext {
    return {
      mode: this.o.failureMode,
      clock: this.o.clock,
      random: this.o.random,
      onFailure: (error, attempt, willRetry) => {
        if (error.kind === "corrupt") return;
        if (willRetry) this.ctx.stats.l2Retries++;
        if (!this.ctx.events.active) return;
        this.ctx.events.emit({
          type: "l2_error",
          namespace: this.o.namespace,
          key,
          operation,
          kind: error.kind,
          attempt,
          willRetry,
          message: error.message,
          at: this.o.clock.now(),
        });
      },
    };
  }

  private failed(key: string, operation: L2Operation, error: L2Error): L2Error {
    this.ctx.stats.l2Errors++;
    this.o.logger.warn(
      { namespace: this.o.namespace, key, operation, kind: error.kind, err: error.message },
      `cache: L2 ${operation} failed (failure mode ${this.o.failureMode.kind})`,
    );
    return error;
  }
}
