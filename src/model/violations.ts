import { MAX_TIMER_MS } from "../shared/clock.js";
import { type FieldViolation, invalidArgument } from "../shared/errors.js";

/** Collects field violations while a request is checked; `throwIfAny` raises them as one error. */
export class Violations {
  private readonly list: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.list.push({ field, description });
  }

  get empty(): boolean {
    return this.list.length === 0;
  }

  /** Checks `value` is an integer in [min, max]; returns it or the fallback. */
  intInRange(field: string, value: number | undefined, min: number, max: number, fallback: number): number {
    if (value === undefined) return fallback;
    if (!Number.isInteger(value) || value < min || value > max) {
      this.add(field, `must be an integer from ${min} to ${max}, got ${value}`);
      return fallback;
    }
    return value;
  }

  /** Checks `value` is a finite number in [min, max]. */
  numberInRange(
    field: string,
    value: number | undefined,
    min: number,
    max: number,
    fallback: number,
  ): number {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value < min || value > max) {
      this.add(field, `must be a number from ${min} to ${max}, got ${value}`);
      return fallback;
    }
    return value;
  }

  /**
   * Checks a duration in ms is >= 0 and <= `maxMs` (by default MAX_TIMER_MS, the longest a
   * timer can wait: every duration here may end in one); unset or 0 takes the fallback.
   */
  duration(field: string, valueMs: number | undefined, fallbackMs: number, maxMs = MAX_TIMER_MS): number {
    if (valueMs === undefined || valueMs === 0) return fallbackMs;
    if (!Number.isFinite(valueMs) || valueMs < 0 || valueMs > maxMs) {
      this.add(field, `must be a duration from 0 to ${maxMs} ms (${describeMs(maxMs)}), got ${valueMs} ms`);
      return fallbackMs;
    }
    return valueMs;
  }

  throwIfAny(): void {
    if (this.list.length > 0) throw invalidArgument(this.list);
  }
}

/** `ms` in days (or hours) to one decimal, for messages: 2147483647 -> "24.8 days". */
export function describeMs(ms: number): string {
  const days = ms / 86_400_000;
  return days >= 1 ? `${days.toFixed(1)} days` : `${(ms / 3_600_000).toFixed(1)} hours`;
}
