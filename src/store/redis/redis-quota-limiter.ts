/**
 * The QuotaLimiter on one Redis or a Redis Cluster (behaviour.md Q1-Q8, C13): every
 * operation is one of the script functions in quota-scripts.ts over the keys of one backend
 * (one hash tag), atomic, so replicas sharing the Redis share the quota exactly: a reserve
 * checks every dimension and charges them all, or none, with nothing in between (Q3, Q6).
 * The operations of one turn of the event loop share EVALSHA calls (quota-batch.ts).
 *
 * Time is the caller's `nowMs`, passed into the scripts (never Redis TIME): tests drive it
 * with a ManualClock, and the replicas' clocks define the windows, so their skew matters
 * (docs/quota.md). Key TTLs are durations computed from those clocks plus a slack.
 */
import type { Buffer } from "node:buffer";
import type { QuotaLimitSpec } from "../../model/specs.js";
import {
  type BackendQuota,
  checkResult,
  correctOn,
  denialOf,
  holdOn,
  reserveOn,
  reserveResult,
  settleOn,
  statusOf,
} from "../../quota/backend-quota.js";
import { stateFromNumbers } from "../../quota/dimension.js";
import { windowBuckets } from "../../quota/fixed-window.js";
import {
  costAmounts,
  type HoldAmounts,
  holdAmounts,
  NO_HOLD,
  needAmounts,
  releaseDeltas,
  settlesNothing,
  trueUpDeltas,
  upstreamRemainingOf,
} from "../../quota/quota-cost.js";
import type {
  BackendQuotaKey,
  CheckResult,
  HeldUsage,
  QuotaDenial,
  QuotaLimiter,
  QuotaReport,
  Reservation,
  ReserveOptions,
  ReserveResult,
} from "../../quota/quota-limiter.js";
import type { QuotaStatus } from "../../quota/quota-status.js";
import {
  DEFAULT_QUOTA_MAX_BATCH,
  QuotaBatcher,
  type QuotaOperation,
  type QuotaReply,
  type QuotaScript,
  type QuotaScriptFor,
} from "./quota-batch.js";
import { packDoubles, unpackDoubles } from "./quota-doubles.js";
import { quotaKeys } from "./quota-keys.js";
import {
  ADJUST_SCRIPT,
  BATCH_SCRIPT,
  CORRECT_SCRIPT,
  MARK_SCRIPT,
  RESERVE_SCRIPT,
  STATUS_SCRIPT,
} from "./quota-scripts.js";
import type { RedisClient } from "./redis-client.js";

/** Extra life of every quota key past the moment its content stops mattering (covers clock skew). */
export const DEFAULT_QUOTA_KEY_TTL_SLACK_MS = 60_000;

/** Options of the Redis limiter. */
export interface RedisQuotaLimiterOptions {
  readonly client: RedisClient;
  /** Key prefix, e.g. "fulcrum" (no braces). */
  readonly prefix: string;
  readonly keyTtlSlackMs: number;
  /** Most operations in one script call (DEFAULT_QUOTA_MAX_BATCH). */
  readonly maxBatch: number;
}

/** Used only if the Lua refused a cost the TypeScript twin finds fitting (never, if they agree). */
const DISAGREEMENT: QuotaDenial = { reason: "limit", dimension: "", retryAfterMs: 1 };

/** The script arguments: mode + one kind per limit, and the doubles (head, then 4 per limit, then tail). */
function scriptArgs(
  mode: string,
  limits: readonly QuotaLimitSpec[],
  head: readonly number[],
  values: readonly number[],
  tail: readonly number[] = [],
): [string, Buffer] {
  let kinds = mode;
  const numbers = [...head];
  limits.forEach((spec, i) => {
    kinds += spec.algorithm === "token_bucket" ? "t" : "w";
    numbers.push(spec.windowMs, windowBuckets(spec), spec.limit, values[i] ?? 0);
  });
  numbers.push(...tail);
  return [kinds, packDoubles(numbers)];
}

/** QuotaLimiter over a RedisClient (single or Cluster). */
export class RedisQuotaLimiter implements QuotaLimiter {
  private readonly batcher: QuotaBatcher;
  private readonly statusScript: QuotaScriptFor;
  private readonly markScript: (key: string, times: Buffer, slack: number) => Promise<number>;
  private readonly prefix: string;
  private readonly slack: number;

  constructor(options: Partial<RedisQuotaLimiterOptions> & Pick<RedisQuotaLimiterOptions, "client">) {
    const { client } = options;
    this.prefix = options.prefix ?? "fulcrum";
    this.slack = options.keyTtlSlackMs ?? DEFAULT_QUOTA_KEY_TTL_SLACK_MS;
    client.defineCommand("fulcrumQuotaMark", { numberOfKeys: 1, lua: MARK_SCRIPT });
    const commands = client as unknown as Record<string, (...args: unknown[]) => Promise<never>>;
    const defined = new Map<string, QuotaScript>();
    // One command per script and key count (QuotaScriptFor); the Buffer variant: states come back as bytes.
    const scriptFor =
      (name: string, lua: string): QuotaScriptFor =>
      (keyCount) => {
        const command = `${name}K${keyCount}`;
        let script = defined.get(command);
        if (!script) {
          client.defineCommand(command, { numberOfKeys: keyCount, lua });
          script = commands[`${command}Buffer`]!.bind(client);
          defined.set(command, script);
        }
        return script;
      };
    this.batcher = new QuotaBatcher({
      single: {
        r: scriptFor("fulcrumQuotaReserve", RESERVE_SCRIPT),
        a: scriptFor("fulcrumQuotaAdjust", ADJUST_SCRIPT),
        c: scriptFor("fulcrumQuotaCorrect", CORRECT_SCRIPT),
      },
      batch: scriptFor("fulcrumQuotaBatch", BATCH_SCRIPT),
      cluster: client.isCluster,
      maxBatch: options.maxBatch ?? DEFAULT_QUOTA_MAX_BATCH,
    });
    this.statusScript = scriptFor("fulcrumQuotaStatus", STATUS_SCRIPT);
    this.markScript = commands.fulcrumQuotaMark!.bind(client);
  }

