/**
 * A bidi method that answers every request with exactly one message, in request order
 * (SelectStream). Besides its async-generator form in a binding's `impl`, such a method may
 * be given in this per-message form, which lets a transport drive the stream message by
 * message: no async iterator, generator or promise per message when the answer is ready at
 * once, and the answers of one event-loop turn written together (grpc-answer-stream.ts). Both
 * forms must behave the same; wrappers of a binding (authorization, metrics) wrap both, and
 * one that does not know this form drops it, so the transport falls back to `impl`.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";

/** One stream's answerer. */
export interface StreamAnswerer<Request = unknown, Answer = unknown> {
  /** The answer to one request; a throw (or rejection) ends the stream with that error. */
  answer(request: Request): Answer | Promise<Answer>;
  /** The stream is over: `error` is what ended it, undefined for a normal end or a cancel. */
  close?(error: unknown): void;
}

/** Opens one stream's answerer; a throw refuses the stream with that error. */
export type AnswerEach<Request = unknown, Answer = unknown> = (
  context: HandlerContext,
) => StreamAnswerer<Request, Answer>;

/** The per-message methods of a binding, by local name (`selectStream`). */
export type AnswerEachMethods = Readonly<Record<string, AnswerEach>>;

/** The async-generator form of `each`, for `impl` and for transports that drive streams by iterators. */
export function streamOfAnswers<Request, Answer>(each: AnswerEach<Request, Answer>) {
  return async function* (requests: AsyncIterable<Request>, context: HandlerContext): AsyncGenerator<Answer> {
    const answerer = each(context);
    let failure: unknown;
    try {
      for await (const request of requests) yield await answerer.answer(request);
    } catch (error) {
      failure = error;
      throw error;
    } finally {
      answerer.close?.(failure);
    }
  };
}

/**
 * `methods` (one form of a binding's methods, by local name: answer-each or push-each) with
 * `wrap` applied to each (authorization, metrics, tracing); undefined when there are none. A
 * wrapper of a binding passes its result on as the new binding's form of the same name.
 */
export function wrapMethods<F>(
  service: DescService,
  methods: Readonly<Record<string, F>> | undefined,
  wrap: (method: DescMethod, each: F) => F,
): Readonly<Record<string, F>> | undefined {
  if (!methods) return undefined;
  const wrapped: Record<string, F> = {};
  for (const method of service.methods) {
    const each = methods[method.localName];
    if (each) wrapped[method.localName] = wrap(method, each);
  }
  return wrapped;
}
