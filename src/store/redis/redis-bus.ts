/**
 * The cache's InvalidationBus over Redis pub/sub (behaviour.md C9), on a single Redis or a
 * Redis Cluster (PUBLISH reaches every node's subscribers).
 *
 * - Publishing uses the shared client; a failure rejects the promise with an L2Error (the
 *   tiered cache counts and reports it, it never throws into the writer).
 * - Receiving uses a duplicate connection of its own (a subscribed connection can run no
 *   other command), opened on the first `subscribe`. Every time it becomes ready (again, after
 *   a drop) it subscribes; `ready()` resolves once the current subscription is confirmed.
 * - Messages are JSON: the InvalidationMessage plus `bus`, the id of the RedisBus that sent
 *   it. A bus ignores its own messages (as MemoryBusHub endpoints do); a replica's cache also
 *   drops messages carrying its own origin. Malformed messages are dropped and counted.
 * - Messages published while a subscriber is disconnected are lost (pub/sub has no history).
 *   For caches that must not keep an entry another replica changed meanwhile, list their
 *   namespaces in `flushOnResubscribe`: after a re-subscription the bus hands local handlers a
 *   whole-namespace invalidation (key undefined) with reason `bus_resubscribed`; or pass
 *   `onResubscribed` to decide yourself (the pin L1 asks the store again instead of dropping
 *   the pins it must be able to put back).
 */
import { randomUUID } from "node:crypto";
import type { Redis } from "ioredis";
import type { InvalidationBus, InvalidationMessage } from "../../cache/ports.js";
import { channels } from "./keys.js";
import type { RedisClient } from "./redis-client.js";
import { toRedisL2Error } from "./redis-errors.js";

/** Options of a RedisBus. */
export interface RedisBusOptions {
  readonly client: RedisClient;
  /** Channel name; default `channels(prefix).invalidation` (keys.ts). */
  readonly channel: string;
  /** Used for the default channel; default "fulcrum". */
  readonly prefix: string;
  /** Namespaces invalidated as a whole locally after every re-subscription; default none. */
  readonly flushOnResubscribe: readonly string[];
  /** Called after every re-subscription (messages may have been missed); default none. */
  readonly onResubscribed: (() => void) | undefined;
}

/** Default channel prefix, as the registry's (keys.ts). */
export const DEFAULT_BUS_PREFIX = "fulcrum";
/** Reason of the local invalidation a re-subscription triggers (see `flushOnResubscribe`). */
export const RESUBSCRIBED_REASON = "bus_resubscribed";

type Handler = (message: InvalidationMessage) => void;

interface Wire extends InvalidationMessage {
  readonly bus: string;
}

function parse(text: string): Wire | undefined {
  let m: Partial<Wire> | null;
  try {
    m = JSON.parse(text) as Partial<Wire> | null;
  } catch {
    return undefined;
  }
  if (typeof m !== "object" || m === null) return undefined;
  const keyOk = m.key === undefined || m.key === null || typeof m.key === "string";
  if (typeof m.namespace !== "string" || typeof m.reason !== "string" || typeof m.origin !== "string") {
    return undefined;
  }
  if (!keyOk || typeof m.bus !== "string") return undefined;
  return { namespace: m.namespace, key: m.key ?? undefined, reason: m.reason, origin: m.origin, bus: m.bus };
}

/** InvalidationBus over Redis pub/sub; see the file header. */
export class RedisBus implements InvalidationBus {
  /** This bus's id on the wire. */
  readonly id = randomUUID();
  /** Messages received that were not valid JSON messages. */
  malformed = 0;
  /** Times the subscriber connection re-subscribed after a drop. */
  resubscriptions = 0;
  private readonly client: RedisClient;
  private readonly channel: string;
  private readonly flush: readonly string[];
  private readonly onResubscribed: (() => void) | undefined;
  private readonly handlers = new Set<Handler>();
  private subscriber: Redis | undefined;
  private isSubscribed = false;
  private readonly waiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private closed = false;

