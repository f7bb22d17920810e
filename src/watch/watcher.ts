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
 * Where an attached watcher sends (a transport that can take messages as they come, such as
 * the gRPC port): no iterator, and no promise per message.
 */
export interface WatchSink {
  /** Takes one message; false when the transport holds enough unwritten (then `resume` says when it has room). */
  send(message: WatchMessage): boolean;
  /** The watcher closed: end the stream cleanly (OK), or with `error` when sending failed. */
  end(error?: unknown): void;
}

const HEARTBEAT: WatchMessage = { service: "", version: 0, event: { kind: "heartbeat" } };

/**
 * One Watch stream's queue, read either as an async iterable or through an attached sink
 * (never both). A reader that falls `queueLimit` messages or
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
  private sink: WatchSink | undefined;
  /** With a sink: true while it takes messages. */
  private ready = false;
  private lastSentAt = 0;
  private heartbeat: TimerHandle | undefined;
  /** Times this watcher fell behind and was reset. */
  overflows = 0;

  constructor(private readonly options: WatcherOptions) {}

  /**
   * Queues a message of about `bytes` bytes; on overflow replaces the queue with resync
   * markers. With a sink that has room and nothing queued before it, sends it at once.
   */
  push(message: WatchMessage, bytes: number): void {
    if (this.closed) return;
    if (this.ready && this.queue.length === 0) {
      this.sendNow(message);
      return;
    }
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
    if (this.ready) this.flush();
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
    if (this.ready) this.flush();
  }

  /**
   * Sends from now on through `sink` instead of the async iterator: what is queued at once,
   * later messages as they come while the sink has room, and a heartbeat after `heartbeatMs`
   * without a message. While the sink is full, messages queue under the same bounds.
   */
  attach(sink: WatchSink): void {
    if (this.closed) {
      sink.end();
      return;
    }
    this.sink = sink;
    this.ready = true;
    this.lastSentAt = this.options.clock.now();
    this.heartbeat = this.options.clock.setTimeout(this.beat, this.options.heartbeatMs);
    this.flush();
  }

  /** The sink has room again: sends what queued meanwhile. */
  resume(): void {
    if (this.closed || !this.sink) return;
    this.ready = true;
    this.flush();
  }

  private flush(): void {
    while (this.ready && !this.closed) {
      const entry = this.queue.shift();
      if (!entry) return;
      for (const message of this.messagesOf(entry, this.resyncOrEnd)) this.sendNow(message);
    }
  }

  /** The messages a queue entry stands for (RESET + snapshot for a resync marker), no longer queued. */
  private messagesOf(entry: QueueEntry, resync: Resync): WatchMessage[] {
    if ("resync" in entry) return resync(entry.resync, entry.reason);
    this.queuedBytes -= entry.bytes;
    return [entry.message];
  }

  /** Resync for the sink: a failure to build the messages ends this stream only. */
  private readonly resyncOrEnd: Resync = (service, reason) => {
    try {
      return this.options.resync(service, reason);
    } catch (error) {
      this.close(error);
      return [];
    }
  };

  private sendNow(message: WatchMessage): void {
    if (!this.fresh(message)) return;
    try {
      this.ready = this.sink!.send(message);
    } catch (error) {
      // Sending runs in fan-out slices and timers: a failure ends this stream, never the process.
      this.close(error);
      return;
    }
    this.lastSentAt = this.options.clock.now();
  }

  /** A heartbeat when nothing was sent for `heartbeatMs` (skipped while the sink is full), then the next check. */
  private readonly beat = () => {
    const { clock, heartbeatMs } = this.options;
    if (this.closed) return;
    if (clock.now() - this.lastSentAt >= heartbeatMs && this.ready && this.queue.length === 0)
      this.sendNow(HEARTBEAT);
    const idle = clock.now() - this.lastSentAt;
    this.heartbeat = clock.setTimeout(this.beat, idle >= heartbeatMs ? heartbeatMs : heartbeatMs - idle);
  };

  /**
   * Ends the stream: what is queued is dropped, then the iterator finishes (or the sink ends,
   * with `error` when sending failed).
   */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.ready = false;
    this.queue = [];
    this.queuedBytes = 0;
    if (this.heartbeat) this.options.clock.clearTimeout(this.heartbeat);
    this.wake?.();
    this.options.onClose();
    this.sink?.end(error);
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
          if (await this.idle()) yield HEARTBEAT;
          continue;
        }
        for (const message of this.messagesOf(entry, this.options.resync))
          if (this.fresh(message)) yield message;
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
