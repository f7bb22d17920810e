/**
 * The cache's L2Store on Redis or Redis Cluster (behaviour.md C5, C10, C13).
 *
 * Layout: the tiered cache asks for full keys `<namespace>:<key>` (the namespace is the key
 * prefix); this store writes each under `<keyPrefix><full key>` as one string, a JSON
 * envelope `{"key":<full key>,"expiresAt":<epoch ms, 0 = never>,"value":<codec text>}`, with
 * `PX expiresAt - now` (no PX when expiresAt is 0). The envelope names its key so a value
 * found under the wrong key (a bug, a hand edit, a key collision) is reported as `corrupt`
 * and never enters L1 (C10); a value that is not an envelope is `corrupt` too. A record whose
 * expiresAt has passed is not written (the key is deleted instead) and is never returned.
 *
 * Cluster (C13): every operation is one single-key command, so any key works on a cluster.
 * To keep the keys of one backend or session in one hash slot, callers shape their keys with
 * a hash tag: `cacheTag(tag, rest)` gives `{<tag>}:<rest>`, and Redis hashes only the part in
 * braces. Namespace and keyPrefix must then hold no braces, or the first `{...}` would be
 * theirs (`cacheKey` checks this).
 *
 * Errors: every ioredis failure becomes an L2Error whose kind the failure modes act on
 * (redis-errors.ts). The client should be made by redis-client.ts (fail fast: no offline
 * queue, one retry per request, a command timeout), so an outage is an error, not a wait.
 */
import { L2Error, type L2Record, type L2Store } from "../../cache/ports.js";
import { type Clock, systemClock } from "../../shared/clock.js";
import type { RedisClient } from "./redis-client.js";
import { toRedisL2Error } from "./redis-errors.js";

/** Options of a RedisL2Store. */
export interface RedisL2StoreOptions {
  readonly client: RedisClient;
  /** Prepended to every full key, e.g. `fulcrum:cache:`; default none. No braces. */
  readonly keyPrefix: string;
  /** Turns expiresAt into a PX; the replicas' clocks should agree to within a TTL's slack. */
  readonly clock: Clock;
}

/** The default key prefix: none, the namespace alone prefixes the keys. */
export const DEFAULT_REDIS_L2_KEY_PREFIX = "";

/**
 * A cache key whose L2 keys all hash to one cluster slot: `{<tag>}:<rest>`. Pass it to the
 * tiered cache (`cache.get(cacheTag("b:10.0.0.1:80", "health"))`). `tag` must be non-empty
 * and hold no `}`.
 */
export function cacheTag(tag: string, rest: string): string {
  if (tag === "" || tag.includes("}"))
    throw new RangeError(`cache tag must be non-empty without '}': ${tag}`);
  return `{${tag}}:${rest}`;
}

/**
 * The full L2 key of `cacheTag(tag, rest)` in `namespace`: `<namespace>:{<tag>}:<rest>`, what
 * the tiered cache hands to RedisL2Store (before its keyPrefix). The namespace must be
 * non-empty and hold no braces, so the tag is the first `{...}` of the key.
 */
export function cacheKey(namespace: string, tag: string, rest: string): string {
  if (namespace === "" || /[{}]/.test(namespace)) {
    throw new RangeError(`cache namespace must be non-empty without braces: ${namespace}`);
  }
  return `${namespace}:${cacheTag(tag, rest)}`;
}

interface Envelope {
  readonly key: string;
  readonly expiresAt: number;
  readonly value: string;
}

function isEnvelope(parsed: unknown): parsed is Envelope {
  const e = parsed as Partial<Envelope> | null;
  return (
    typeof e === "object" &&
    e !== null &&
    typeof e.key === "string" &&
    typeof e.value === "string" &&
    typeof e.expiresAt === "number" &&
    Number.isFinite(e.expiresAt) &&
    e.expiresAt >= 0
  );
}

/** Parses a stored string into the record it holds; throws L2Error `corrupt` when it isn't one. */
export function decodeEnvelope(text: string, storedUnder: string): L2Record {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new L2Error("corrupt", `value under ${storedUnder} is not a cache record (not JSON)`);
  }
  if (!isEnvelope(parsed)) throw new L2Error("corrupt", `value under ${storedUnder} is not a cache record`);
  return { key: parsed.key, value: parsed.value, expiresAt: parsed.expiresAt };
}

/** Encodes a record as the stored JSON envelope. */
export function encodeEnvelope(record: L2Record): string {
  return JSON.stringify({ key: record.key, expiresAt: record.expiresAt, value: record.value });
}

/** L2Store over a Redis or Cluster client; see the file header. */
export class RedisL2Store implements L2Store {
  private readonly client: RedisClient;
  private readonly prefix: string;
  private readonly clock: Clock;

  constructor(options: Partial<RedisL2StoreOptions> & { client: RedisClient }) {
    this.client = options.client;
    this.prefix = options.keyPrefix ?? DEFAULT_REDIS_L2_KEY_PREFIX;
    this.clock = options.clock ?? systemClock;
    if (/[{}]/.test(this.prefix)) {
      throw new RangeError(
        `redisL2.keyPrefix: must hold no braces (they would set the hash slot), got ${this.prefix}`,
      );
    }
  }

  async get(key: string): Promise<L2Record | undefined> {
    const redisKey = this.prefix + key;
    let text: string | null;
    try {
      text = await this.client.get(redisKey);
    } catch (error) {
      throw toRedisL2Error(error, `GET ${redisKey}`);
    }
    if (text === null) return undefined;
    const record = decodeEnvelope(text, redisKey);
    if (record.expiresAt !== 0 && this.clock.now() >= record.expiresAt) return undefined;
    if (record.key !== key) throw new L2Error("corrupt", `record under ${redisKey} names ${record.key}`);
    return record;
  }

  async set(record: L2Record): Promise<void> {
    const { key, value, expiresAt } = record;
    if (typeof key !== "string" || typeof value !== "string") {
      throw new L2Error("command", "invalid record: key and value must be strings");
    }
    if (typeof expiresAt !== "number" || !Number.isFinite(expiresAt) || expiresAt < 0) {
      throw new L2Error(
        "command",
        `invalid record ${key}: expiresAt must be a number >= 0, got ${expiresAt}`,
      );
    }
    const redisKey = this.prefix + key;
    const ttlMs = expiresAt === 0 ? 0 : Math.ceil(expiresAt - this.clock.now());
    try {
      if (expiresAt === 0) await this.client.set(redisKey, encodeEnvelope(record));
      else if (ttlMs > 0) await this.client.set(redisKey, encodeEnvelope(record), "PX", ttlMs);
      else await this.client.del(redisKey);
    } catch (error) {
      throw toRedisL2Error(error, `${ttlMs > 0 || expiresAt === 0 ? "SET" : "DEL"} ${redisKey}`);
    }
  }

  async delete(key: string): Promise<boolean> {
    const redisKey = this.prefix + key;
    try {
      return (await this.client.del(redisKey)) > 0;
    } catch (error) {
      throw toRedisL2Error(error, `DEL ${redisKey}`);
    }
  }
}
