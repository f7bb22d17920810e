/**
 * Drives a push-form server stream (push-each.ts) on grpc-js: each message the method sends
 * goes at once through a SendWindow (grpc-send-window.ts), no async iterator or promise per
 * message. While the window is full the sink answers false and the method holds what comes
 * (a Watch queues, under its own bounds); the method hears `resume` once a write makes room.
 */
import type { HandlerContext } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import { SendWindow, type SendWindowLimits } from "./grpc-send-window.js";
import type { PushEach, PushSink, PushStream } from "./push-each.js";

/** What the stream needs from the server around it. */
export interface PushStreamOptions extends SendWindowLimits {
  readonly statusOf: (error: unknown) => grpc.StatusObject;
  /** Ends the call with a status after what is queued (grpc-server.ts). */
  readonly fail: (call: grpc.ServerWritableStream<unknown, unknown>, status: grpc.StatusObject) => void;
}

/** One call: the sink the method sends to. */
class PushCall implements PushSink {
  private readonly window: SendWindow;
  private over = false;
  /** The sink answered false: the method waits for `resume`. */
  private held = false;
  stream: PushStream | undefined;

  constructor(
    private readonly call: grpc.ServerWritableStream<unknown, unknown>,
    private readonly options: PushStreamOptions,
  ) {
    this.window = new SendWindow(call, options, () => this.resumeIfRoom());
  }

  send(message: unknown): boolean {
    if (this.over) return false;
    this.window.send(message);
    if (!this.window.full) return true;
    this.held = true;
    return false;
  }

  end(error?: unknown): void {
    if (this.over) return;
    this.over = true;
    if (error === undefined) this.call.end();
    else this.options.fail(this.call, this.options.statusOf(error));
  }

  /** The call was cancelled (client gone, deadline): no status to send; the method stops. */
  cancelled(): void {
    if (this.over) return;
    this.over = true;
    this.stream?.close();
  }

  private resumeIfRoom(): void {
    if (!this.held || this.over || this.window.full) return;
    this.held = false;
    this.stream?.resume();
  }
}

/** Runs one stream of `each` on `call` (whose request is already decoded). */
export function runPushStream(
  call: grpc.ServerWritableStream<unknown, unknown>,
  each: PushEach,
  context: HandlerContext,
  options: PushStreamOptions,
): void {
  const sink = new PushCall(call, options);
  call.once("cancelled", () => sink.cancelled());
  try {
    sink.stream = each(call.request, context, sink);
  } catch (error) {
    sink.end(error);
    return;
  }
  // Over while opening (cancelled before `stream` was known): the method still hears of it.
  if (call.cancelled) sink.stream.close();
}
