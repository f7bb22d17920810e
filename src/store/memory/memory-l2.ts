/**
 * An in-memory L2Store: the second tier of the embedded (single-process) mode and the
 * reference implementation the L2 contract suite runs against (test/unit/cache/l2-contract.ts).
 * It honours `expiresAt` on the injected Clock (lazily on access, plus `sweep()` and an
 * optional sweep timer), keeps records as immutable copies, and reports a stored record
 * whose key differs from the one asked for, or a malformed record, as L2Error `corrupt`.
 */
import type { L2Record, L2Store } from "../../cache/ports.js";
import { L2Error } from "../../cache/ports.js";
import { type Clock, every, systemClock } from "../../shared/clock.js";

/** Options of a MemoryL2. */
export interface MemoryL2Options {
  readonly clock: Clock;
  /** Interval of the expiry sweep on the clock; 0 = lazy expiry only. */
  readonly sweepIntervalMs: number;
}

/** Default sweep interval of a MemoryL2: lazy expiry only. */
export const DEFAULT_MEMORY_L2_SWEEP_INTERVAL_MS = 0;

function isRecord(value: unknown): value is L2Record {
  const r = value as Partial<L2Record> | undefined;
  return (
    typeof r === "object" &&
    r !== null &&
    typeof r.key === "string" &&
    typeof r.value === "string" &&
    typeof r.expiresAt === "number" &&
    Number.isFinite(r.expiresAt) &&
    r.expiresAt >= 0
  );
}

/** An L2Store in a Map; see the file header. */
export class MemoryL2 implements L2Store {
  private readonly records = new Map<string, unknown>();
  private readonly clock: Clock;
  private readonly stopSweep: (() => void) | undefined;

  constructor(options: Partial<MemoryL2Options> = {}) {
    this.clock = options.clock ?? systemClock;
    const interval = options.sweepIntervalMs ?? DEFAULT_MEMORY_L2_SWEEP_INTERVAL_MS;
    if (!Number.isInteger(interval) || interval < 0) {
      throw new RangeError(`memoryL2.sweepIntervalMs: must be an integer >= 0, got ${interval}`);
    }
    this.stopSweep = interval > 0 ? every(this.clock, interval, () => this.sweep()) : undefined;
  }

  /** Records held, including expired ones not yet swept. */
  get size(): number {
    return this.records.size;
  }

  async get(key: string): Promise<L2Record | undefined> {
    const stored = this.records.get(key);
    if (stored === undefined) return undefined;
    if (!isRecord(stored)) throw new L2Error("corrupt", `malformed record under ${key}`);
    if (this.expired(stored)) {
      this.records.delete(key);
      return undefined;
    }
    if (stored.key !== key) throw new L2Error("corrupt", `record under ${key} names ${stored.key}`);
    return stored;
  }

  async set(record: L2Record): Promise<void> {
    if (!isRecord(record)) {
      throw new L2Error("command", `invalid record: key and value must be strings, expiresAt a number >= 0`);
    }
    if (this.expired(record)) {
      this.records.delete(record.key);
      return;
    }
    this.records.set(
      record.key,
      Object.freeze({ key: record.key, value: record.value, expiresAt: record.expiresAt }),
    );
  }

  async delete(key: string): Promise<boolean> {
    const stored = this.records.get(key);
    if (stored === undefined) return false;
    this.records.delete(key);
    return !isRecord(stored) || !this.expired(stored);
  }

  /**
   * Stores `raw` under `key` as is, bypassing every check: a record naming another key, or
   * something that isn't a record at all. For corruption tests only.
   */
  plant(key: string, raw: unknown): void {
    this.records.set(key, raw);
  }

  /** Drops expired records now; returns how many. */
  sweep(): number {
    let dropped = 0;
    for (const [key, stored] of this.records) {
      if (isRecord(stored) && this.expired(stored)) {
        this.records.delete(key);
        dropped++;
      }
    }
    return dropped;
  }

  /** Stops the sweep timer. */
  close(): void {
    this.stopSweep?.();
  }

  private expired(record: L2Record): boolean {
    return record.expiresAt !== 0 && this.clock.now() >= record.expiresAt;
  }
}
