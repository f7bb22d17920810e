/**
 * The RegistryLog on Redis: each service's definition and version live under one hash tag;
 * an append is one Lua script that checks the version (compare-and-set), bumps it, writes
 * the new definition and PUBLISHes the entry, so every replica hears changes in the order
 * Redis accepted them. Replicas that miss messages (a reconnect, a gap in versions) reload.
 */

import type { Redis } from "ioredis";
import type {
  AppendedEntry,
  LeaseRenewal,
  LogEntry,
  RegistryLog,
  RegistryLogListener,
  StoredService,
} from "../../registry/registry-log.js";
import { RegistryLogError } from "../../registry/registry-log.js";
import { channels, definitionPattern, serviceKeys } from "./keys.js";
import type { RedisClient } from "./redis-client.js";

/**
 * ARGV: base version, change count, definition, channel, entry, deadline (epoch ms). An append
 * that reaches Redis after its deadline (it sat in a paused server's socket, or was resent
 * after a reconnect) is refused with -2, so a caller told "no answer in time" can learn the
 * outcome by reading once the deadline has passed, and a late write never lands.
 * TIME before writes is allowed: Redis 7 replicates scripts by their effects.
 */
const APPEND_SCRIPT = `
local now = redis.call('TIME')
if tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000) > tonumber(ARGV[6]) then return -2 end
local current = tonumber(redis.call('GET', KEYS[2]) or '0')
if current ~= tonumber(ARGV[1]) then return -1 end
redis.call('SET', KEYS[2], current + tonumber(ARGV[2]))
if ARGV[3] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[3]) end
redis.call('PUBLISH', ARGV[4], (current + 1) .. ' ' .. ARGV[5])
return current + 1
`;

