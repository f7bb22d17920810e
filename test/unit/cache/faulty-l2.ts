/**
 * Test double for the tiered cache's policy tests: an L2Store that delegates to MemoryL2
 * and can add latency (on the ManualClock), fail with any L2Error kind, or hand back a
 * chosen record. Real-Redis failure tests live with the Redis adapter.
 */
import { L2Error, type L2ErrorKind, type L2Record, type L2Store } from "../../../src/cache/ports.js";
import type { ManualClock } from "../../../src/shared/manual-clock.js";
import type { MemoryL2 } from "../../../src/store/memory/memory-l2.js";

/** An L2Store method. */
export type L2Op = "get" | "set" | "delete";

/** MemoryL2 with injected latency and failures; `log` records "op:start key" / "op:end key" / "op:fail key". */
export class FaultyL2 implements L2Store {
  readonly calls: Record<L2Op, number> = { get: 0, set: 0, delete: 0 };
  readonly log: string[] = [];
  private readonly latency: Record<L2Op, number> = { get: 0, set: 0, delete: 0 };
  private readonly queued: Record<L2Op, L2ErrorKind[]> = { get: [], set: [], delete: [] };
  private readonly always: Partial<Record<L2Op, L2ErrorKind>> = {};
  private readonly overrides = new Map<string, L2Record>();

  constructor(
    readonly inner: MemoryL2,
    private readonly clock: ManualClock,
  ) {}

  /** Every `op` call takes `ms` of virtual time. */
  delay(op: L2Op, ms: number): this {
    this.latency[op] = ms;
    return this;
  }

  /** The next calls of `op` fail with these kinds, one each. */
  failNext(op: L2Op, ...kinds: L2ErrorKind[]): this {
    this.queued[op].push(...kinds);
    return this;
  }

  /** Every call of `op` fails with `kind` (undefined heals it). */
  failAlways(op: L2Op, kind: L2ErrorKind | undefined): this {
    if (kind === undefined) delete this.always[op];
    else this.always[op] = kind;
    return this;
  }

  /** `get(key)` returns `record` instead of what is stored. */
  answer(key: string, record: L2Record): this {
    this.overrides.set(key, record);
    return this;
  }

  get(key: string): Promise<L2Record | undefined> {
    const override = this.overrides.get(key);
    return this.call("get", key, () => (override ? Promise.resolve(override) : this.inner.get(key)));
  }

  set(record: L2Record): Promise<void> {
    return this.call("set", record.key, () => this.inner.set(record));
  }

  delete(key: string): Promise<boolean> {
    return this.call("delete", key, () => this.inner.delete(key));
  }

  private async call<T>(op: L2Op, key: string, fn: () => Promise<T>): Promise<T> {
    this.calls[op]++;
    this.log.push(`${op}:start ${key}`);
    const ms = this.latency[op];
    if (ms > 0) await new Promise<void>((resolve) => this.clock.setTimeout(resolve, ms));
    const kind = this.queued[op].shift() ?? this.always[op];
    if (kind !== undefined) {
      this.log.push(`${op}:fail ${key}`);
      throw new L2Error(kind, `injected ${kind} on ${op} ${key}`);
    }
    const result = await fn();
    this.log.push(`${op}:end ${key}`);
    return result;
  }
}
