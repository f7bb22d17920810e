import type { Clock, TimerHandle } from "../shared/clock.js";
import type { WatchMessage } from "./watch-message.js";

/** How a watcher turns a "resync" marker into messages: RESET, then a snapshot (or removal). */
export type Resync = (service: string, reason: string) => WatchMessage[];

type QueueEntry =
  | { readonly message: WatchMessage; readonly bytes: number }
  | { readonly resync: string; readonly reason: string };

/** Options of one watcher. */
export interface WatcherOptions {
  readonly clock: Clock;
  /** Messages held for a slow reader before it is reset instead (never unbounded memory). */
  readonly queueLimit: number;
  /** Bytes (message-bytes.ts) held for a slow reader before it is reset instead. */
  readonly queueBytesLimit: number;
  /** A keep-alive is sent after this much idle time. */
  readonly heartbeatMs: number;
  readonly resync: Resync;
  /** Services this watcher is reset for when it overflows. */
  readonly scope: () => readonly string[];
  readonly onClose: () => void;
}

/**
 * One Watch stream's queue, as an async iterable. A reader that falls `queueLimit` messages or
 * `queueBytesLimit` bytes behind loses its queue and gets RESET + snapshot per service instead
 * (the RESET's reason names the limit), so memory per watcher is bounded. Messages at or below the version already sent for a service are dropped, so a
 * snapshot is never followed by an older delta.
 */
export class Watcher implements AsyncIterable<WatchMessage> {
  private queue: QueueEntry[] = [];
  private queuedBytes = 0;
  private readonly sentVersions = new Map<string, number>();
  private wake: (() => void) | undefined;
  private closed = false;
  /** Times this watcher fell behind and was reset. */
  overflows = 0;

  constructor(private readonly options: WatcherOptions) {}

  /** Queues a message of about `bytes` bytes; on overflow replaces the queue with resync markers. */
  push(message: WatchMessage, bytes: number): void {
    if (this.closed) return;
    const passed = this.passedLimit(bytes);
    if (passed) {
      this.overflows++;
      const reason = `watcher fell behind: its queue passed ${passed}`;
      this.queue = this.options.scope().map((service) => ({ resync: service, reason }));
      this.queuedBytes = 0;
    }
    this.queue.push({ message, bytes });
    this.queuedBytes += bytes;
    this.wake?.();
  }

  /** The limit queueing `bytes` more would pass, named as the configuration names it. */
  private passedLimit(bytes: number): string | undefined {
    const { queueLimit, queueBytesLimit } = this.options;
    if (this.queue.length >= queueLimit) return `queue_per_watcher=${queueLimit} messages`;
    if (this.queuedBytes > 0 && this.queuedBytes + bytes > queueBytesLimit)
      return `queue_bytes_per_watcher=${queueBytesLimit} bytes`;
    return undefined;
  }

  /** Queues RESET + snapshot for `service`. */
  pushResync(service: string, reason: string): void {
    if (this.closed) return;
    this.queue.push({ resync: service, reason });
    this.wake?.();
  }

  /** Ends the stream: the iterator finishes after what is queued is dropped. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.queuedBytes = 0;
    this.wake?.();
    this.options.onClose();
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Bytes of the messages queued (resync markers count nothing: their snapshot is built when sent). */
  get bytesQueued(): number {
    return this.queuedBytes;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<WatchMessage> {
    try {
      while (!this.closed) {
        const entry = this.queue.shift();
        if (!entry) {
          if (await this.idle()) yield { service: "", version: 0, event: { kind: "heartbeat" } };
          continue;
        }
        if ("bytes" in entry) this.queuedBytes -= entry.bytes;
        const messages =
          "resync" in entry ? this.options.resync(entry.resync, entry.reason) : [entry.message];
        for (const message of messages) if (this.fresh(message)) yield message;
      }
    } finally {
      this.close();
    }
  }

  private fresh(message: WatchMessage): boolean {
    const { kind } = message.event;
    if (kind === "heartbeat" || kind === "headroom_crossed") return true;
    if (kind === "reset") {
      // What follows a RESET is new to this stream whatever its version: the removal of a
      // service this server never had (a restarted one, state in memory) comes at version 0.
      this.sentVersions.set(message.service, -1);
      return true;
    }
    const sent = this.sentVersions.get(message.service) ?? 0;
    if (message.version <= sent && kind !== "snapshot") return false;
    this.sentVersions.set(message.service, message.version);
    return true;
  }

  /** Waits for a message or the heartbeat interval; true when it timed out. */
  private idle(): Promise<boolean> {
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      this.wake = () => {
        this.wake = undefined;
        if (timer) this.options.clock.clearTimeout(timer);
        resolve(false);
      };
      timer = this.options.clock.setTimeout(() => {
        this.wake = undefined;
        resolve(true);
      }, this.options.heartbeatMs);
    });
  }
}
