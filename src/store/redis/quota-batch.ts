/**
 * Batches the quota limiter's script calls: every operation asked for in one turn of the
 * event loop goes to Redis in one EVALSHA of BATCH_SCRIPT (quota-scripts.ts) per group, up to
 * `maxBatch` operations each, instead of one call per operation. Each operation stays as
 * atomic as alone (the script runs them in order, and Redis runs a script whole), so the
 * decisions are the same; what goes is the per-call cost in Redis and in the client (one
 * command to encode, send, parse and answer instead of many). A lone operation goes as its own
 * script, as before. On a Cluster a group is one backend (its keys share a hash tag, so a slot);
 * on a single Redis every operation of the turn is one group.
 * Scripts are sent as EVALSHA; ioredis loads a script the server does not know (NOSCRIPT) and
 * sends it again.
 */
import type { Buffer } from "node:buffer";
import { packDoubles } from "./quota-doubles.js";

/** An operation of the quota scripts: reserve (or check), adjust (true-up, release), correct. */
export type QuotaOperation = "r" | "a" | "c";

/** ok (1/0), then the mark and each dimension's state as stored (packed doubles; null: none). */
export type QuotaReply = [number, ...(Buffer | null)[]];

/** A script command for a given number of keys: keys, then arguments. */
export type QuotaScript = (...args: (string | number | Buffer)[]) => Promise<unknown>;

/**
 * The command of one script for `keyCount` keys. A fixed key count per command lets ioredis see
 * which arguments are keys, so on a Cluster its pipelines group commands by their real slot.
 */
export type QuotaScriptFor = (keyCount: number) => QuotaScript;

/** Operations of one script call at most, when the caller sets none. */
export const DEFAULT_QUOTA_MAX_BATCH = 32;

interface Pending {
  readonly operation: QuotaOperation;
  readonly keys: readonly string[];
  readonly kinds: string;
  readonly numbers: Buffer;
  /** Operations of one group may share a call. */
  readonly group: string;
  resolve(reply: QuotaReply): void;
  reject(cause: unknown): void;
}

/** Options of a QuotaBatcher. */
export interface QuotaBatcherOptions {
  /** The single-operation scripts. */
  readonly single: Readonly<Record<QuotaOperation, QuotaScriptFor>>;
  readonly batch: QuotaScriptFor;
  /** True on a Cluster: only operations on one backend share a call. */
  readonly cluster: boolean;
  /** Most operations in one call (a longer script holds Redis longer). */
  readonly maxBatch: number;
}

/** Collects operations for one turn of the event loop, then sends them. */
export class QuotaBatcher {
  private queue: Pending[] = [];
  private scheduled = false;

  constructor(private readonly options: QuotaBatcherOptions) {}

  /** Runs one operation over one backend's keys (mark first); resolves with its reply. */
  run(
    operation: QuotaOperation,
    keys: readonly string[],
    kinds: string,
    numbers: Buffer,
  ): Promise<QuotaReply> {
    return new Promise((resolve, reject) => {
      const group = this.options.cluster ? keys[0]! : "";
      this.queue.push({ operation, keys, kinds, numbers, group, resolve, reject });
      if (this.scheduled) return;
      this.scheduled = true;
      // After every promise continuation of this turn has had its chance to queue one.
      process.nextTick(() => this.flush());
    });
  }

  private flush(): void {
    this.scheduled = false;
    const queue = this.queue;
    this.queue = [];
    const groups = new Map<string, Pending[]>();
    for (const pending of queue) {
      const group = groups.get(pending.group);
      if (group) group.push(pending);
      else groups.set(pending.group, [pending]);
    }
    const { maxBatch } = this.options;
    for (const group of groups.values()) {
      for (let start = 0; start < group.length; start += maxBatch) {
        const part = group.slice(start, start + maxBatch);
        if (part.length === 1) this.sendOne(part[0]!);
        else this.sendMany(part);
      }
    }
  }

  private sendOne(pending: Pending): void {
    const script = this.options.single[pending.operation](pending.keys.length);
    script(...pending.keys, pending.kinds, pending.numbers).then(
      (reply) => pending.resolve(reply as QuotaReply),
      (cause: unknown) => pending.reject(cause),
    );
  }

  private sendMany(part: readonly Pending[]): void {
    let operations = "";
    const keys: string[] = [];
    const args: (string | Buffer)[] = [];
    for (const pending of part) {
      operations += pending.operation;
      for (const key of pending.keys) keys.push(key);
      args.push(pending.kinds, pending.numbers);
    }
    const counts = packDoubles(part.map((pending) => pending.keys.length));
    this.options
      .batch(keys.length)(...keys, operations, counts, ...args)
      .then(
        (replies) => {
          (replies as QuotaReply[]).forEach((reply, i) => {
            const pending = part[i]!;
            if (reply[0] === -1) pending.reject(new Error(`quota script failed: ${String(reply[1])}`));
            else pending.resolve(reply);
          });
        },
        (cause: unknown) => {
          for (const pending of part) pending.reject(cause);
        },
      );
  }
}
