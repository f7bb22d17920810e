/**
 * Maglev hashing (behaviour.md S7): a lookup table of `table_size` entries (a prime, default
 * 65537) filled by letting each backend claim entries in the order of its own permutation
 * (offset + j * skip mod size), taking turns in proportion to weight; a key goes to
 * table[hash(key) mod size]. O(1) lookups, near-perfect balance, and removing one of N
 * backends moves about 1/N of keys (a little more than a ring: the paper's "minimal
 * disruption" is approximate).
 * Why: the fastest consistent lookup; use it for large pools and high rates. Use ring_hash
 * when you need bounded load.
 * Weights: Envoy's scheme: every round each backend whose accumulated weight has reached its
 * target claims one entry (the heaviest claims every round).
 * Filters: when the key's entry is rejected, the next entries are tried in order.
 * Missing key: yields nothing, so the fallback strategy picks, or round robin (snapshot.ts).
 * The table is built with the snapshot (membership, weight or health changes), never per
 * request; it uses registered weights (slow start does not apply). Backends beyond the table
 * size get no entry.
 * Sources: Eisenbud et al., "Maglev: A Fast and Reliable Software Network Load Balancer"
 * (NSDI 2016), section 3.4; Envoy `maglev_lb.cc` (weighted table build).
 */
import type { BackendState } from "../backend-state.js";
import { hashString } from "../hashing.js";
import type { Accept, PickContext, Picker, PickerPool, StrategyDefinition } from "../strategy.js";
import { numberSetting, unknownKeys } from "./settings.js";

/** Table size when `table_size` is unset (proto default, Envoy's default). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;
/** Largest `table_size` (Envoy's limit). */
export const MAX_MAGLEV_TABLE_SIZE = 5_000_011;
/** Rejected entries walked before checking whether the filter accepts any backend at all. */
const PROBES_BEFORE_CHECK = 64;
/** Seeds of the two hashes of a backend id: offset and skip. */
const OFFSET_SEED = 0;
const SKIP_SEED = 1;

/** True when `n` is prime (trial division; sizes are at most MAX_MAGLEV_TABLE_SIZE). */
export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  if (n % 2 === 0) return n === 2;
  for (let d = 3; d * d <= n; d += 2) if (n % d === 0) return false;
  return true;
}

/** The `maglev` strategy. */
export const maglev: StrategyDefinition = {
  name: "maglev",
  usesHashKey: true,
  usesEffectiveWeights: false,
  validate(settings) {
    const problems = unknownKeys("maglev", settings, ["table_size"]);
    const size = settings.table_size;
    if (size !== undefined && size !== 0) {
      if (typeof size !== "number" || !isPrime(size) || size < 3 || size > MAX_MAGLEV_TABLE_SIZE)
        problems.push({
          field: "table_size",
          description: `must be a prime from 3 to ${MAX_MAGLEV_TABLE_SIZE} (e.g. 65537), got ${String(size)}`,
        });
    }
    return problems;
  },
  create: (pool, settings) =>
    new MaglevPicker(pool, numberSetting(settings, "table_size", DEFAULT_MAGLEV_TABLE_SIZE)),
};

/** A built Maglev table over one pool. */
export class MaglevPicker implements Picker {
  private readonly backends: readonly BackendState[];
  /** Backend index per entry. */
  private readonly table: Uint32Array;

  constructor(pool: PickerPool, size: number) {
    this.backends = pool.backends;
    this.table = buildTable(
      pool.backends.map((b) => b.spec.id),
      pool.backends.map((b) => b.spec.weight),
      size,
    );
  }

  pick(accept: Accept, context: PickContext): BackendState | undefined {
    if (this.backends.length === 0 || context.hashKey === "") return undefined;
    const size = this.table.length;
    const start = hashString(context.hashKey) % size;
    const checkAt = Math.max(this.backends.length, PROBES_BEFORE_CHECK);
    for (let step = 0; step < size; step++) {
      const backend = this.backends[this.table[(start + step) % size]!]!;
      if (accept(backend)) return backend;
      if (step === checkAt && !this.backends.some(accept)) return undefined;
    }
    return undefined;
  }

  /** The hash weight: table entries owned. Called only for explain. */
  score(backend: BackendState): number {
    const index = this.backends.indexOf(backend);
    let owned = 0;
    for (const entry of this.table) if (entry === index) owned++;
    return owned;
  }
}

/**
 * The Maglev table: entry -> backend index. Each backend i has offset = h0(id) mod M and
 * skip = h1(id) mod (M - 1) + 1; in each round every backend whose turn has come claims the
 * next free entry of its permutation. Deterministic for the same ids, weights and size.
 */
export function buildTable(ids: readonly string[], weights: readonly number[], size: number): Uint32Array {
  const table = new Uint32Array(size);
  const n = ids.length;
  if (n === 0) return table;
  const taken = new Uint8Array(size);
  const position = new Float64Array(n);
  const skip = new Float64Array(n);
  const target = new Float64Array(n);
  const maxWeight = Math.max(...weights);
  ids.forEach((id, i) => {
    position[i] = hashString(id, OFFSET_SEED) % size;
    skip[i] = (hashString(id, SKIP_SEED) % (size - 1)) + 1;
  });
  let filled = 0;
  for (let round = 1; filled < size; round++) {
    for (let i = 0; i < n && filled < size; i++) {
      if (round * weights[i]! < target[i]!) continue;
      target[i]! += maxWeight;
      let entry = position[i]!;
      while (taken[entry] === 1) entry = (entry + skip[i]!) % size;
      taken[entry] = 1;
      table[entry] = i;
      position[i] = (entry + skip[i]!) % size;
      filled++;
    }
  }
  return table;
}
