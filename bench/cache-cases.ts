/**
 * The operations the `cache` benchmark measures (docs/performance.md): a tiered get answered by
 * L1, a get answered by L2, a miss that runs the loader and writes both tiers, and a write of
 * both tiers. The bench harness owns timing, baselines (bentocache with a memory L1 and the
 * same L2) and reporting; this file only builds the caches and the operations, over any
 * L2Store, so the same cases run against memory, Redis and Redis Cluster.
 */
import type { TieredCacheOptions } from "../src/cache/cache-options.js";
import type { L2Store } from "../src/cache/ports.js";
import { createTieredCache, type TieredCache } from "../src/cache/tiered-cache.js";

/** The rows of the cache benchmark. */
export type CacheBenchCaseName = "l1-hit" | "l2-hit" | "miss-with-loader" | "l2-write";

/** One benchmarked operation; `run(i)` performs iteration `i`. */
export interface CacheBenchCase {
  readonly name: CacheBenchCaseName;
  run(i: number): Promise<unknown>;
}

/** What the cases are built from. */
export interface CacheBenchOptions {
  readonly l2: L2Store;
  /** Namespace of the keys; use a fresh one per run on a shared Redis. */
  readonly namespace: string;
  /** Distinct keys cycled through by the hit and write cases. */
  readonly keys: number;
  /** The value stored under every key (JSON-encoded for L2). */
  readonly value: unknown;
  /** Any other cache option (policies, clock, ...), applied to every cache built here. */
  readonly cache: Partial<TieredCacheOptions<unknown>>;
}

/** The benchmark cases with their caches; `close()` releases the caches. */
export interface CacheBench {
  readonly cases: readonly CacheBenchCase[];
  close(): void;
}

/** Default number of distinct keys. */
export const DEFAULT_BENCH_KEYS = 1_000;
/** Default value: a small health-state-like record. */
export const DEFAULT_BENCH_VALUE = { state: "healthy", failures: 0, successes: 12, since: 1_700_000_000_000 };

/**
 * Builds the four cases and pre-fills the keys (in both tiers through `writer`). `l2-hit`
 * reads through a second cache with an empty L1 and refill `never`, so every read is an L2 hit;
 * `miss-with-loader` uses a new key on every call (TTL 60 s), so every call misses both tiers.
 */
export async function createCacheBench(
  options: Partial<CacheBenchOptions> & { l2: L2Store },
): Promise<CacheBench> {
  const keys = options.keys ?? DEFAULT_BENCH_KEYS;
  const value = options.value ?? DEFAULT_BENCH_VALUE;
  const namespace = options.namespace ?? "bench";
  const base = { ...options.cache, l2: options.l2, namespace, defaultTtlMs: 0 };
  const writer = createTieredCache<unknown>({ ...base, maxEntries: Math.max(keys, 1) });
  const reader = createTieredCache<unknown>({ ...base, refill: "never" });
  const misses = createTieredCache<unknown>({
    ...base,
    namespace: `${namespace}-miss`,
    defaultTtlMs: 60_000,
  });
  const names = Array.from({ length: keys }, (_, i) => `k${i}`);
  await Promise.all(names.map((k) => writer.set(k, value)));
  const key = (i: number) => names[i % keys]!;
  const loader = async () => value;
  let missed = 0;
  const caches: TieredCache<unknown>[] = [writer, reader, misses];
  return {
    cases: [
      { name: "l1-hit", run: (i) => writer.get(key(i)) },
      { name: "l2-hit", run: (i) => reader.get(key(i)) },
      { name: "miss-with-loader", run: () => misses.getOrLoad(`m${missed++}`, loader) },
      { name: "l2-write", run: (i) => writer.set(key(i), value) },
    ],
    close: () => {
      for (const cache of caches) cache.close();
    },
  };
}
