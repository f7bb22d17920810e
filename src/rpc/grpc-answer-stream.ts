/**
 * Drives a per-message bidi stream (answer-each.ts) on grpc-js without async iterators: each
 * request is answered as its `data` event arrives, and answers ready at once are sent at once
 * through a SendWindow (grpc-send-window.ts), so the answers of one turn are written together.
 * Answers keep request order: while one waits on a promise, later requests queue.
 * Too many answers unwritten, or requests queued, pause reading (HTTP/2 flow control then
 * holds the client back).
 */
import type { HandlerContext } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import type { AnswerEach, StreamAnswerer } from "./answer-each.js";
import { SendWindow, type SendWindowLimits } from "./grpc-send-window.js";
import { MalformedRequest } from "./malformed-request.js";

/**
 * What the stream needs from the server around it. Answers unwritten (`maxBuffered`,
 * `maxBufferedBytes`), or requests waiting (`maxBuffered`), past the limits pause reading.
 */
export interface AnswerStreamOptions extends SendWindowLimits {
  readonly statusOf: (error: unknown) => grpc.StatusObject;
  /** Ends the call with a status after what is queued (grpc-server.ts). */
  readonly fail: (call: grpc.ServerDuplexStream<unknown, unknown>, status: grpc.StatusObject) => void;
}

/** One stream's state: answers in request order, reading paused while too much is buffered. */
class AnswerStream {
  private readonly window: SendWindow;
  /** Requests that arrived while an earlier answer was pending. */
  private readonly waiting: unknown[] = [];
  private pending = false;
  private halfClosed = false;
  private over = false;
  readonly take = (request: unknown) => {
    if (this.over) return;
    if (!this.pending) this.answerOne(request);
    else {
      this.waiting.push(request);
      if (this.full()) this.call.pause();
    }
  };

  constructor(
    private readonly call: grpc.ServerDuplexStream<unknown, unknown>,
    private readonly answerer: StreamAnswerer,
    private readonly options: AnswerStreamOptions,
  ) {
    this.window = new SendWindow(call, options, () => this.resumeIfRoom());
  }

  /** The client half-closed: end once every request is answered. */
  endOfRequests(): void {
    this.halfClosed = true;
    this.answerWaiting();
  }

  /** The call was cancelled (client gone, deadline): no status to send; the answerer still hears of it. */
  cancelled(): void {
    if (this.over) return;
    this.over = true;
    this.waiting.length = 0;
    this.answerer.close?.(undefined);
  }

  private full(): boolean {
    return this.window.full || this.waiting.length >= this.options.maxBuffered;
  }

  private resumeIfRoom(): void {
    if (!this.over && !this.full() && this.call.isPaused()) this.call.resume();
  }

  private send(message: unknown): void {
    if (this.over) return;
    this.window.send(message);
    if (this.full()) this.call.pause();
  }

  private answerOne(request: unknown): void {
    if (request instanceof MalformedRequest) {
      this.finish(request.error);
      return;
    }
    let answer: unknown;
    try {
      answer = this.answerer.answer(request);
    } catch (error) {
      this.finish(error);
      return;
    }
    if (!(answer instanceof Promise)) {
      this.send(answer);
      return;
    }
    this.pending = true;
    answer.then(
      (value) => {
        this.pending = false;
        this.send(value);
        this.answerWaiting();
      },
      (error) => this.finish(error),
    );
  }

  private answerWaiting(): void {
    while (!this.pending && !this.over && this.waiting.length > 0) this.answerOne(this.waiting.shift());
    if (!this.pending && this.halfClosed && this.waiting.length === 0) this.finish(undefined);
    else this.resumeIfRoom();
  }

  /** Ends the call: OK after the answers written, or the status of `error`. */
  private finish(error: unknown): void {
    if (this.over) return;
    this.over = true;
    this.waiting.length = 0;
    this.call.off("data", this.take);
    this.answerer.close?.(error);
    if (error === undefined) this.call.end();
    else this.options.fail(this.call, this.options.statusOf(error));
  }
}

/** Runs one stream of `each` on `call`. */
export function runAnswerStream(
  call: grpc.ServerDuplexStream<unknown, unknown>,
  each: AnswerEach,
  context: HandlerContext,
  options: AnswerStreamOptions,
): void {
  let answerer: StreamAnswerer;
  try {
    answerer = each(context);
  } catch (error) {
    options.fail(call, options.statusOf(error));
    return;
  }
  const stream = new AnswerStream(call, answerer, options);
  call.on("data", stream.take);
  call.once("end", () => stream.endOfRequests());
  call.once("cancelled", () => stream.cancelled());
}
