import { FulcrumError } from "../../shared/errors.js";
import { type AnswerEach, type StreamAnswerer, wrapMethods } from "../answer-each.js";
import type { ServiceBinding } from "../grpc-server.js";
import type { PushEach, PushStream } from "../push-each.js";

/** Receives one finished RPC: method, status code name, handler seconds. */
export type RpcObserver = (method: string, code: string, seconds: number) => void;

function codeOf(error: unknown): string {
  return error instanceof FulcrumError ? error.code : "internal";
}

/** A per-message stream (answer-each.ts), observed like its generator form: open to close. */
function observeEach(name: string, each: AnswerEach, observe: RpcObserver): AnswerEach {
  return (context) => {
    const start = performance.now();
    const seconds = () => (performance.now() - start) / 1000;
    let answerer: StreamAnswerer;
    try {
      answerer = each(context);
    } catch (error) {
      observe(name, codeOf(error), seconds());
      throw error;
    }
    return {
      answer: (request) => answerer.answer(request),
      close(error) {
        answerer.close?.(error);
        observe(name, error === undefined ? "ok" : codeOf(error), seconds());
      },
    };
  };
}

/** Hears a server stream open (+1) and end (-1). */
type OnStream = (method: string, delta: 1 | -1) => void;

/** A push-form stream (push-each.ts), observed like its generator form: open to end or close. */
function observePush(name: string, push: PushEach, observe: RpcObserver, onStream?: OnStream): PushEach {
  return (request, context, sink) => {
    const start = performance.now();
    let open = true;
    const finish = (code: string) => {
      if (!open) return;
      open = false;
      onStream?.(name, -1);
      observe(name, code, (performance.now() - start) / 1000);
    };
    onStream?.(name, 1);
    let stream: PushStream;
    try {
      stream = push(request, context, {
        send: sink.send.bind(sink),
        end(error) {
          finish(error === undefined ? "ok" : codeOf(error));
          sink.end(error);
        },
      });
    } catch (error) {
      finish(codeOf(error));
      throw error;
    }
    return {
      resume: () => stream.resume(),
      close() {
        stream.close();
        finish("ok");
      },
    };
  };
}

/** Seconds since `start` (a performance.now() reading). */
const secondsSince = (start: number) => (performance.now() - start) / 1000;

/**
 * A unary method (or one taking a client stream), timed to its answer. No closure per call:
 * a synchronous answer, the usual Select, is observed before it is returned.
 */
function observeUnary(
  name: string,
  fn: (request: unknown, context: unknown) => unknown,
  observe: RpcObserver,
): (request: unknown, context: unknown) => unknown {
  return (request, context) => {
    const start = performance.now();
    let result: unknown;
    try {
      result = fn(request, context);
    } catch (error) {
      observe(name, codeOf(error), secondsSince(start));
      throw error;
    }
    if (!(result instanceof Promise)) {
      observe(name, "ok", secondsSince(start));
      return result;
    }
    return result.then(
      (value) => {
        observe(name, "ok", secondsSince(start));
        return value;
      },
      (error) => {
        observe(name, codeOf(error), secondsSince(start));
        throw error;
      },
    );
  };
}

/**
 * Wraps a binding's methods so each call is reported to `observe`, once, whatever the
 * transport. Unary calls are timed to the answer; streams from open to close, and
 * `onStream` hears a server stream open (+1) and end (-1), for live gauges.
 */
export function observeBinding(
  binding: ServiceBinding,
  observe: RpcObserver,
  onStream?: OnStream,
): ServiceBinding {
  const impl: ServiceBinding["impl"] = {};
  for (const method of binding.service.methods) {
    const fn = binding.impl[method.localName];
    if (!fn) continue;
    const name = `${binding.service.name}/${method.name}`;
    const streamsOut = method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming";
    impl[method.localName] = streamsOut
      ? async function* (...args: unknown[]) {
          const start = performance.now();
          let code = "ok";
          onStream?.(name, 1);
          try {
            yield* fn(...args);
          } catch (error) {
            code = codeOf(error);
            throw error;
          } finally {
            onStream?.(name, -1);
            observe(name, code, (performance.now() - start) / 1000);
          }
        }
      : observeUnary(name, fn, observe);
  }
  const answerEach = wrapMethods(binding.service, binding.answerEach, (method, each) =>
    observeEach(`${binding.service.name}/${method.name}`, each, observe),
  );
  const pushEach = wrapMethods(binding.service, binding.pushEach, (method, push) =>
    observePush(`${binding.service.name}/${method.name}`, push, observe, onStream),
  );
  return { service: binding.service, impl, ...(answerEach && { answerEach }), ...(pushEach && { pushEach }) };
}
