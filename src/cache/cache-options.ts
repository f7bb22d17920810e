/**
 * Options of one tiered cache instance (one per kind of state: health, quota, sessions),
 * taken as `Partial<TieredCacheOptions>` and resolved once with the named defaults below
 * (connect-es style). Every bad field is reported by name, e.g.
 * `cache.sessions.failureMode.attempts: must be >= 1, got 0` (behaviour.md O3).
 */
import { type Clock, systemClock } from "../shared/clock.js";
import type { FieldViolation } from "../shared/errors.js";
import { type Random, systemRandom } from "../shared/random.js";
import { DEFAULT_EVENT_QUEUE_SIZE } from "./cache-events.js";
import { DEFAULT_FAILURE_MODE, type FailureMode } from "./failure-mode.js";
import { DEFAULT_MAX_ENTRIES } from "./l1-cache.js";
import type { InvalidationBus, L2Store } from "./ports.js";
import { DEFAULT_READ_POLICY, type ReadPolicy } from "./read-policy.js";
import { DEFAULT_MAX_SUPPRESSED_KEYS } from "./suppression.js";
import { DEFAULT_WRITE_POLICY, type WritePolicy } from "./write-policy.js";

/** Whether an L2 hit is copied into L1 (C4). `always` keeps the L2 record's expiry. */
export type RefillPolicy = "never" | "always";

/** Turns values into L2 strings and back; `decode` throwing marks the record corrupt. */
export interface CacheCodec<V> {
  encode(value: V): string;
  decode(text: string): V;
}

/** The logging the cache does (pino-compatible: `logger.warn(fields, message)`). */
export interface CacheLogger {
  warn(fields: Record<string, unknown>, message: string): void;
}

/** Default TTL of an entry; 0 would mean no expiry. */
export const DEFAULT_TTL_MS = 60_000;
/** Default stale window after the TTL (C8); 0 turns stale-while-revalidate off. */
export const DEFAULT_STALE_WINDOW_MS = 0;
/** Default interval of the L1 expiry sweep; 0 means lazy expiry only. */
export const DEFAULT_SWEEP_INTERVAL_MS = 0;
/** Default refill policy. */
export const DEFAULT_REFILL: RefillPolicy = "never";
/** JSON, the default codec. */
export const JSON_CODEC: CacheCodec<unknown> = {
  encode: (value) => JSON.stringify(value),
  decode: (text) => JSON.parse(text),
};
/** A logger that drops everything, the default. */
export const SILENT_LOGGER: CacheLogger = { warn: () => {} };

/** Everything a tiered cache instance is configured with. */
export interface TieredCacheOptions<V> {
  /** Prefix of every L2 key: `<namespace>:<key>`. Required, non-empty (C10). */
  readonly namespace: string;
  /** Names the instance in config errors (`cache.<name>.<field>`); defaults to the namespace. */
  readonly name: string;
  /** The second tier; undefined gives an L1-only cache. */
  readonly l2: L2Store | undefined;
  /** Cross-replica invalidation (C9); undefined keeps invalidations local. */
  readonly bus: InvalidationBus | undefined;
  readonly clock: Clock;
  /** Retry jitter and the default replica id. */
  readonly random: Random;
  readonly logger: CacheLogger;
  readonly codec: CacheCodec<V>;
  /** L1 capacity in entries (C1). */
  readonly maxEntries: number;
  /** TTL of an entry written without its own; 0 = no expiry. */
  readonly defaultTtlMs: number;
  /** Stale window after the TTL (C8); 0 = off. */
  readonly staleWindowMs: number;
  /** L1 sweep interval on the Clock; 0 = lazy expiry only. */
  readonly sweepIntervalMs: number;
  readonly readPolicy: ReadPolicy;
  readonly writePolicy: WritePolicy;
  readonly refill: RefillPolicy;
  readonly failureMode: FailureMode;
  /** This replica's id on the bus; its own messages are ignored. */
  readonly replicaId: string;
  /** Default per-subscriber event queue bound (C12). */
  readonly eventQueueSize: number;
  /** Bound on individually suppressed keys (C6). */
  readonly maxSuppressedKeys: number;
}

/** A cache configuration error; `message` names the first bad field. */
export class CacheConfigError extends Error {
  constructor(readonly violations: readonly FieldViolation[]) {
    const [first] = violations;
    const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
    super(`${first?.field}: ${first?.description}${more}`);
    this.name = "CacheConfigError";
  }
}

