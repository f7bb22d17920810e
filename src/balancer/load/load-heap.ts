/**
 * An indexed 4-ary min-heap of slots 0..n-1 by (key, slot), with NaN keys after every number:
 * the order least_load's scan used to find, kept up to date in O(log n) per key change
 * instead of recomputed per pick. The first slot in that order that a filter accepts is
 * exactly what a scan in slot order returns (lowest key, first slot on a tie, NaN never), and a
 * best-first walk of the heap finds it while visiting only the slots ranked before it
 * (O(k log k) for k skipped), so a pick without a filter is O(1).
 * Why 4-ary, with the keys stored by heap position beside the slots: under least_load a key
 * change sifts a slot through nearly every level (a taken in-flight slot sinks to a leaf, a
 * released one rises near the top), so the levels set the cost, and at 10,000 slots the lower
 * ones are out of the L1 cache. Four children per node halve the levels, and a node's children
 * and their keys lie side by side, compared without a read through each child's slot.
 * Source: the indexed priority queue (Sedgewick and Wayne, "Algorithms", 4th ed., 2.4); d-ary
 * heaps (Johnson, "Priority queues with update and finding minimum spanning trees", 1975);
 * best-first enumeration of a heap in order (Frederickson, "An optimal algorithm for
 * selection in a min-heap", 1993, uses the same frontier).
 */
import type { Random } from "../../shared/random.js";

/** Says whether a slot may be returned. */
export type SlotFilter = (slot: number) => boolean;

/** log2 of the children per node. */
const SHIFT = 2;
const CHILDREN = 1 << SHIFT;

/** Slots ordered by (key, slot); a deleted slot is no longer ranked. */
export class LoadHeap {
  /** Heap position -> key of the slot there. */
  private readonly keys: Float64Array;
  /** Heap position -> slot. */
  private readonly heap: Int32Array;
  /** Slot -> heap position, -1 when absent. */
  private readonly position: Int32Array;
  /** Scratch of the walks (heap positions), reused so a pick allocates nothing. */
  private readonly frontier: Int32Array;
  private count = 0;
  /** How many accepted tied slots the last sampleTied saw. */
  lastSeen = 0;

  constructor(slots: number) {
    this.keys = new Float64Array(slots);
    this.heap = new Int32Array(slots);
    this.position = new Int32Array(slots).fill(-1);
    this.frontier = new Int32Array(slots);
  }

  /** Slots present. */
  get size(): number {
    return this.count;
  }

  has(slot: number): boolean {
    return this.position[slot]! >= 0;
  }

  /** The key of a present slot. */
  keyOf(slot: number): number {
    return this.keys[this.position[slot]!]!;
  }

  /** Sets `slot`'s key, adding it when absent; O(log n). */
  set(slot: number, key: number): void {
    let at = this.position[slot]!;
    if (at < 0) {
      at = this.count++;
      this.heap[at] = slot;
      this.position[slot] = at;
    }
    this.keys[at] = key;
    if (!this.up(at)) this.down(at);
  }

  /** Removes `slot` when present; O(log n). */
  delete(slot: number): void {
    const at = this.position[slot]!;
    if (at < 0) return;
    this.position[slot] = -1;
    const end = --this.count;
    if (at === end) return;
    const last = this.heap[end]!;
    this.keys[at] = this.keys[end]!;
    this.heap[at] = last;
    this.position[last] = at;
    if (!this.up(at)) this.down(at);
  }

  /** The first present slot in (key, slot) order, or -1 when empty. */
  peek(): number {
    return this.count > 0 ? this.heap[0]! : -1;
  }

  /**
   * The first slot in (key, slot) order that `accept` accepts and whose key is not NaN, or -1.
   * Visits the slots ranked before it and their children only.
   */
  first(accept: SlotFilter): number {
    if (this.count === 0 || Number.isNaN(this.keys[0]!)) return -1;
    const root = this.heap[0]!;
    if (accept(root)) return root;
    const frontier = this.frontier;
    let size = this.pushChildren(0, 0);
    while (size > 0) {
      const at = frontier[0]!;
      size = this.popFrontier(size);
      if (Number.isNaN(this.keys[at]!)) return -1;
      const slot = this.heap[at]!;
      if (accept(slot)) return slot;
      size = this.pushChildren(at, size);
    }
    return -1;
  }

