import type { WatchMessage } from "./watch-message.js";

/**
 * Runs a task later, after the work in hand (the app layer gives setImmediate). Delivering a
 * change to thousands of watchers in slices this way lets the call that made the change be
 * answered first, and keeps the process answering other calls between slices.
 */
export type Defer = (task: () => void) => void;

/** Who a message goes to: a watcher's `push`. */
export interface Recipient {
  push(message: WatchMessage, bytes: number): void;
}

interface Delivery {
  readonly message: WatchMessage;
  readonly bytes: number;
  readonly recipients: readonly Recipient[];
  /** Index of the next recipient to push to. */
  next: number;
}

/** Watchers a slice pushes to, unless the hub is told otherwise. */
export const DEFAULT_FAN_OUT_SLICE = 500;

/**
 * Pushes messages to their recipients, at most `slice` pushes per deferred task, in the order
 * the messages came: a message reaches every one of its recipients before the next message
 * reaches any, so each watcher sees changes in order. Without `defer`, delivery is immediate.
 */
export class FanOut {
  private readonly pending: Delivery[] = [];
  private scheduled = false;
  private readonly runSlice = () => {
    this.scheduled = false;
    this.run(this.slice);
    this.schedule();
  };

  constructor(
    private readonly defer: Defer | undefined,
    private readonly slice: number = DEFAULT_FAN_OUT_SLICE,
  ) {}

  /** Delivers `message` (about `bytes` bytes) to `recipients`, after what is already pending. */
  deliver(message: WatchMessage, bytes: number, recipients: readonly Recipient[]): void {
    if (recipients.length === 0) return;
    this.pending.push({ message, bytes, recipients, next: 0 });
    if (this.defer) this.schedule();
    else this.run(Number.POSITIVE_INFINITY);
  }

  /** Messages not yet pushed to all of their recipients. */
  get backlog(): number {
    return this.pending.length;
  }

  private schedule(): void {
    if (this.scheduled || this.pending.length === 0) return;
    this.scheduled = true;
    this.defer!(this.runSlice);
  }

  /** Pushes up to `budget` messages, oldest delivery first. */
  private run(budget: number): void {
    let left = budget;
    while (left > 0 && this.pending.length > 0) {
      const delivery = this.pending[0]!;
      const { message, bytes, recipients } = delivery;
      const end = Math.min(recipients.length, delivery.next + left);
      left -= end - delivery.next;
      // `next` moves before each push, so a push that delivers again (re-entrant) repeats none.
      while (delivery.next < end) recipients[delivery.next++]!.push(message, bytes);
      if (delivery.next === recipients.length && this.pending[0] === delivery) this.pending.shift();
    }
  }
}