const RESTORE_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], ARGV[1])
if ARGV[2] ~= '' then redis.call('SET', KEYS[1], ARGV[2]) end
return 1
`;

type RestoreCommand = (
  definitionKey: string,
  versionKey: string,
  version: number,
  definition: string,
) => Promise<number>;
type AppendCommand = (
  definitionKey: string,
  versionKey: string,
  ...args: (string | number)[]
) => Promise<number>;

/** Options of the Redis registry log. */
export interface RedisRegistryLogOptions {
  readonly client: RedisClient;
  /** Key and channel prefix, e.g. "fulcrum". */
  readonly prefix: string;
  /**
   * How long after it is sent an append may still be applied; later, Redis refuses it. Shorter
   * than the command timeout, so that an append the client gave up on is refused unless it ran
   * before the client stopped waiting (the outcome is then unknown, and said so).
   */
  readonly writeDeadlineMs: number;
}

/** What ioredis says when a command was not sent: no connection, and no offline queue. */
const NOT_SENT = "Stream isn't writeable";
/** The script's answer for an append that arrived after its deadline. */
const PAST_DEADLINE = -2;

/** RegistryLog over one Redis or a Redis Cluster. */
export class RedisRegistryLog implements RegistryLog {
  private readonly channels: ReturnType<typeof channels>;
  private readonly appendCommand: AppendCommand;
  private readonly restoreCommand: RestoreCommand;

  constructor(private readonly options: RedisRegistryLogOptions) {
    this.channels = channels(options.prefix);
    options.client.defineCommand("fulcrumRegistryAppend", { numberOfKeys: 2, lua: APPEND_SCRIPT });
    options.client.defineCommand("fulcrumRegistryRestore", { numberOfKeys: 2, lua: RESTORE_SCRIPT });
    const client = options.client as unknown as {
      fulcrumRegistryAppend: AppendCommand;
      fulcrumRegistryRestore: RestoreCommand;
    };
    this.appendCommand = client.fulcrumRegistryAppend.bind(client);
    this.restoreCommand = client.fulcrumRegistryRestore.bind(client);
  }

  async append(entry: LogEntry): Promise<{ ok: true; firstVersion: number } | { ok: false }> {
    const keys = serviceKeys(this.options.prefix, entry.service);
    const definition = entry.next ? JSON.stringify(entry.next) : "";
    // Wall time, not the injected clock: the deadline is compared with Redis's own TIME.
    const deadline = Date.now() + this.options.writeDeadlineMs;
    const first = await this.appendCommand(
      keys.definition,
      keys.version,
      entry.baseVersion,
      entry.changes.length,
      definition,
      this.channels.registry,
      JSON.stringify(entry),
      deadline,
    ).catch((cause: unknown) => {
      const sent = !(cause instanceof Error && cause.message.includes(NOT_SENT));
      const outcome = sent ? "unknown" : "not_applied";
      throw new RegistryLogError(outcome, `registry append of ${entry.service} failed: ${String(cause)}`, {
        cause,
      });
    });
    if (first === PAST_DEADLINE) {
      throw new RegistryLogError(
        "not_applied",
        `registry append of ${entry.service} reached redis after its deadline`,
      );
    }
    return first < 0 ? { ok: false } : { ok: true, firstVersion: first };
  }

  async load(service: string): Promise<{ stored: StoredService | undefined; version: number }> {
    const keys = serviceKeys(this.options.prefix, service);
    const [definition, version] = await this.options.client.mget(keys.definition, keys.version);
    return {
      stored: definition ? (JSON.parse(definition) as StoredService) : undefined,
      version: Number(version ?? 0),
    };
  }

  async loadAll(): Promise<{ stored: StoredService; version: number }[]> {
    const names = await this.scanServiceNames();
    const loaded = await Promise.all(names.map((name) => this.load(name)));
    return loaded.flatMap(({ stored, version }) => (stored ? [{ stored, version }] : []));
  }

  async restore(service: string, stored: StoredService | undefined, version: number): Promise<boolean> {
    const keys = serviceKeys(this.options.prefix, service);
    const definition = stored ? JSON.stringify(stored) : "";
    return (await this.restoreCommand(keys.definition, keys.version, version, definition)) === 1;
  }

  async renew(renewal: LeaseRenewal): Promise<void> {
    await this.options.client.publish(this.channels.leases, JSON.stringify(renewal));
  }

  async subscribe(listener: RegistryLogListener): Promise<() => void> {
    // Redis and Cluster both duplicate into a client of their own kind; both subscribe alike.
    const subscriber = (this.options.client as unknown as { duplicate(): Redis }).duplicate();
    let readyBefore = false;
    subscriber.on("ready", () => {
      if (readyBefore) listener.reconnected();
      readyBefore = true;
    });
    subscriber.on("error", () => {
      // Reconnects on its own; `reconnected` tells the registry to reload what it missed.
    });
    subscriber.on("message", (channel: string, message: string) => {
      if (channel === this.channels.leases) return listener.renewed(JSON.parse(message) as LeaseRenewal);
      if (channel !== this.channels.registry) return;
      const space = message.indexOf(" ");
      const entry = JSON.parse(message.slice(space + 1)) as LogEntry;
      listener.appended({ ...entry, firstVersion: Number(message.slice(0, space)) } satisfies AppendedEntry);
    });
    await subscriber.connect();
    await subscriber.subscribe(this.channels.registry, this.channels.leases);
    return () => subscriber.disconnect();
  }

  private async scanServiceNames(): Promise<string[]> {
    const pattern = definitionPattern(this.options.prefix);
    const nodes =
      "nodes" in this.options.client ? this.options.client.nodes("master") : [this.options.client];
    const names = new Set<string>();
    for (const node of nodes) {
      let cursor = "0";
      do {
        const [next, keys] = await node.scan(cursor, "MATCH", pattern, "COUNT", 500);
        cursor = next;
        for (const key of keys) names.add(key.slice(key.indexOf("{s:") + 3, key.lastIndexOf("}")));
      } while (cursor !== "0");
    }
    return [...names];
  }
}