  async reserve(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
    options: ReserveOptions = {},
  ): Promise<ReserveResult> {
    const mode = options.mode ?? "enforce";
    const { amounts, ignored } = costAmounts(limits, cost);
    const script = mode === "shadow" ? "s" : "e";
    const lagMs = options.upstreamLagMs ?? 0;
    const needs = needAmounts(limits, amounts, options.margin);
    const head = [nowMs, this.slack, lagMs];
    const { ok, quota } = await this.run("r", script, key, limits, head, amounts, needs);
    if (mode === "enforce" && !ok) {
      const denial = denialOf(quota, amounts, nowMs, needs) ?? DISAGREEMENT;
      return reserveResult({ denial, reservation: undefined }, statusOf(quota, nowMs), ignored);
    }
    // The script charged: replay the charge on what it read to report the same status.
    const step = reserveOn(quota, key, amounts, nowMs, "shadow", lagMs, needs);
    const shadowDenial = mode === "shadow" ? step.denial : undefined;
    return reserveResult({ ...step, denial: shadowDenial }, statusOf(quota, nowMs), ignored);
  }

  async check(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    cost: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<CheckResult> {
    const { amounts, ignored } = costAmounts(limits, cost);
    const { quota } = await this.run("r", "c", key, limits, [nowMs, this.slack, 0], amounts, amounts);
    return checkResult(denialOf(quota, amounts, nowMs), statusOf(quota, nowMs), ignored);
  }

  async trueUp(
    reservation: Reservation,
    usage: Readonly<Record<string, number>>,
    nowMs: number,
    held?: HeldUsage,
  ): Promise<QuotaReport> {
    const { amounts, ignored } = trueUpDeltas(reservation, usage);
    return {
      status: await this.settle(reservation, amounts, nowMs, holdAmounts(reservation, held)),
      ignored,
    };
  }

  async release(reservation: Reservation, nowMs: number): Promise<QuotaReport> {
    return { status: await this.settle(reservation, releaseDeltas(reservation), nowMs), ignored: [] };
  }

  async markExhausted(key: BackendQuotaKey, untilMs: number, nowMs: number): Promise<void> {
    await this.markScript(quotaKeys(this.prefix, key, []).mark, packDoubles([untilMs, nowMs]), this.slack);
  }

  async correct(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    upstreamRemaining: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<QuotaReport & { status: QuotaStatus }> {
    const { values, ignored } = upstreamRemainingOf(limits, upstreamRemaining);
    const args = values.map((v) => v ?? Number.NaN);
    const { quota } = await this.run("c", "-", key, limits, [nowMs, this.slack], args);
    correctOn(quota, values, nowMs);
    return { status: statusOf(quota, nowMs), ignored };
  }

  async remaining(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    nowMs: number,
  ): Promise<QuotaStatus> {
    const keys = quotaKeys(this.prefix, key, limits);
    const all = [keys.mark, ...keys.dimensions];
    const reply = (await this.statusScript(all.length)(...all)) as QuotaReply;
    return statusOf(this.stored(limits, reply).quota, nowMs);
  }

  private async settle(
    reservation: Reservation,
    deltas: number[],
    nowMs: number,
    hold: HoldAmounts = NO_HOLD,
  ): Promise<QuotaStatus | undefined> {
    if (settlesNothing(deltas, hold)) return undefined;
    const limits = reservation.dimensions.map((d) => d.spec);
    const head = [nowMs, this.slack, reservation.atMs, hold.holdMs];
    const tail = limits.map((_, i) => hold.amounts[i] ?? 0);
    const { quota } = await this.run("a", "-", reservation.key, limits, head, deltas, tail);
    settleOn(quota, deltas, reservation.atMs, nowMs);
    holdOn(quota, hold, nowMs);
    return statusOf(quota, nowMs);
  }

  /** Runs one script operation over the backend's keys; returns its ok flag and the states it read. */
  private async run(
    operation: QuotaOperation,
    mode: string,
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    head: readonly number[],
    values: readonly number[],
    tail?: readonly number[],
  ): Promise<{ ok: boolean; quota: BackendQuota }> {
    const keys = quotaKeys(this.prefix, key, limits);
    const [kinds, numbers] = scriptArgs(mode, limits, head, values, tail);
    const reply = await this.batcher.run(operation, [keys.mark, ...keys.dimensions], kinds, numbers);
    return this.stored(limits, reply);
  }

  /** The ok flag and the states a script read, from its reply. */
  private stored(limits: readonly QuotaLimitSpec[], reply: QuotaReply): { ok: boolean; quota: BackendQuota } {
    const stored = reply.slice(1) as (Buffer | null)[];
    const states = limits.map((spec, i) => stateFromNumbers(spec, unpackDoubles(stored[i + 1])));
    const markedUntilMs = unpackDoubles(stored[0])[0] ?? 0;
    return { ok: Number(reply[0]) === 1, quota: { limits, states, markedUntilMs } };
  }
}
