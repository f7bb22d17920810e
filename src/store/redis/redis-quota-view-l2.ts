/**
 * The L2 of the quota view (kind `quotaView`, docs/state.md): the quota keys themselves. A
 * read of a backend runs the quota limiter's STATUS script over its mark and dimension keys
 * (one MGET, under the limits the backend has now) and hands the status to the tiered cache
 * as a record expiring `ttlMs` from now (0: never), so a refilled L1 copy lives `ttlMs`.
 * Nothing writes through here: the quota scripts are the view's only writers (they must stay
 * atomic across replicas), so `set` and `delete` leave Redis alone.
 */
import type { L2Record, L2Store } from "../../cache/ports.js";
import type { QuotaLimitSpec } from "../../model/specs.js";
import type { BackendQuotaKey } from "../../quota/quota-limiter.js";
import type { QuotaStatus } from "../../quota/quota-status.js";
import { parseQuotaViewKey } from "../../quota/shared-quota-view.js";
import type { Clock } from "../../shared/clock.js";
import { toRedisL2Error } from "./redis-errors.js";
import type { RedisQuotaLimiter } from "./redis-quota-limiter.js";

/** The limits a backend has now; undefined when it is gone (its view is then a miss). */
export type QuotaLimitsOf = (key: BackendQuotaKey) => readonly QuotaLimitSpec[] | undefined;

/** Options of the quota view's L2. */
export interface RedisQuotaViewL2Options {
  readonly limiter: Pick<RedisQuotaLimiter, "remaining">;
  readonly limitsOf: QuotaLimitsOf;
  readonly clock: Clock;
  /** Life of a record read here (state.quotaView.l1TtlMs); 0: no expiry. */
  readonly ttlMs: number;
}

/** L2Store over the quota keys; see the file header. */
export class RedisQuotaViewL2 implements L2Store {
  constructor(private readonly options: RedisQuotaViewL2Options) {}

  async get(key: string): Promise<L2Record | undefined> {
    // The tiered cache asks for `<namespace>:<key>`; the namespace holds no colon.
    const backend = parseQuotaViewKey(key.slice(key.indexOf(":") + 1));
    const limits = backend && this.options.limitsOf(backend);
    if (!backend || !limits || limits.length === 0) return undefined;
    const { clock, ttlMs, limiter } = this.options;
    let status: QuotaStatus;
    try {
      status = await limiter.remaining(backend, limits, clock.now());
    } catch (error) {
      throw toRedisL2Error(error, `quota status of ${key}`);
    }
    // From the answer on, not from the ask: a TTL shorter than the round trip still refills.
    return { key, value: JSON.stringify(status), expiresAt: ttlMs > 0 ? clock.now() + ttlMs : 0 };
  }

  async set(_record: L2Record): Promise<void> {
    // The quota scripts write the quota keys; the view never does.
  }

  async delete(_key: string): Promise<boolean> {
    return false;
  }
}
