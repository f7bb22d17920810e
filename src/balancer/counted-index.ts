/**
 * Small integers for values (services, backends) held by open tickets, with a count of the
 * tickets holding each: a ticket stores the number instead of a reference. Once a value's
 * count falls to zero the value is dropped and its number reused, so values that come and go
 * (backends re-registered, services deleted) are not kept; the arrays keep the length of the
 * most values held at once (a few words each).
 */
export class CountedIndex<T> {
  private readonly numbers = new Map<T, number>();
  private readonly values: (T | undefined)[] = [];
  private readonly counts: number[] = [];
  private readonly free: number[] = [];

  /** Counts one more holder of `value` and returns its number. */
  add(value: T): number {
    let number = this.numbers.get(value);
    if (number === undefined) {
      number = this.free.pop() ?? this.values.length;
      this.numbers.set(value, number);
      this.values[number] = value;
      this.counts[number] = 0;
    }
    this.counts[number]!++;
    return number;
  }

  /** Counts one holder fewer of value `number`; at zero the number is freed. */
  remove(number: number): void {
    const left = this.counts[number]! - 1;
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

  /** The number of `value`; -1 when it is not held. */
  numberOf(value: T): number {
    return this.numbers.get(value) ?? -1;
  }
}
