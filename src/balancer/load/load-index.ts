/**
 * least_load's order of a pool's backends by load / capacity, kept up to date as loads change
 * (BackendState tells its LoadWatchers) so a pick reads the best instead of scanning: O(log n)
 * per load change, O(1) per pick without a filter, and with a filter O(k log k) for the k
 * better-ranked backends it rejects.
 * - `in_flight` and `ewma_latency` (StaticLoadIndex): a backend's key is the scan's own
 *   figure, load / capacity, which only changes when its inputs do. Exact: the same backend
 *   as a scan in registration order, ties to the first.
 * - `peak_ewma` (DecayingLoadIndex): the cost max(1 ms, peak * e^(-(now - at) / decay)) *
 *   (in flight + 1) / capacity changes with time, but every decaying peak shrinks by the same
 *   factor, so their order does not: they are ranked by the logarithm of the cost at a fixed
 *   origin. Costs at the 1 ms floor are ranked by their exact value in a second heap, and a
 *   third holds the moment each decaying peak reaches the floor, when it moves across. A pick
 *   compares the two heaps' bests by the exact cost at now. Exact up to the rounding of that
 *   logarithm: two costs within about 1e-12 of each other may rank either way.
 */
import type { Clock } from "../../shared/clock.js";
import type { Random } from "../../shared/random.js";
import type { BackendState, LoadWatcher } from "../backend-state.js";
import { peakEwmaAt } from "./latency-estimate.js";
import { LoadHeap, type SlotFilter } from "./load-heap.js";
import { type LoadFunction, type LoadMetricName, loadFunction, PEAK_EWMA_MIN_RTT_MS } from "./load-metric.js";

/** A pool's backends ordered by load / capacity. */
export interface LoadIndex extends LoadWatcher {
  /** The accepted backend with the lowest cost at `now` (the first on a tie, NaN never), or -1. */
  first(accept: SlotFilter, now: number): number;
  /** A uniform choice among the accepted backends tied at the lowest cost, or -1. */
  sample(accept: SlotFilter, now: number, random: Random): number;
  /** Stops following load changes (the pool's snapshot was replaced); `first` then rebuilds per call. */
  dispose(): void;
}

/** The pool a LoadIndex orders: backends and their effective capacities, index-aligned. */
export interface IndexedPool {
  readonly backends: readonly BackendState[];
  readonly capacities: readonly number[];
}

/** The index for `metric` over `pool`, following its backends' load changes. */
export function loadIndex(
  pool: IndexedPool,
  metric: LoadMetricName,
  decayMs: number,
  clock: Clock,
): LoadIndex {
  if (metric === "peak_ewma") return new DecayingLoadIndex(pool, decayMs, clock);
  return new StaticLoadIndex(pool, loadFunction(metric, decayMs));
}

/** Registers `watcher` on every backend of `pool`, slot = position. */
function watchAll(pool: IndexedPool, watcher: LoadWatcher): void {
  pool.backends.forEach((backend, slot) => {
    backend.watchLoad(watcher, slot);
  });
}

function unwatchAll(pool: IndexedPool, watcher: LoadWatcher): void {
  for (const backend of pool.backends) backend.unwatchLoad(watcher);
}

/** For metrics that do not read the clock: one heap keyed by load / capacity. */
class StaticLoadIndex implements LoadIndex {
  private readonly heap: LoadHeap;
  private live = true;

  constructor(
    private readonly pool: IndexedPool,
    private readonly load: LoadFunction,
  ) {
    this.heap = new LoadHeap(pool.backends.length);
    for (let slot = 0; slot < pool.backends.length; slot++) this.loadChanged(slot);
    watchAll(pool, this);
  }

  loadChanged(slot: number): void {
    this.heap.set(slot, this.load(this.pool.backends[slot]!, 0) / this.pool.capacities[slot]!);
  }

  first(accept: SlotFilter): number {
    if (!this.live) this.rekey();
    return this.heap.first(accept);
  }

  sample(accept: SlotFilter, _now: number, random: Random): number {
    const best = this.first(accept);
    return best < 0 ? -1 : this.heap.sampleTied(this.heap.keyOf(best), accept, random);
  }

  dispose(): void {
    this.live = false;
    unwatchAll(this.pool, this);
  }

