/**
 * Ring hash with bounded load (behaviour.md S7): each backend owns `virtual_nodes` points per
 * unit of weight on a 32-bit ring (hashes of its id and the point's number); a key goes to the
 * owner of the first point at or after the key's hash. The same key maps to the same backend,
 * and removing one of N backends moves only the keys it owned, about 1/N.
 * Bounded load (`balance_factor_percent`, Envoy's hash_balance_factor, >= 100; 0 disables): a
 * backend may hold at most slots = max(1, ceil(ceil((service in-flight + 1) * factor / 100) *
 * weight / total weight)) calls; a key whose owner is full walks on clockwise to the first
 * owner under its bound. Some owner is always under it (the slots add up to more than the
 * calls); when the request filter leaves none, the least overloaded accepted owner is used.
 * Why: affinity (caches, sessions) that survives membership changes, without letting one hot
 * key overload one backend.
 * Missing key: with an empty hash_key this strategy yields nothing, so the service's fallback
 * strategy picks, or round robin when it has none (snapshot.ts appends it).
 * The ring is built with the snapshot (membership, weight or health changes), never per
 * request; it uses registered weights (slow start would move keys, so it does not apply).
 * Size: points are scaled down proportionally above MAX_RING_POINTS (each backend keeps >= 1).
 * Lookup: a bucket index on the top bits of the hash, then a binary search of about four
 * points: O(1) cache lines per lookup.
 * Sources: Karger et al., "Consistent Hashing and Random Trees" (STOC 1997); Mirrokni,
 * Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads" (SODA 2018); Envoy
 * `ring_hash_lb.cc` and `thread_aware_lb_impl.cc` (BoundedLoadHashingLoadBalancer).
 */
import type { BackendState } from "../backend-state.js";
import { fmix32, hashString } from "../hashing.js";
import type { Accept, PickContext, Picker, PickerPool, StrategyDefinition } from "../strategy.js";
import { checkNumber, numberSetting, unknownKeys } from "./settings.js";

/** Points per unit of weight when `virtual_nodes` is unset (proto default). */
export const DEFAULT_VIRTUAL_NODES = 150;
/** Largest `virtual_nodes`. */
export const MAX_VIRTUAL_NODES = 10_000;
/** Largest accepted `balance_factor_percent`. */
export const MAX_BALANCE_FACTOR_PERCENT = 100_000;
/** Bits of the lookup bucket index at most (2^22 buckets, 16 MiB). */
const MAX_BUCKET_BITS = 22;
/** Points on one ring at most (8 bytes each); above it every backend's share is scaled down. */
export const MAX_RING_POINTS = 4_194_304;

/** The `ring_hash` strategy. */
export const ringHash: StrategyDefinition = {
  name: "ring_hash",
  usesHashKey: true,
  usesEffectiveWeights: false,
  validate(settings) {
    const problems = unknownKeys("ring_hash", settings, ["virtual_nodes", "balance_factor_percent"]);
    checkNumber(settings, "virtual_nodes", { min: 1, max: MAX_VIRTUAL_NODES, integer: true }, problems);
    checkNumber(
      settings,
      "balance_factor_percent",
      { min: 100, max: MAX_BALANCE_FACTOR_PERCENT, integer: true, unit: "%" },
      problems,
    );
    return problems;
  },
  create: (pool, settings) =>
    new RingHashPicker(
      pool,
      numberSetting(settings, "virtual_nodes", DEFAULT_VIRTUAL_NODES),
      numberSetting(settings, "balance_factor_percent", 0),
    ),
};

/** A built ring over one pool. */
export class RingHashPicker implements Picker {
  private readonly backends: readonly BackendState[];
  /**
   * The ring: point i's hash at 2i (ascending) and its owner (backend index) at 2i + 1, side by
   * side so a lookup's last probe and its owner share a cache line (at 10,000 backends the ring
   * is tens of MB and every line read is a miss).
   */
  private readonly ring: Uint32Array;
  /** Points on the ring. */
  private readonly size: number;
  private readonly totalWeight: number;
  /** Index of the first point of each bucket of the top `bucketBits` hash bits, plus the end. */
  private readonly buckets: Uint32Array;
  private readonly bucketShift: number;
  /** Visit stamps per backend for one walk (no allocation per request). */
  private readonly seen: Uint32Array;
  private stamp = 0;
  private readonly scale: number;

  constructor(
    pool: PickerPool,
    private readonly virtualNodes: number,
    private readonly balanceFactorPercent: number,
  ) {
    this.backends = pool.backends;
    const weights = this.backends.map((b) => b.spec.weight);
    this.totalWeight = weights.reduce((sum, w) => sum + w, 0);
    this.scale = Math.min(1, MAX_RING_POINTS / Math.max(1, virtualNodes * this.totalWeight));
    const counts = weights.map((w) => Math.max(1, Math.round(virtualNodes * w * this.scale)));
    const total = counts.reduce((sum, c) => sum + c, 0);
    const points = new Uint32Array(total);
    const owners = new Uint32Array(total);
    let k = 0;
    this.backends.forEach((backend, index) => {
      const base = hashString(backend.spec.id);
      for (let j = 0; j < counts[index]!; j++) {
        points[k] = pointHash(base, j);
        owners[k++] = index;
      }
    });
    const [sortedPoints, sortedOwners] = sortByHash(points, owners);
    this.ring = interleave(sortedPoints, sortedOwners);
    this.size = total;
    const bits = Math.min(MAX_BUCKET_BITS, Math.max(1, Math.ceil(Math.log2(total + 1)) - 2));
    this.bucketShift = 32 - bits;
    this.buckets = bucketIndex(sortedPoints, bits);
    this.seen = new Uint32Array(this.backends.length);
  }

