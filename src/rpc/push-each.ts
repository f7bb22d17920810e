/**
 * A server-streaming method whose messages come from events rather than from the request
 * (Watch). Besides its async-generator form in a binding's `impl`, such a method may be
 * given in this push form: the method sends each message to a sink the transport gives
 * it, as the message comes, and hears from the transport when it may send again. No async
 * iterator, generator or promise per message (grpc-push-stream.ts drives it on grpc-js).
 * Both forms must behave the same; wrappers of a binding (authorization, metrics) wrap both,
 * and one that does not know this form drops it, so the transport falls back to `impl`.
 */
import type { HandlerContext } from "@connectrpc/connect";

/** The transport's side of one stream. */
export interface PushSink<Message = unknown> {
  /**
   * Sends one message; false once the transport holds as much unwritten as it should, and
   * then it calls the stream's `resume` when it has room (a message sent meanwhile is still sent).
   */
  send(message: Message): boolean;
  /** Ends the stream: OK when `error` is undefined, else with its status. Ignored once over. */
  end(error?: unknown): void;
}

/** The method's side of one open stream. */
export interface PushStream {
  /** The transport has room again. */
  resume(): void;
  /** The call is over without `end` (the client cancelled or went away): stop sending. */
  close(): void;
}

/** Opens one stream on `sink`; a throw refuses the stream with that error. */
export type PushEach<Request = unknown, Message = unknown> = (
  request: Request,
  context: HandlerContext,
  sink: PushSink<Message>,
) => PushStream;

/** The push-form methods of a binding, by local name (`watch`); wrappers wrap them with answer-each.ts's wrapMethods. */
export type PushEachMethods = Readonly<Record<string, PushEach>>;
