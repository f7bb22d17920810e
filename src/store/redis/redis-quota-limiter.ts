/**
 * The QuotaLimiter on one Redis or a Redis Cluster (behaviour.md Q1-Q8, C13): every
 * operation is one EVALSHA of one of the scripts in quota-scripts.ts over the keys of one
 * backend (one hash tag), so replicas sharing the Redis share the quota exactly: a reserve
 * checks every dimension and charges them all, or none, with nothing in between (Q3, Q6).
 *
 * Time is the caller's `nowMs`, passed into the scripts (never Redis TIME): tests drive it
 * with a ManualClock, and the replicas' clocks define the windows, so their skew matters
 * (docs/quota.md). Key TTLs are durations computed from those clocks plus a slack.
 */
import { Buffer } from "node:buffer";
import {
  type BackendQuota,
  checkResult,
  correctOn,
  denialOf,
  reserveOn,
  reserveResult,
  settleOn,
  statusOf,
} from "../../quota/backend-quota.js";
import { stateFromFields } from "../../quota/dimension.js";
import { windowBuckets } from "../../quota/fixed-window.js";
import { costAmounts, releaseDeltas, trueUpDeltas, upstreamRemainingOf } from "../../quota/quota-cost.js";
import type {
  BackendQuotaKey,
  CheckResult,
  QuotaDenial,
  QuotaLimiter,
  QuotaReport,
  Reservation,
  ReserveOptions,
  ReserveResult,
} from "../../quota/quota-limiter.js";
import type { QuotaStatus } from "../../quota/quota-status.js";
import type { QuotaLimitSpec } from "../../registry/model.js";
import { quotaKeys } from "./quota-keys.js";
import {
  ADJUST_SCRIPT,
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
}

type Reply = [number, string, string[][]];
type Script = (...args: (string | number)[]) => Promise<Reply>;

const COMMANDS = {
  fulcrumQuotaReserve: RESERVE_SCRIPT,
  fulcrumQuotaAdjust: ADJUST_SCRIPT,
  fulcrumQuotaCorrect: CORRECT_SCRIPT,
  fulcrumQuotaStatus: STATUS_SCRIPT,
} as const;

/** Used only if the Lua refused a cost the TypeScript twin finds fitting (never, if they agree). */
const DISAGREEMENT: QuotaDenial = { reason: "limit", dimension: "", retryAfterMs: 1 };

/** The 5 script arguments of each limit: kind, windowMs, buckets, limit, per-op value. */
function limitArgs(
  limits: readonly QuotaLimitSpec[],
  values: readonly (number | string)[],
): (string | number)[] {
  return limits.flatMap((spec, i) => [
    spec.algorithm === "token_bucket" ? "t" : "w",
    spec.windowMs,
    windowBuckets(spec),
    spec.limit,
    values[i] ?? 0,
  ]);
}

function toText(value: unknown): string {
  return Buffer.isBuffer(value) ? value.toString() : String(value);
}

/** QuotaLimiter over a RedisClient (single or Cluster). */
export class RedisQuotaLimiter implements QuotaLimiter {
  private readonly scripts: Record<keyof typeof COMMANDS, Script>;
  private readonly markScript: (key: string, ...args: (string | number)[]) => Promise<string>;
  private readonly prefix: string;
  private readonly slack: number;