  pick(accept: Accept, context: PickContext): BackendState | undefined {
    if (this.size === 0 || context.hashKey === "") return undefined;
    const start = this.lowerBound(hashString(context.hashKey));
    if (this.balanceFactorPercent === 0) {
      const owner = this.backends[this.ring[2 * start + 1]!]!;
      if (accept(owner)) return owner;
    }
    return this.walk(start, accept, context.serviceInFlight);
  }

  /** The hash weight: points owned (per unit of weight times the weight, scaled). */
  score(backend: BackendState): number {
    return Math.max(1, Math.round(this.virtualNodes * backend.spec.weight * this.scale));
  }

  /** Walks clockwise from `start` to the first accepted owner under its bound (when bounded). */
  private walk(start: number, accept: Accept, serviceInFlight: number): BackendState | undefined {
    const size = this.size;
    const bounded = this.balanceFactorPercent > 0;
    const totalSlots = Math.ceil(((serviceInFlight + 1) * this.balanceFactorPercent) / 100);
    const stamp = this.nextStamp();
    let distinct = 0;
    let fallback: BackendState | undefined;
    let fallbackOverload = Number.POSITIVE_INFINITY;
    for (let step = 0; step < size && distinct < this.backends.length; step++) {
      const index = this.ring[2 * ((start + step) % size) + 1]!;
      if (this.seen[index] === stamp) continue;
      this.seen[index] = stamp;
      distinct++;
      const backend = this.backends[index]!;
      if (!accept(backend)) continue;
      if (!bounded) return backend;
      const slots = Math.max(1, Math.ceil((totalSlots * backend.spec.weight) / this.totalWeight));
      if (backend.inFlight < slots) return backend;
      if (backend.inFlight / slots < fallbackOverload) {
        fallback = backend;
        fallbackOverload = backend.inFlight / slots;
      }
    }
    return fallback;
  }

  private nextStamp(): number {
    this.stamp = this.stamp === 0xffffffff ? 1 : this.stamp + 1;
    if (this.stamp === 1) this.seen.fill(0);
    return this.stamp;
  }

  /**
   * The first point at or after `hash`, wrapping to 0: the bucket of its top bits narrows the
   * binary search to a handful of points (about four), so a lookup touches O(1) cache lines.
   */
  private lowerBound(hash: number): number {
    const bucket = hash >>> this.bucketShift;
    let low = this.buckets[bucket]!;
    let high = this.buckets[bucket + 1]!;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.ring[2 * mid]! < hash) low = mid + 1;
      else high = mid;
    }
    return low === this.size ? 0 : low;
  }
}

/** For each value of the top `bits` bits, the index of the first point with that prefix or more; then the length. */
function bucketIndex(points: Uint32Array, bits: number): Uint32Array {
  const shift = 32 - bits;
  const buckets = new Uint32Array((1 << bits) + 1);
  let i = 0;
  for (let bucket = 0; bucket <= 1 << bits; bucket++) {
    while (i < points.length && points[i]! >>> shift < bucket) i++;
    buckets[bucket] = i;
  }
  return buckets;
}

/** Hashes and owners side by side: hash i at 2i, owner i at 2i + 1. */
function interleave(points: Uint32Array, owners: Uint32Array): Uint32Array {
  const ring = new Uint32Array(2 * points.length);
  for (let i = 0; i < points.length; i++) {
    ring[2 * i] = points[i]!;
    ring[2 * i + 1] = owners[i]!;
  }
  return ring;
}

/** The hash of a backend's `index`-th point: one avalanche round over a golden-ratio stride. */
function pointHash(backendHash: number, index: number): number {
  return fmix32(backendHash + Math.imul(index + 1, 0x9e3779b1));
}

/**
 * Sorts points ascending, carrying their owners: LSD radix sort, two stable 16-bit passes,
 * O(points) (a 1.5M-point ring sorts in milliseconds). Equal hashes keep owner order.
 */
export function sortByHash(points: Uint32Array, owners: Uint32Array): [Uint32Array, Uint32Array] {
  let keys = points;
  let values = owners;
  let nextKeys: Uint32Array = new Uint32Array(points.length);
  let nextValues: Uint32Array = new Uint32Array(points.length);
  for (const shift of [0, 16]) {
    const counts = new Uint32Array(65_537);
    for (let i = 0; i < keys.length; i++) counts[((keys[i]! >>> shift) & 0xffff) + 1]!++;
    for (let b = 1; b < counts.length; b++) counts[b]! += counts[b - 1]!;
    for (let i = 0; i < keys.length; i++) {
      const bucket = (keys[i]! >>> shift) & 0xffff;
      const at = counts[bucket]!++;
      nextKeys[at] = keys[i]!;
      nextValues[at] = values[i]!;
    }
    [keys, nextKeys] = [nextKeys, keys];
    [values, nextValues] = [nextValues, values];
  }
  return [keys, values];
}
