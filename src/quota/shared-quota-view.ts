/**
 * The quota view read through the tiered cache (docs/state.md, kind `quotaView`): what the
 * quota filter and most_available read of each backend (its QuotaStatus, RATE_LIMITED mark
 * included) comes from this replica's L1, else from Redis, the L2, whose copy is the quota
 * keys themselves (the STATUS read of store/redis/redis-quota-view-l2.ts).
 *
 * Nothing writes the view through the cache: the quota scripts are the only writers and
 * must stay atomic across replicas, so every status a script returns here fills this
 * replica's L1 (`fill`: no L2 write, no bus message, nothing more per Select than before).
 * A RATE_LIMITED mark is the one write the other replicas are told of: the replica that
 * marked drops their L1 copy over the bus, and their next Select of the service reads the
 * backend from Redis, mark included, instead of finding it out by a refused reservation.
 * Reservations of other replicas are seen when an L1 copy is read again: after `l1TtlMs`,
 * an eviction, or a mark.
 */
import type { BackendState } from "../balancer/backend-state.js";
import type { TieredCache } from "../cache/tiered-cache-api.js";
import type { QuotaLimitSpec } from "../model/specs.js";
import { FulcrumError } from "../shared/errors.js";
import type { BackendQuotaKey } from "./quota-limiter.js";
import type { QuotaStatus } from "./quota-status.js";

/** The view's cache key of one backend: the service's length first, so no two pairs collide. */
export function quotaViewKey(service: string, backendId: string): string {
  return `${service.length}:${service}:${backendId}`;
}

/** The backend a `quotaViewKey` names; undefined for anything else. */
export function parseQuotaViewKey(key: string): BackendQuotaKey | undefined {
  const match = /^(\d+):/.exec(key);
  if (!match) return undefined;
  const start = match[0].length;
  const length = Number(match[1]);
  if (key.length < start + length + 1 || key[start + length] !== ":") return undefined;
  return { service: key.slice(start, start + length), backendId: key.slice(start + length + 1) };
}

/**
 * True when `status` was taken under `limits` (same dimensions, same limits): a status kept
 * from before the backend's limits changed, or of a local share, is not the backend's now.
 */
export function statusFits(status: QuotaStatus, limits: readonly QuotaLimitSpec[]): boolean {
  if (Object.keys(status.dimensions).length !== limits.length) return false;
  return limits.every((spec) => status.dimensions[spec.dimension]?.limit === spec.limit);
}

/** Receives a status read from the view (L1 or Redis) for a backend. */
export type ApplyStatus = (backend: BackendState, status: QuotaStatus) => void;

/** The quota view of one replica over its tiered cache; see the file header. */
export class SharedQuotaView {
  private readonly keys = new WeakMap<BackendState, string>();
  /** The last status handed on per backend: an L1 copy already applied is not applied again. */
  private readonly applied = new WeakMap<BackendState, QuotaStatus>();
  /** Script results filled per backend: a Redis read that a fill overtook is not applied. */
  private readonly fills = new WeakMap<BackendState, number>();
  private readonly askRedisFirst: boolean;

  constructor(private readonly cache: TieredCache<QuotaStatus>) {
    this.askRedisFirst = cache.options.readPolicy === "parallel";
  }

  /**
   * Hands `apply` the view of every backend with limits among `backends`: the L1 copy, and
   * for a backend without one (or for all, under read policy `parallel`) Redis's. Rejects
   * UNAVAILABLE only when Redis fails under failure mode `error`; otherwise a failed read
   * leaves the backend as this replica last saw it.
   */
  async readThrough(service: string, backends: readonly BackendState[], apply: ApplyStatus): Promise<void> {
    const misses: BackendState[] = [];
    for (const backend of backends) {
      if (backend.spec.quotas.length === 0) continue;
      const status = this.askRedisFirst ? undefined : this.cache.peek(this.keyOf(service, backend));
      if (status === undefined) misses.push(backend);
      else this.take(backend, status, apply);
    }
    if (misses.length === 0) return;
    const fills = misses.map((backend) => this.fills.get(backend) ?? 0);
    const read = await Promise.all(
      misses.map((backend) => this.cache.get(this.keyOf(service, backend))),
    ).catch((cause: unknown) => {
      throw new FulcrumError(
        "unavailable",
        `service ${JSON.stringify(service)}: the quota view store is unavailable; retry`,
        {},
        { cause },
      );
    });
    read.forEach((status, i) => {
      // A script result that came in while Redis was read is newer than what Redis answered.
      if (status && (this.fills.get(misses[i]!) ?? 0) === fills[i]) this.take(misses[i]!, status, apply);
    });
  }

  /** A status a quota script (or the local budget) returned on this replica: into its L1 only. */
  fill(service: string, backend: BackendState, status: QuotaStatus): void {
    this.fills.set(backend, (this.fills.get(backend) ?? 0) + 1);
    this.applied.set(backend, status);
    this.cache.fill(this.keyOf(service, backend), status);
  }

  /**
   * This replica marked the backend exhausted in Redis: every other replica drops its L1
   * copy (and reads the mark from Redis at its next Select of the service); this one keeps
   * `status`. A bus failure is counted by the cache, never thrown.
   */
  async marked(service: string, backend: BackendState, status: QuotaStatus): Promise<void> {
    await this.cache.invalidate(this.keyOf(service, backend));
    this.fill(service, backend, status);
  }

  private take(backend: BackendState, status: QuotaStatus, apply: ApplyStatus): void {
    if (this.applied.get(backend) === status) return;
    this.applied.set(backend, status);
    if (statusFits(status, backend.spec.quotas)) apply(backend, status);
  }

  private keyOf(service: string, backend: BackendState): string {
    let key = this.keys.get(backend);
    if (key === undefined) {
      key = quotaViewKey(service, backend.spec.id);
      this.keys.set(backend, key);
    }
    return key;
  }
}
