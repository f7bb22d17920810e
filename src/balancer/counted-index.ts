/**
 * Small integers for values (services, backends) held by open tickets, with a count per
 * value: a ticket stores the number instead of a reference, and a value's number is freed for
 * reuse once its count falls to zero, so values that come and go (backends re-registered,
 * services deleted) are not kept.
 */
export class CountedIndex<T> {
  private readonly numbers = new Map<T, number>();
  private readonly values: (T | undefined)[] = [];
  private readonly counts: number[] = [];
  private readonly free: number[] = [];

  /** Adds `by` to the count of `value` and returns its number. */
  add(value: T, by: number): number {
    let number = this.numbers.get(value);
    if (number === undefined) {
      number = this.free.pop() ?? this.values.length;
      this.numbers.set(value, number);
      this.values[number] = value;
      this.counts[number] = 0;
    }
    this.counts[number]! += by;
    return number;
  }

  /** Takes `by` from the count of value `number`; at zero the number is freed. */
  remove(number: number, by: number): void {
    const left = this.counts[number]! - by;
    if (left > 0) {
      this.counts[number] = left;
      return;
    }
    this.numbers.delete(this.values[number]!);
    this.values[number] = undefined;
    this.counts[number] = 0;
    this.free.push(number);
  }

  /** The value with `number` (which must be held). */
  valueOf(number: number): T {
    return this.values[number]!;
  }

  /** The count of `value`; 0 when it is not held. */
  countOf(value: T): number {
    const number = this.numbers.get(value);
    return number === undefined ? 0 : this.counts[number]!;
  }
}
