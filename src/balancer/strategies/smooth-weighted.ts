/**
 * Smooth weighted round robin (behaviour.md S2), nginx's algorithm: every turn each backend's
 * current weight grows by its weight, the largest current (first index on ties) is picked and
 * loses the total. Weights 5, 1, 1 give a a b a c a a per cycle of 7: heavy backends are
 * interleaved with light ones instead of served in a burst, and each cycle of `total` turns
 * gives every backend exactly its weight.
 * Why: the smoothest deterministic weighted order; the usual choice for a few weighted backends.
 * How (O(distinct weights) per pick, not O(n)): backends of equal weight are always picked in
 * index order among themselves (the one picked least, first index on ties), so each weight
 * group keeps a cursor; a turn compares one candidate per group. The cycle restarts at turn
 * `total`, where every current weight is back to 0. Small cycles are precomputed with the
 * snapshot (MAX_SCHEDULE_WORK), so a pick is one array read.
 * Filters: a turn whose backend the request rejects is consumed (like round robin's skip); after
 * SKIP_LIMIT rejected turns, a weighted random accepted backend is returned instead.
 * Slow start applies: fractional effective weights are scaled to integers (integer-weights.ts).
 * Source: nginx `ngx_http_upstream_get_peer` in src/http/ngx_http_upstream_round_robin.c.
 */
import type { Random } from "../../shared/random.js";
import type { BackendState } from "../backend-state.js";
import { integerWeights } from "../integer-weights.js";
import {
  ACCEPT_ALL,
  type Accept,
  type Picker,
  type PickerPool,
  type StrategyDefinition,
} from "../strategy.js";
import { unknownKeys } from "./settings.js";
import { weightedRandomAccepted } from "./weighted-fallback.js";

/** Rejected turns a filtered pick walks through before falling back to a weighted random pick. */
export const SMOOTH_WEIGHTED_SKIP_LIMIT = 64;
/**
 * The cycle (total weight turns) is precomputed with the snapshot when turns x weight groups
 * stays under this (about 10 ms of work, at most 4 MiB); larger cycles step turn by turn.
 */
export const MAX_SCHEDULE_WORK = 1 << 22;

/** The `smooth_weighted` strategy; it takes no settings. */
export const smoothWeighted: StrategyDefinition = {
  name: "smooth_weighted",
  usesHashKey: false,
  usesEffectiveWeights: true,
  inlinedPick: true,
  validate: (settings) => unknownKeys("smooth_weighted", settings, []),
  create: (pool, _settings, deps) => new SmoothWeightedPicker(pool, deps.random),
};

/** nginx smooth WRR over one pool, by weight groups. */
export class SmoothWeightedPicker implements Picker {
  private readonly backends: readonly BackendState[];
  private readonly weights: number[];
  private readonly groupWeight: number[] = [];
  private readonly groupMembers: number[][] = [];
  private readonly cursor: number[] = [];
  /** Picks of the group's cursor member (the others before it have one more). */
  private readonly base: number[] = [];
  private readonly total: number;
  private turn = 0;
  /** The whole cycle, precomputed when small enough; then a turn is one array read. */
  private readonly schedule: Uint32Array | undefined;
  private position = 0;

  constructor(
    pool: PickerPool,
    private readonly random: Random,
  ) {
    this.backends = pool.backends;
    this.weights = integerWeights(pool.weights);
    this.total = this.weights.reduce((sum, w) => sum + w, 0);
    const groupOf = new Map<number, number>();
    this.weights.forEach((weight, index) => {
      let group = groupOf.get(weight);
      if (group === undefined) {
        group = this.groupWeight.length;
        groupOf.set(weight, group);
        this.groupWeight.push(weight);
        this.groupMembers.push([]);
        this.cursor.push(0);
        this.base.push(0);
      }
      this.groupMembers[group]!.push(index);
    });
    if (this.total * this.groupWeight.length <= MAX_SCHEDULE_WORK) {
      this.schedule = new Uint32Array(this.total);
      for (let t = 0; t < this.total; t++) this.schedule[t] = this.step();
    }
  }

  pick(accept: Accept): BackendState | undefined {
    if (this.total === 0) return undefined;
    if (accept === ACCEPT_ALL) return this.backends[this.next()];
    const limit = Math.min(this.total, SMOOTH_WEIGHTED_SKIP_LIMIT);
    for (let i = 0; i < limit; i++) {
      const backend = this.backends[this.next()]!;
      if (accept(backend)) return backend;
    }
    return weightedRandomAccepted(this.backends, this.weights, accept, this.random);
  }

  score(backend: BackendState): number {
    return backend.spec.weight;
  }

  /** The next turn's backend index, from the precomputed cycle or by one nginx turn. */
  private next(): number {
    const schedule = this.schedule;
    if (!schedule) return this.step();
    const index = schedule[this.position]!;
    this.position = this.position + 1 === schedule.length ? 0 : this.position + 1;
    return index;
  }

  /** One nginx turn; returns the picked backend's index. */
  private step(): number {
    const t = ++this.turn;
    let bestGroup = 0;
    let bestValue = Number.NEGATIVE_INFINITY;
    let bestIndex = Number.POSITIVE_INFINITY;
    for (let g = 0; g < this.groupWeight.length; g++) {
      const value = t * this.groupWeight[g]! - this.total * this.base[g]!;
      const index = this.groupMembers[g]![this.cursor[g]!]!;
      if (value > bestValue || (value === bestValue && index < bestIndex)) {
        bestGroup = g;
        bestValue = value;
        bestIndex = index;
      }
    }
    const next = this.cursor[bestGroup]! + 1;
    if (next === this.groupMembers[bestGroup]!.length) {
      this.cursor[bestGroup] = 0;
      this.base[bestGroup] = this.base[bestGroup]! + 1;
    } else {
      this.cursor[bestGroup] = next;
    }
    if (t === this.total) this.restartCycle();
    return bestIndex;
  }

  private restartCycle(): void {
    this.turn = 0;
    this.cursor.fill(0);
    this.base.fill(0);
  }
}