const READ_POLICIES: readonly ReadPolicy[] = ["sequential", "race", "parallel"];
const WRITE_POLICIES: readonly WritePolicy[] = ["sequential", "optimisticParallel", "race"];
const REFILLS: readonly RefillPolicy[] = ["never", "always"];
const MAX_RETRY_ATTEMPTS = 20;

type Check = (field: string, description: string) => void;

function checkInt(
  add: Check,
  field: string,
  value: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): void {
  if (!Number.isInteger(value)) add(field, `must be an integer >= ${min}, got ${value}`);
  else if (value < min) add(field, `must be >= ${min}, got ${value}`);
  else if (value > max) add(field, `must be <= ${max}, got ${value}`);
}

function checkOneOf<T>(add: Check, field: string, value: T, allowed: readonly T[]): void {
  if (!allowed.includes(value)) add(field, `must be one of ${allowed.join(", ")}, got ${String(value)}`);
}

function checkFailureMode(add: Check, field: string, mode: FailureMode): void {
  const kind = (mode as { kind?: unknown } | undefined)?.kind;
  if (kind !== "l1Only" && kind !== "error" && kind !== "retry") {
    add(`${field}.kind`, `must be one of l1Only, error, retry, got ${String(kind)}`);
  } else if (mode.kind === "retry") {
    checkInt(add, `${field}.attempts`, mode.attempts, 1, MAX_RETRY_ATTEMPTS);
  }
}

function validate<V>(o: TieredCacheOptions<V>): void {
  const violations: FieldViolation[] = [];
  const prefix = o.name ? `cache.${o.name}` : "cache";
  const add: Check = (field, description) => violations.push({ field: `${prefix}.${field}`, description });
  if (typeof o.namespace !== "string" || o.namespace.trim() === "") add("namespace", "must not be empty");
  checkInt(add, "maxEntries", o.maxEntries, 1);
  checkInt(add, "defaultTtlMs", o.defaultTtlMs, 0);
  checkInt(add, "staleWindowMs", o.staleWindowMs, 0);
  checkInt(add, "sweepIntervalMs", o.sweepIntervalMs, 0);
  checkInt(add, "eventQueueSize", o.eventQueueSize, 1);
  checkInt(add, "maxSuppressedKeys", o.maxSuppressedKeys, 1);
  checkOneOf(add, "readPolicy", o.readPolicy, READ_POLICIES);
  checkOneOf(add, "writePolicy", o.writePolicy, WRITE_POLICIES);
  checkOneOf(add, "refill", o.refill, REFILLS);
  checkFailureMode(add, "failureMode", o.failureMode);
  if (typeof o.replicaId !== "string" || o.replicaId === "") add("replicaId", "must not be empty");
  if (violations.length > 0) throw new CacheConfigError(violations);
}

/** Fills in the defaults and validates; throws CacheConfigError naming each bad field. */
export function resolveTieredCacheOptions<V>(input: Partial<TieredCacheOptions<V>>): TieredCacheOptions<V> {
  const random = input.random ?? systemRandom;
  const namespace = input.namespace ?? "";
  const resolved: TieredCacheOptions<V> = {
    namespace,
    name: input.name ?? namespace,
    l2: input.l2,
    bus: input.bus,
    clock: input.clock ?? systemClock,
    random,
    logger: input.logger ?? SILENT_LOGGER,
    codec: input.codec ?? (JSON_CODEC as CacheCodec<V>),
    maxEntries: input.maxEntries ?? DEFAULT_MAX_ENTRIES,
    defaultTtlMs: input.defaultTtlMs ?? DEFAULT_TTL_MS,
    staleWindowMs: input.staleWindowMs ?? DEFAULT_STALE_WINDOW_MS,
    sweepIntervalMs: input.sweepIntervalMs ?? DEFAULT_SWEEP_INTERVAL_MS,
    readPolicy: input.readPolicy ?? DEFAULT_READ_POLICY,
    writePolicy: input.writePolicy ?? DEFAULT_WRITE_POLICY,
    refill: input.refill ?? DEFAULT_REFILL,
    failureMode: input.failureMode ?? DEFAULT_FAILURE_MODE,
    replicaId: input.replicaId ?? `replica-${Math.floor(random.next() * 2 ** 32).toString(36)}`,
    eventQueueSize: input.eventQueueSize ?? DEFAULT_EVENT_QUEUE_SIZE,
    maxSuppressedKeys: input.maxSuppressedKeys ?? DEFAULT_MAX_SUPPRESSED_KEYS,
  };
  validate(resolved);
  return resolved;
}
