/** Slots a NumberQueue starts with; it doubles when full. */
const INITIAL_CAPACITY = 64;

/**
 * A first-in first-out queue of numbers in one Float64Array ring that doubles when full: a
 * queued number costs 8 bytes and nothing for the garbage collector to trace.
 */
export class NumberQueue {
  private items = new Float64Array(INITIAL_CAPACITY);
  private head = 0;
  private count = 0;

  get length(): number {
    return this.count;
  }

  push(value: number): void {
    if (this.count === this.items.length) this.grow();
    this.items[(this.head + this.count) % this.items.length] = value;
    this.count++;
  }

  /** The oldest number; undefined when empty. */
  peek(): number | undefined {
    return this.count > 0 ? this.items[this.head] : undefined;
  }

  /** Slots of its array (8 bytes each). */
  get capacity(): number {
    return this.items.length;
  }

  /** Drops the oldest number; a queue at an eighth of its room halves it, so a burst does not keep its memory. */
  shift(): void {
    if (this.count === 0) return;
    this.head = (this.head + 1) % this.items.length;
    this.count--;
    if (this.isSparse()) this.resize(this.items.length / 2);
  }

  /**
   * Keeps only the numbers `keep` accepts, in order. A queue left at an eighth of its room
   * shrinks to twice what it keeps, so a burst of dropped numbers does not keep its memory.
   */
  retain(keep: (value: number) => boolean): void {
    const capacity = this.items.length;
    let kept = 0;
    for (let i = 0; i < this.count; i++) {
      const value = this.items[(this.head + i) % capacity]!;
      if (keep(value)) this.items[(this.head + kept++) % capacity] = value;
    }
    this.count = kept;
    if (!this.isSparse()) return;
    let fit = INITIAL_CAPACITY;
    while (fit < kept * 2) fit *= 2;
    this.resize(fit);
  }

  /** At an eighth of its room or less (and above its first size): time to shrink. */
  private isSparse(): boolean {
    return this.items.length > INITIAL_CAPACITY && this.count * 8 <= this.items.length;
  }

  private grow(): void {
    this.resize(this.items.length * 2);
  }

  private resize(capacity: number): void {
    const items = new Float64Array(capacity);
    for (let i = 0; i < this.count; i++) items[i] = this.items[(this.head + i) % this.items.length]!;
    this.items = items;
    this.head = 0;
  }
}
