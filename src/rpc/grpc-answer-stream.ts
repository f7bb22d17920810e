/**
 * Drives a per-message bidi stream (answer-each.ts) on grpc-js without async iterators: each
 * request is answered as its `data` event arrives, and answers ready at once are sent at once.
 * grpc-js's writable side sends one message per HTTP/2 write and waits for each write to
 * finish before the next, so at high rates most of a message's cost was the write; answers
 * here go straight to the call's sendMessage without waiting (serialized, framed and metered
 * by grpc-js as usual), so the HTTP/2 stream buffers the answers of one turn and writes them
 * in one go. Answers keep request order: while one waits on a promise, later requests queue.
 * Too many answers unwritten, or requests queued, pause reading (HTTP/2 flow control then
 * holds the client back).
 */
import type { HandlerContext } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import type { AnswerEach, StreamAnswerer } from "./answer-each.js";
import { MalformedRequest } from "./malformed-request.js";

/** What the stream needs from the server around it. */
export interface AnswerStreamOptions {
  readonly statusOf: (error: unknown) => grpc.StatusObject;
  /** Ends the call with a status after what is queued (grpc-server.ts). */
  readonly fail: (call: grpc.ServerDuplexStream<unknown, unknown>, status: grpc.StatusObject) => void;
  /** The method's response encoder: answers are encoded here so their bytes are counted. */
  readonly encode: (message: never) => Uint8Array;
  /** Answers unwritten, or requests waiting, past which reading pauses. */
  readonly maxBuffered: number;
  /** Bytes of answers unwritten past which reading pauses (big answers: explanations). */
  readonly maxBufferedBytes: number;
}

/** The part of grpc-js's intercepting call that sends one message (not exported by grpc-js). */
interface MessageSender {
  sendMessage(message: unknown, callback: () => void): void;
}

/**
 * grpc-js's call under the duplex stream, when this grpc-js has one where it is expected;
 * otherwise answers go through the duplex's write like any stream's.
 */
function senderOf(call: grpc.ServerDuplexStream<unknown, unknown>): MessageSender | undefined {
  const inner = (call as unknown as { call?: Partial<MessageSender> }).call;
  return typeof inner?.sendMessage === "function" ? (inner as MessageSender) : undefined;
}

/** One stream's state: answers in request order, reading paused while too much is buffered. */
class AnswerStream {
  private readonly sender: MessageSender | undefined;
  /** Requests that arrived while an earlier answer was pending. */
  private readonly waiting: unknown[] = [];
  /** Sizes of the answers sent and not yet written, oldest first (writes complete in order). */
  private readonly unwrittenSizes: number[] = [];
  private unwrittenBytes = 0;
  private pending = false;
  private halfClosed = false;
  private over = false;
  private readonly written = () => {
    this.unwrittenBytes -= this.unwrittenSizes.shift() ?? 0;
    this.resumeIfRoom();
  };
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
    this.sender = senderOf(call);
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
    const { maxBuffered, maxBufferedBytes } = this.options;
    return (
      this.unwrittenSizes.length >= maxBuffered ||
      this.unwrittenBytes >= maxBufferedBytes ||
      this.waiting.length >= maxBuffered
    );
  }

  private resumeIfRoom(): void {
    if (!this.over && !this.full() && this.call.isPaused()) this.call.resume();
  }

  private send(message: unknown): void {
    if (this.over) return;
    const bytes = this.options.encode(message as never);
    this.unwrittenSizes.push(bytes.byteLength);
    this.unwrittenBytes += bytes.byteLength;
    if (this.sender) this.sender.sendMessage(bytes, this.written);
    else this.call.write(bytes, this.written);
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
