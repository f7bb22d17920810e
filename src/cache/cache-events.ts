/**
 * Cache events (behaviour.md C12) and their delivery to bounded, lossy subscribers.
 *
 * What: every L1 change (insert, update, invalidate with a reason) and every L2 trouble
 * (errors, corrupt records, bus failures, background load failures) becomes one event.
 * Why: metrics and logs listen to events, the core never imports an exporter (bentocache's
 * "metrics listen to events" rule, docs/architecture.md). A writer only appends to each
 * subscriber's queue (O(1)) and never waits for a listener; a queue that is full drops the
 * new event and counts it, so a slow or stuck listener costs memory up to its bound and
 * nothing else. Delivery runs in a microtask, in order, one event at a time per subscriber;
 * a listener that returns a promise is awaited before its next event.
 */
import type { L2ErrorKind } from "./ports.js";

/** Why an L1 entry left: a caller's delete/invalidate, LRU capacity, its TTL, another replica. */
export type InvalidateReason = "manual" | "evicted" | "expired" | "remote";

/** The L2 call an `l2_error` event is about. */
export type L2Operation = "get" | "set" | "delete";

/** An L1 entry was added (`insert`) or replaced (`update`). */
export interface EntryWrittenEvent {
  readonly type: "insert" | "update";
  readonly namespace: string;
  readonly key: string;
  readonly at: number;
}

/** L1 entries left. `key` undefined means every key of the namespace. */
export interface InvalidateEvent {
  readonly type: "invalidate";
  readonly namespace: string;
  readonly key: string | undefined;
  readonly reason: InvalidateReason;
  /** For `remote`: the reason the other replica gave (set, delete, invalidate, invalidate_all). */
  readonly remoteReason?: string;
  readonly at: number;
}

/** An L2 record was rejected (C10): wrong key, undecodable value, or an adapter `corrupt` error. */
export interface CorruptEvent {
  readonly type: "corrupt";
  readonly namespace: string;
  readonly key: string;
  /** The key found in the record, when there was one. */
  readonly recordKey: string | undefined;
  readonly detail: string;
  readonly at: number;
}

/** One failed L2 try (C5). `willRetry` is true when the Retry mode tries again. */
export interface L2ErrorEvent {
  readonly type: "l2_error";
  readonly namespace: string;
  readonly key: string;
  readonly operation: L2Operation;
  readonly kind: L2ErrorKind;
  readonly attempt: number;
  readonly willRetry: boolean;
  readonly message: string;
  readonly at: number;
}

/** A loader failed in a background refresh (C8), or the bus refused a publish (C9). */
export interface BackgroundErrorEvent {
  readonly type: "refresh_error" | "bus_error";
  readonly namespace: string;
  readonly key: string | undefined;
  readonly message: string;
  readonly at: number;
}

/** Everything a cache reports to its subscribers. */
export type CacheEvent =
  | EntryWrittenEvent
  | InvalidateEvent
  | CorruptEvent
  | L2ErrorEvent
  | BackgroundErrorEvent;

/** Receives events; a returned promise is awaited before the next event is delivered. */
export type CacheListener = (event: CacheEvent) => void | Promise<void>;

/** A live subscription. */
export interface CacheSubscription {
  /** Events this subscriber lost because its queue was full. */
  readonly dropped: number;
  /** Events queued and not yet delivered. */
  readonly pending: number;
  /** Stops delivery; queued events are discarded. */
  unsubscribe(): void;
}

/** Default bound of each subscriber's queue, in events. */
export const DEFAULT_EVENT_QUEUE_SIZE = 1_024;

class Subscriber implements CacheSubscription {
  dropped = 0;
  private queue: CacheEvent[] = [];
  private head = 0;
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly listener: CacheListener,
    private readonly limit: number,
    private readonly onDrop: () => void,
    private readonly onClose: (s: Subscriber) => void,
  ) {}

  get pending(): number {
    return this.queue.length - this.head;
  }

  push(event: CacheEvent): void {
    if (this.pending >= this.limit) {
      this.dropped++;
      this.onDrop();
      return;
    }
    this.queue.push(event);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(() => void this.drain());
    }
  }

  unsubscribe(): void {
    this.closed = true;
    this.queue = [];
    this.head = 0;
    this.onClose(this);
  }

  private async drain(): Promise<void> {
    while (!this.closed && this.head < this.queue.length) {
      const event = this.queue[this.head++]!;
      if (this.head > 1_024) {
        this.queue = this.queue.slice(this.head);
        this.head = 0;
      }
      try {
        const result = this.listener(event);
        if (result) await result;
      } catch {
        // A listener's failure is its own; it never reaches the writer.
      }
    }
    this.scheduled = false;
  }
}

/**
 * Fans events out to subscribers. `active` is false with no subscriber, so callers can skip
 * building an event at all on the hot path.
 */
export class CacheEventHub {
  private subscribers: Subscriber[] = [];
  /** Events lost over all subscribers. */
  dropped = 0;

  constructor(private readonly defaultQueueSize: number = DEFAULT_EVENT_QUEUE_SIZE) {}

  /** True when at least one subscriber listens. */
  get active(): boolean {
    return this.subscribers.length > 0;
  }

  /** Queues `event` for every subscriber; never blocks and never throws. */
  emit(event: CacheEvent): void {
    for (const s of this.subscribers) s.push(event);
  }

  /** Adds a subscriber with a queue of `queueSize` events (>= 1). */
  subscribe(listener: CacheListener, queueSize: number = this.defaultQueueSize): CacheSubscription {
    if (!Number.isInteger(queueSize) || queueSize < 1) {
      throw new RangeError(`queueSize: must be an integer >= 1, got ${queueSize}`);
    }
    const subscriber = new Subscriber(
      listener,
      queueSize,
      () => this.dropped++,
      (s) => {
        this.subscribers = this.subscribers.filter((x) => x !== s);
      },
    );
    this.subscribers = [...this.subscribers, subscriber];
    return subscriber;
  }
}