  /**
   * A uniform choice among the accepted slots whose key equals `key` (reservoir sampling over
   * the subtree of keys <= `key`, the only place they can be), or -1 when there is none.
   */
  sampleTied(key: number, accept: SlotFilter, random: Random): number {
    const { keys, heap, count } = this;
    const stack = this.frontier;
    let size = 0;
    let chosen = -1;
    let seen = 0;
    if (count > 0) stack[size++] = 0;
    while (size > 0) {
      const at = stack[--size]!;
      const k = keys[at]!;
      if (!(k <= key)) continue;
      if (k === key) {
        const slot = heap[at]!;
        if (accept(slot) && random.next() * ++seen < 1) chosen = slot;
      }
      const end = Math.min(firstChild(at) + CHILDREN, count);
      for (let child = firstChild(at); child < end; child++) stack[size++] = child;
    }
    this.lastSeen = seen;
    return chosen;
  }

  /**
   * Moves the slot at heap position `at` up while it comes before its parent; true when it
   * moved. Its key is read back from `keys`, not passed: a key passed in is a tagged number
   * to the JIT wherever this is not inlined, and the sift then boxed every key it moved.
   */
  private up(at: number): boolean {
    // The arrays in locals: read through `this`, V8 reloads and checks them at every access.
    const { keys, heap, position } = this;
    const key = keys[at]!;
    const slot = heap[at]!;
    const start = at;
    while (at > 0) {
      const parent = (at - 1) >> SHIFT;
      const aboveKey = keys[parent]!;
      const above = heap[parent]!;
      if (!before(key, slot, aboveKey, above)) break;
      keys[at] = aboveKey;
      heap[at] = above;
      position[above] = at;
      at = parent;
    }
    if (at === start) return false;
    keys[at] = key;
    heap[at] = slot;
    position[slot] = at;
    return true;
  }

  /** Moves the slot at heap position `at` down while a child comes before it. */
  private down(at: number): void {
    const { keys, heap, position, count } = this;
    const key = keys[at]!;
    const slot = heap[at]!;
    const start = at;
    for (;;) {
      // The least of (key, slot) and the children: one comparison site, which the JIT inlines.
      const first = firstChild(at);
      const end = Math.min(first + CHILDREN, count);
      let least = -1;
      let leastKey = key;
      let leastSlot = slot;
      for (let child = first; child < end; child++) {
        const childKey = keys[child]!;
        const childSlot = heap[child]!;
        if (before(childKey, childSlot, leastKey, leastSlot)) {
          least = child;
          leastKey = childKey;
          leastSlot = childSlot;
        }
      }
      if (least < 0) break;
      keys[at] = leastKey;
      heap[at] = leastSlot;
      position[leastSlot] = at;
      at = least;
    }
    if (at === start) return;
    keys[at] = key;
    heap[at] = slot;
    position[slot] = at;
  }

  /** True when the slot at heap position i comes before the slot at heap position j. */
  private ranksBefore(i: number, j: number): boolean {
    return before(this.keys[i]!, this.heap[i]!, this.keys[j]!, this.heap[j]!);
  }

  /** Adds the children of heap position `at` to the frontier (a binary min-heap of positions). */
  private pushChildren(at: number, size: number): number {
    const end = Math.min(firstChild(at) + CHILDREN, this.count);
    for (let child = firstChild(at); child < end; child++) size = this.pushFrontier(child, size);
    return size;
  }

  private pushFrontier(at: number, size: number): number {
    const frontier = this.frontier;
    let i = size;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.ranksBefore(at, frontier[parent]!)) break;
      frontier[i] = frontier[parent]!;
      i = parent;
    }
    frontier[i] = at;
    return size + 1;
  }

  /** Removes the frontier's first position; returns the new size. */
  private popFrontier(size: number): number {
    const frontier = this.frontier;
    const last = frontier[--size]!;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && this.ranksBefore(frontier[child + 1]!, frontier[child]!)) child++;
      if (!this.ranksBefore(frontier[child]!, last)) break;
      frontier[i] = frontier[child]!;
      i = child;
    }
    if (size > 0) frontier[i] = last;
    return size;
  }
}

/** The heap position of the first child of heap position `at`. */
function firstChild(at: number): number {
  return (at << SHIFT) + 1;
}

/** True when (ka, a) comes before (kb, b): lower key, NaN last, then lower slot. */
function before(ka: number, a: number, kb: number, b: number): boolean {
  // Small, so the JIT inlines it at every sift; unordered keys (a NaN) go to nanBefore.
  return ka < kb || (ka === kb ? a < b : !(ka > kb) && nanBefore(ka, a, kb, b));
}

/** `before` when at least one key is NaN: numbers first, then slot order among NaNs. */
function nanBefore(ka: number, a: number, kb: number, b: number): boolean {
  const nanA = Number.isNaN(ka);
  return nanA === Number.isNaN(kb) ? a < b : !nanA;
}