  constructor(options: Partial<RedisBusOptions> & { client: RedisClient }) {
    this.client = options.client;
    this.channel = options.channel ?? channels(options.prefix ?? DEFAULT_BUS_PREFIX).invalidation;
    this.flush = options.flushOnResubscribe ?? [];
    this.onResubscribed = options.onResubscribed;
  }

  async publish(message: InvalidationMessage): Promise<void> {
    const wire: Wire = { ...message, bus: this.id };
    try {
      await this.client.publish(this.channel, JSON.stringify(wire));
    } catch (error) {
      throw toRedisL2Error(error, `PUBLISH ${this.channel}`);
    }
  }

  subscribe(handler: Handler): () => void {
    const wrapped: Handler = (m) => handler(m);
    this.handlers.add(wrapped);
    this.start();
    return () => {
      this.handlers.delete(wrapped);
    };
  }

  /**
   * Resolves once the subscriber connection is subscribed (starting it if needed); while it
   * is disconnected, once it has re-subscribed. Never rejects on its own (Redis may be away
   * for a while: bound the wait yourself); `close()` rejects the waiters.
   */
  ready(): Promise<void> {
    this.start();
    if (this.closed) return Promise.reject(new Error("redis bus is closed"));
    if (this.isSubscribed) return Promise.resolve();
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Closes the subscriber connection; the shared client stays open (its owner closes it). */
  close(): void {
    this.closed = true;
    this.isSubscribed = false;
    for (const waiter of this.waiters.splice(0)) waiter.reject(new Error("redis bus is closed"));
    this.subscriber?.disconnect();
    this.subscriber = undefined;
  }

  private start(): void {
    if (this.subscriber || this.closed) return;
    // Redis and Cluster both duplicate into a client of their own kind; both subscribe alike.
    const subscriber = (this.client as unknown as { duplicate(): Redis }).duplicate();
    this.subscriber = subscriber;
    let subscribedBefore = false;
    subscriber.on("error", () => {
      // It reconnects on its own; "ready" subscribes again.
    });
    subscriber.on("message", (channel: string, text: string) => {
      if (channel === this.channel) this.receive(text);
    });
    subscriber.on("close", () => {
      this.isSubscribed = false;
    });
    subscriber.on("ready", () => {
      this.subscribeNow(subscriber).then(
        () => {
          if (subscriber !== this.subscriber) return;
          this.isSubscribed = true;
          if (subscribedBefore) {
            this.resubscriptions++;
            this.flushLocal();
            this.onResubscribed?.();
          }
          subscribedBefore = true;
          for (const waiter of this.waiters.splice(0)) waiter.resolve();
        },
        () => {
          // The connection dropped again; the next "ready" tries again.
        },
      );
    });
    subscriber.connect().catch(() => {
      // Redis is away; the client keeps reconnecting and "ready" subscribes when it is back.
    });
  }

  private async subscribeNow(subscriber: Redis): Promise<void> {
    try {
      await subscriber.subscribe(this.channel);
    } catch (error) {
      throw toRedisL2Error(error, `SUBSCRIBE ${this.channel}`);
    }
  }

  private receive(text: string): void {
    const wire = parse(text);
    if (wire === undefined) {
      this.malformed++;
      return;
    }
    if (wire.bus === this.id) return;
    const { bus: _, ...message } = wire;
    this.deliver(message);
  }

  private flushLocal(): void {
    for (const namespace of this.flush) {
      this.deliver({ namespace, key: undefined, reason: RESUBSCRIBED_REASON, origin: `bus:${this.id}` });
    }
  }

  private deliver(message: InvalidationMessage): void {
    const frozen = Object.freeze(message);
    for (const handler of [...this.handlers]) {
      try {
        handler(frozen);
      } catch {
        // One handler's failure never stops delivery to the others.
      }
    }
  }
}