  private rekey(): void {
    for (let slot = 0; slot < this.pool.backends.length; slot++) this.loadChanged(slot);
  }
}

/** For peak_ewma: decaying costs by their log at an origin, floored ones by value, and when each floors. */
class DecayingLoadIndex implements LoadIndex {
  /** Backends whose peak is above the floor, by ln(cost) + (now - origin) / decay. */
  private readonly decaying: LoadHeap;
  /** Backends at the floor (or NaN), by their exact cost. */
  private readonly floored: LoadHeap;
  /** Decaying backends by the moment (ms from the origin) their peak reaches the floor. */
  private readonly floorsAt: LoadHeap;
  private readonly origin: number;
  private readonly load: LoadFunction;
  private readonly heaps: readonly LoadHeap[];
  private live = true;

  constructor(
    private readonly pool: IndexedPool,
    private readonly decayMs: number,
    private readonly clock: Clock,
  ) {
    const n = pool.backends.length;
    this.decaying = new LoadHeap(n);
    this.floored = new LoadHeap(n);
    this.floorsAt = new LoadHeap(n);
    this.heaps = [this.floored, this.decaying];
    this.load = loadFunction("peak_ewma", decayMs);
    this.origin = clock.now();
    this.rekey(this.origin);
    watchAll(pool, this);
  }

  loadChanged(slot: number): void {
    this.place(slot, this.clock.now());
  }

  first(accept: SlotFilter, now: number): number {
    this.advance(now);
    const a = this.floored.first(accept);
    const b = this.decaying.first(accept);
    if (a < 0 || b < 0) return a < 0 ? b : a;
    const costA = this.cost(a, now);
    const costB = this.cost(b, now);
    return costB < costA || (costB === costA && b < a) ? b : a;
  }

  sample(accept: SlotFilter, now: number, random: Random): number {
    const best = this.first(accept, now);
    if (best < 0) return -1;
    const cost = this.cost(best, now);
    let chosen = -1;
    let seen = 0;
    for (const heap of this.heaps) {
      const head = heap.first(accept);
      if (head < 0 || this.cost(head, now) !== cost) continue;
      const pick = heap.sampleTied(heap.keyOf(head), accept, random);
      // Each heap's choice is uniform over its ties; weigh them by how many each saw.
      seen += heap.lastSeen;
      if (random.next() * seen < heap.lastSeen) chosen = pick;
    }
    return chosen;
  }

  dispose(): void {
    this.live = false;
    unwatchAll(this.pool, this);
  }

  /** The scan's own figure: the cost at `now`. */
  private cost(slot: number, now: number): number {
    return this.load(this.pool.backends[slot]!, now) / this.pool.capacities[slot]!;
  }

  /** Moves every peak that has reached the floor by `now` across (amortized: once per sample). */
  private advance(now: number): void {
    if (!this.live) this.rekey(now);
    const at = now - this.origin;
    for (let slot = this.floorsAt.peek(); slot >= 0 && this.floorsAt.keyOf(slot) <= at; ) {
      this.place(slot, now);
      slot = this.floorsAt.peek();
    }
  }

  private rekey(now: number): void {
    for (let slot = 0; slot < this.pool.backends.length; slot++) this.place(slot, now);
  }

  /** Files `slot` under the heap its cost at `now` belongs to. */
  private place(slot: number, now: number): void {
    const backend = this.pool.backends[slot]!;
    const peak = peakEwmaAt(backend, now, this.decayMs);
    if (peak > PEAK_EWMA_MIN_RTT_MS) {
      this.floored.delete(slot);
      // ln(cost at now) + (now - origin) / decay, which decay does not change.
      const rank =
        Math.log(peak) +
        (now - this.origin) / this.decayMs +
        Math.log(backend.inFlight + backend.remoteInFlight + 1) -
        Math.log(this.pool.capacities[slot]!);
      this.decaying.set(slot, rank);
      this.floorsAt.set(slot, now - this.origin + this.decayMs * Math.log(peak / PEAK_EWMA_MIN_RTT_MS));
    } else {
      this.decaying.delete(slot);
      this.floorsAt.delete(slot);
      this.floored.set(slot, this.cost(slot, now));
    }
  }
}
