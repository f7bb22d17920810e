/**
 * An indexed binary min-heap of slots 0..n-1 by (key, slot), with NaN keys after every number:
 * the order least_load's scan used to find, kept up to date in O(log n) per key change
 * instead of recomputed per pick. The first slot in that order that a filter accepts is
 * exactly what a scan in slot order returns (lowest key, first slot on a tie, NaN never), and a
 * best-first walk of the heap finds it while visiting only the slots ranked before it
 * (O(k log k) for k skipped), so a pick without a filter is O(1).
 * Source: the indexed priority queue (Sedgewick and Wayne, "Algorithms", 4th ed., 2.4);
 * best-first enumeration of a heap in order (Frederickson, "An optimal algorithm for
 * selection in a min-heap", 1993, uses the same frontier).
 */
import type { Random } from "../../shared/random.js";

/** Says whether a slot may be returned. */
export type SlotFilter = (slot: number) => boolean;

/** Keys by slot, ordered; slots may be absent (their key is kept but not ranked). */
export class LoadHeap {
  /** The key of every slot, present or not. */
  readonly keys: Float64Array;
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

  /** Sets `slot`'s key, adding it when absent; O(log n). */
  set(slot: number, key: number): void {
    this.keys[slot] = key;
    const at = this.position[slot]!;
    if (at < 0) {
      this.place(slot, this.count++);
      this.up(this.count - 1);
    } else if (!this.up(at)) {
      this.down(at);
    }
  }

  /** Removes `slot` when present; O(log n). */
  delete(slot: number): void {
    const at = this.position[slot]!;
    if (at < 0) return;
    this.position[slot] = -1;
    const last = this.heap[--this.count]!;
    if (at === this.count) return;
    this.place(last, at);
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
    if (this.count === 0) return -1;
    const root = this.heap[0]!;
    if (Number.isNaN(this.keys[root]!)) return -1;
    if (accept(root)) return root;
    const frontier = this.frontier;
    let size = 0;
    size = this.pushChildren(0, size);
    while (size > 0) {
      const at = frontier[0]!;
      size = this.popFrontier(size);
      const slot = this.heap[at]!;
      if (Number.isNaN(this.keys[slot]!)) return -1;
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
    const stack = this.frontier;
    let size = 0;
    let chosen = -1;
    let seen = 0;
    if (this.count > 0) stack[size++] = 0;
    while (size > 0) {
      const at = stack[--size]!;
      const slot = this.heap[at]!;
      const k = this.keys[slot]!;
      if (!(k <= key)) continue;
      if (k === key && accept(slot) && random.next() * ++seen < 1) chosen = slot;
      const left = 2 * at + 1;
      if (left < this.count) stack[size++] = left;
      if (left + 1 < this.count) stack[size++] = left + 1;
    }
    this.lastSeen = seen;
    return chosen;
  }

  /** True when slot a comes before slot b: lower key, NaN last, then lower slot. */
  private before(a: number, b: number): boolean {
    const ka = this.keys[a]!;
    const kb = this.keys[b]!;
    if (ka < kb) return true;
    if (ka > kb) return false;
    if (ka === kb) return a < b;
    // At least one NaN: numbers first, then slot order among NaNs.
    const nanA = Number.isNaN(ka);
    const nanB = Number.isNaN(kb);
    return nanA === nanB ? a < b : nanB;
  }

  private place(slot: number, at: number): void {
    this.heap[at] = slot;
    this.position[slot] = at;
  }

  /** Moves the slot at `at` up while it comes before its parent; true when it moved. */
  private up(at: number): boolean {
    const slot = this.heap[at]!;
    const start = at;
    while (at > 0) {
      const parent = (at - 1) >> 1;
      const above = this.heap[parent]!;
      if (!this.before(slot, above)) break;
      this.place(above, at);
      at = parent;
    }
    this.place(slot, at);
    return at !== start;
  }

  private down(at: number): void {
    const slot = this.heap[at]!;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= this.count) break;
      if (child + 1 < this.count && this.before(this.heap[child + 1]!, this.heap[child]!)) child++;
      const below = this.heap[child]!;
      if (!this.before(below, slot)) break;
      this.place(below, at);
      at = child;
    }
    this.place(slot, at);
  }

  /** Adds the children of heap position `at` to the frontier (a min-heap of positions). */
  private pushChildren(at: number, size: number): number {
    const left = 2 * at + 1;
    if (left < this.count) size = this.pushFrontier(left, size);
    if (left + 1 < this.count) size = this.pushFrontier(left + 1, size);
    return size;
  }

  private pushFrontier(at: number, size: number): number {
    const frontier = this.frontier;
    let i = size;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(this.heap[at]!, this.heap[frontier[parent]!]!)) break;
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
      if (child + 1 < size && this.before(this.heap[frontier[child + 1]!]!, this.heap[frontier[child]!]!))
        child++;
      if (!this.before(this.heap[frontier[child]!]!, this.heap[last]!)) break;
      frontier[i] = frontier[child]!;
      i = child;
    }
    if (size > 0) frontier[i] = last;
    return size;
  }
}