  constructor(options: Partial<RedisQuotaLimiterOptions> & Pick<RedisQuotaLimiterOptions, "client">) {
    const { client } = options;
    this.prefix = options.prefix ?? "fulcrum";
    this.slack = options.keyTtlSlackMs ?? DEFAULT_QUOTA_KEY_TTL_SLACK_MS;
    for (const [name, lua] of Object.entries(COMMANDS)) client.defineCommand(name, { lua });
    client.defineCommand("fulcrumQuotaMark", { numberOfKeys: 1, lua: MARK_SCRIPT });
    const commands = client as unknown as Record<string, (...args: unknown[]) => Promise<never>>;
    const bind = (name: keyof typeof COMMANDS): Script => commands[name]!.bind(client);
    this.scripts = {
      fulcrumQuotaReserve: bind("fulcrumQuotaReserve"),
      fulcrumQuotaAdjust: bind("fulcrumQuotaAdjust"),
      fulcrumQuotaCorrect: bind("fulcrumQuotaCorrect"),
      fulcrumQuotaStatus: bind("fulcrumQuotaStatus"),
    };
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
    const head = [nowMs, mode === "shadow" ? "s" : "e", this.slack];
    const { ok, quota } = await this.run("fulcrumQuotaReserve", key, limits, head, amounts);
    if (mode === "enforce" && !ok) {
      const denial = denialOf(quota, amounts, nowMs) ?? DISAGREEMENT;
      return reserveResult({ denial, reservation: undefined }, statusOf(quota, nowMs), ignored);
    }
    // The script charged: replay the charge on what it read to report the same status.
    const step = reserveOn(quota, key, amounts, nowMs, "shadow");
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
    const { quota } = await this.run("fulcrumQuotaReserve", key, limits, [nowMs, "c", this.slack], amounts);
    return checkResult(denialOf(quota, amounts, nowMs), statusOf(quota, nowMs), ignored);
  }

  async trueUp(
    reservation: Reservation,
    usage: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<QuotaReport> {
    const { amounts, ignored } = trueUpDeltas(reservation, usage);
    return { status: await this.settle(reservation, amounts, nowMs), ignored };
  }

  async release(reservation: Reservation, nowMs: number): Promise<QuotaReport> {
    return { status: await this.settle(reservation, releaseDeltas(reservation), nowMs), ignored: [] };
  }

  async markExhausted(key: BackendQuotaKey, untilMs: number, nowMs: number): Promise<void> {
    await this.markScript(quotaKeys(this.prefix, key, []).mark, untilMs, nowMs, this.slack);
  }

  async correct(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    upstreamRemaining: Readonly<Record<string, number>>,
    nowMs: number,
  ): Promise<QuotaReport & { status: QuotaStatus }> {
    const { values, ignored } = upstreamRemainingOf(limits, upstreamRemaining);
    const args = values.map((v) => (v === undefined ? "" : v));
    const { quota } = await this.run("fulcrumQuotaCorrect", key, limits, [nowMs, this.slack], args);
    correctOn(quota, values, nowMs);
    return { status: statusOf(quota, nowMs), ignored };
  }

  async remaining(
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    nowMs: number,
  ): Promise<QuotaStatus> {
    const { quota } = await this.run("fulcrumQuotaStatus", key, limits, [], []);
    return statusOf(quota, nowMs);
  }

  private async settle(
    reservation: Reservation,
    deltas: number[],
    nowMs: number,
  ): Promise<QuotaStatus | undefined> {
    if (deltas.every((delta) => delta === 0)) return undefined;
    const limits = reservation.dimensions.map((d) => d.spec);
    const head = [nowMs, this.slack, reservation.atMs];
    const { quota } = await this.run("fulcrumQuotaAdjust", reservation.key, limits, head, deltas);
    settleOn(quota, deltas, reservation.atMs, nowMs);
    return statusOf(quota, nowMs);
  }

  /** Runs one script over the backend's keys; returns its ok flag and the states it read. */
  private async run(
    script: keyof typeof COMMANDS,
    key: BackendQuotaKey,
    limits: readonly QuotaLimitSpec[],
    head: readonly (string | number)[],
    values: readonly (number | string)[],
  ): Promise<{ ok: boolean; quota: BackendQuota }> {
    const keys = quotaKeys(this.prefix, key, limits);
    const reply = await this.scripts[script](
      keys.dimensions.length + 1,
      keys.mark,
      ...keys.dimensions,
      ...head,
      ...limitArgs(limits, values),
    );
    const [ok, mark, raws] = reply;
    const states = limits.map((spec, i) => stateFromFields(spec, (raws[i] ?? []).map(toText)));
    return { ok: Number(ok) === 1, quota: { limits, states, markedUntilMs: Number(toText(mark)) || 0 } };
  }
}
