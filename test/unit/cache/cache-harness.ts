/**
 * Shared set-up of the tiered-cache unit tests: ManualClock, seeded Random, MemoryL2 behind
 * a FaultyL2, a recording logger and an event subscriber.
 */
import type { CacheEvent } from "../../../src/cache/cache-events.js";
import type { TieredCacheOptions } from "../../../src/cache/cache-options.js";
import { createTieredCache, type TieredCache } from "../../../src/cache/tiered-cache.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom } from "../../../src/shared/random.js";
import { MemoryL2 } from "../../../src/store/memory/memory-l2.js";
import { FaultyL2 } from "./faulty-l2.js";

/** Lets every pending microtask and promise chain run (setImmediate runs after them). */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Advances `clock` by `ms` in `stepMs` steps, flushing promises between steps. */
export async function run(clock: ManualClock, ms: number, stepMs = 1): Promise<void> {
  for (let done = 0; done < ms; done += stepMs) {
    await flush(1);
    clock.advance(Math.min(stepMs, ms - done));
  }
  await flush();
}

/** Everything a cache test needs. */
export interface Harness<V> {
  readonly clock: ManualClock;
  readonly memory: MemoryL2;
  readonly l2: FaultyL2;
  readonly cache: TieredCache<V>;
  readonly events: CacheEvent[];
  readonly logs: Record<string, unknown>[];
  /** A second cache on the same L2 and namespace (another replica without a bus). */
  peer(options?: Partial<TieredCacheOptions<V>>): TieredCache<V>;
}

/** A cache over MemoryL2 + FaultyL2 at namespace "t", with `options` on top. */
export function setup<V = unknown>(options: Partial<TieredCacheOptions<V>> = {}): Harness<V> {
  const clock = new ManualClock();
  const memory = new MemoryL2({ clock });
  const l2 = new FaultyL2(memory, clock);
  const logs: Record<string, unknown>[] = [];
  const logger = {
    warn: (fields: Record<string, unknown>, message: string) => logs.push({ ...fields, message }),
  };
  const base: Partial<TieredCacheOptions<V>> = {
    namespace: "t",
    clock,
    random: createSeededRandom(7),
    l2,
    logger,
  };
  const cache = createTieredCache<V>({ ...base, ...options });
  const events: CacheEvent[] = [];
  cache.subscribe(
    (e) => {
      events.push(e);
    },
    { queueSize: 100_000 },
  );
  const peer = (more: Partial<TieredCacheOptions<V>> = {}) =>
    createTieredCache<V>({ ...base, replicaId: "peer", ...more });
  return { clock, memory, l2, cache, events, logs, peer };
}

/** `type:key[:reason]` of each event, for compact assertions. */
export function summary(events: readonly CacheEvent[]): string[] {
  return events.map((e) => {
    if (e.type === "invalidate") return `invalidate:${e.key ?? "*"}:${e.reason}`;
    return `${e.type}:${e.key ?? "*"}`;
  });
}
