import { describe, expect, it } from "vitest";
import { createCacheBench } from "../../../bench/cache-cases.js";
import {
  CacheConfigError,
  DEFAULT_REFILL,
  DEFAULT_STALE_WINDOW_MS,
  DEFAULT_SWEEP_INTERVAL_MS,
  DEFAULT_TTL_MS,
  resolveTieredCacheOptions,
} from "../../../src/cache/cache-options.js";
import type { FailureMode } from "../../../src/cache/failure-mode.js";
import { createTieredCache } from "../../../src/cache/tiered-cache.js";
import { createSeededRandom } from "../../../src/shared/random.js";
import { MemoryL2 } from "../../../src/store/memory/memory-l2.js";

describe("cache options (O3)", () => {
  it("resolves named defaults once", () => {
    const o = resolveTieredCacheOptions({ namespace: "health", random: createSeededRandom(1) });
    expect(o).toMatchObject({
      namespace: "health",
      name: "health",
      maxEntries: 10_000,
      defaultTtlMs: DEFAULT_TTL_MS,
      staleWindowMs: DEFAULT_STALE_WINDOW_MS,
      sweepIntervalMs: DEFAULT_SWEEP_INTERVAL_MS,
      readPolicy: "sequential",
      writePolicy: "optimisticParallel",
      refill: DEFAULT_REFILL,
      failureMode: { kind: "l1Only" },
      eventQueueSize: 1_024,
      maxSuppressedKeys: 10_000,
      l2: undefined,
      bus: undefined,
    });
    expect(o.replicaId).toMatch(/^replica-/);
    expect(o.codec.decode(o.codec.encode({ a: 1 }))).toEqual({ a: 1 });
  });

  it("names every bad field under cache.<name>", () => {
    const bad = {
      namespace: "s",
      name: "sessions",
      maxEntries: 0,
      defaultTtlMs: -1,
      staleWindowMs: 1.5,
      readPolicy: "fastest",
      writePolicy: "sometimes",
      refill: "maybe",
      eventQueueSize: 0,
      failureMode: { kind: "retry", attempts: 0 },
    } as never;
    let error: CacheConfigError | undefined;
    try {
      resolveTieredCacheOptions(bad);
    } catch (e) {
      error = e as CacheConfigError;
    }
    expect(error).toBeInstanceOf(CacheConfigError);
    expect(error!.violations.map((v) => v.field)).toEqual([
      "cache.sessions.maxEntries",
      "cache.sessions.defaultTtlMs",
      "cache.sessions.staleWindowMs",
      "cache.sessions.eventQueueSize",
      "cache.sessions.readPolicy",
      "cache.sessions.writePolicy",
      "cache.sessions.refill",
      "cache.sessions.failureMode.attempts",
    ]);
    expect(error!.message).toBe("cache.sessions.maxEntries: must be >= 1, got 0 (and 7 more)");
  });

  it("C5: attempts must be an integer from 1 to 20; an unknown failure mode is named", () => {
    const mode = (failureMode: unknown) => () =>
      resolveTieredCacheOptions({ namespace: "q", name: "quota", failureMode: failureMode as FailureMode });
    expect(mode({ kind: "retry", attempts: 0 })).toThrow(
      "cache.quota.failureMode.attempts: must be >= 1, got 0",
    );
    expect(mode({ kind: "retry", attempts: 2.5 })).toThrow(
      "cache.quota.failureMode.attempts: must be an integer",
    );
    expect(mode({ kind: "retry", attempts: 21 })).toThrow("cache.quota.failureMode.attempts: must be <= 20");
    expect(mode({ kind: "ignore" })).toThrow(
      "cache.quota.failureMode.kind: must be one of l1Only, error, retry",
    );
    expect(mode({ kind: "retry", attempts: 1 })).not.toThrow();
  });

  it("an L1-only cache (no L2) works", async () => {
    const cache = createTieredCache<number>({ namespace: "local" });
    await cache.set("k", 1);
    expect(await cache.get("k")).toBe(1);
    expect(await cache.delete("k")).toBe(true);
    cache.close();
  });
});

describe("cache bench cases (smoke)", () => {
  it("builds the four rows over MemoryL2 and each runs", async () => {
    const l2 = new MemoryL2();
    const bench = await createCacheBench({ l2, keys: 10 });
    expect(bench.cases.map((c) => c.name)).toEqual(["l1-hit", "l2-hit", "miss-with-loader", "l2-write"]);
    for (const c of bench.cases) for (let i = 0; i < 20; i++) await c.run(i);
    const [l1Hit, l2Hit] = bench.cases;
    expect(await l1Hit!.run(3)).toEqual(await l2Hit!.run(3));
    bench.close();
  });
});
