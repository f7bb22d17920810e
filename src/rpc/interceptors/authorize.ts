/**
 * Authorization on every RPC, per verb and per service (behaviour.md A2), for both ports: a
 * wrapper over a binding's methods, like observe.ts. The caller is authenticated from the
 * credentials its transport put in the context (call-credentials.ts); each request, and
 * every message of a client stream, is checked against the services it names. ListServices
 * answers only what the caller may watch. Unknown credentials give UNAUTHENTICATED, a
 * missing scope PERMISSION_DENIED naming it; neither echoes the token.
 */
import type { DescMethod } from "@bufbuild/protobuf";
import type { HandlerContext } from "@connectrpc/connect";
import type { AccessTable, Principal } from "../../auth/access-table.js";
import { allows, scopeFor, type Verb } from "../../auth/scopes.js";
import { FulcrumError } from "../../shared/errors.js";
import { type AnswerEach, wrapMethods } from "../answer-each.js";
import type { ServiceBinding } from "../grpc-server.js";
import type { PushEach } from "../push-each.js";
import { CALL_CREDENTIALS } from "./call-credentials.js";

/** The verb each RPC needs; an RPC not listed here needs `admin`. */
const VERB_OF_METHOD: Readonly<Record<string, Verb>> = {
  Register: "register",
  Deregister: "register",
  Heartbeat: "register",
  SetHealth: "health",
  Select: "select",
  SelectStream: "select",
  EndSession: "select",
  Report: "report",
  StreamReports: "report",
  Watch: "watch",
  GetService: "watch",
  ListServices: "watch",
};

type Message = Record<string, unknown>;

/** The service named in a signed ticket id (`replica~seq~service~ids~signature`); the balancer checks the signature. */
function ticketService(ticket: string): string | undefined {
  return ticket.split("~")[2];
}

function outcomeServices(outcomes: unknown): string[] {
  const services: string[] = [];
  for (const outcome of (outcomes as Message[] | undefined) ?? []) {
    if (outcome.service) services.push(outcome.service as string);
    const fromTicket = outcome.ticket ? ticketService(outcome.ticket as string) : undefined;
    if (fromTicket !== undefined) services.push(fromTicket);
  }
  return services;
}

/** The services one request message acts on; `*` stands for "every service". */
function servicesOf(method: string, message: Message): string[] {
  switch (method) {
    case "SelectStream":
      return [((message.select as Message | undefined)?.service as string | undefined) ?? ""];
    case "Report":
      return outcomeServices(message.outcomes);
    case "StreamReports":
      return [
        ...outcomeServices(message.outcomes),
        ...((message.probes as Message[] | undefined) ?? []).map((probe) => probe.service as string),
      ];
    case "Watch": {
      const services = message.services as string[];
      return services.length > 0 ? services : ["*"];
    }
    case "ListServices":
      return [];
    default:
      return [message.service as string];
  }
}

/** Options of authorizeBinding. */
export interface AuthorizeOptions {
  /** The current table (it is reloaded when its file changes). */
  readonly table: () => AccessTable;
}

const UNAUTHENTICATED_MESSAGE =
  "missing or unknown credentials: send `authorization: Bearer <token>` or a client certificate known to the server";

function principalOf(context: HandlerContext, table: AccessTable): Principal {
  const principal = table.authenticate(context.values.get(CALL_CREDENTIALS));
  if (!principal) throw new FulcrumError("unauthenticated", UNAUTHENTICATED_MESSAGE);
  return principal;
}

function check(principal: Principal, verb: Verb | undefined, services: readonly string[]): void {
  if (!verb) {
    if (!principal.grants.admin) throw new FulcrumError("permission_denied", "missing scope admin");
    return;
  }
  for (const service of services)
    if (!allows(principal.grants, verb, service))
      throw new FulcrumError("permission_denied", `missing scope ${scopeFor(verb, service)}`);
}

async function* checkedEach(
  requests: AsyncIterable<Message>,
  principal: Principal,
  method: string,
  verb: Verb | undefined,
): AsyncIterable<Message> {
  for await (const request of requests) {
    check(principal, verb, servicesOf(method, request));
    yield request;
  }
}

function onlyWatchable(principal: Principal, response: Message): Message {
  const services = (response.services as Message[]).filter((summary) =>
    allows(principal.grants, "watch", summary.name as string),
  );
  return { ...response, services };
}

/** A per-message stream (answer-each.ts) with the same checks: the caller at open, each request's services. */
function authorizeEach(method: DescMethod, each: AnswerEach, options: AuthorizeOptions): AnswerEach {
  const verb = VERB_OF_METHOD[method.name];
  return (context) => {
    const principal = principalOf(context, options.table());
    const answerer = each(context);
    return {
      answer(request) {
        check(principal, verb, servicesOf(method.name, request as Message));
        return answerer.answer(request);
      },
      close: (error) => answerer.close?.(error),
    };
  };
}

/** A push-form stream (push-each.ts) with the same checks as its generator form: the caller and the services it names, at open. */
function authorizePush(method: DescMethod, push: PushEach, options: AuthorizeOptions): PushEach {
  const verb = VERB_OF_METHOD[method.name];
  return (request, context, sink) => {
    check(principalOf(context, options.table()), verb, servicesOf(method.name, request as Message));
    return push(request, context, sink);
  };
}

/** Wraps a binding's methods with the checks above. */
export function authorizeBinding(binding: ServiceBinding, options: AuthorizeOptions): ServiceBinding {
  const impl: ServiceBinding["impl"] = {};
  for (const method of binding.service.methods) {
    const fn = binding.impl[method.localName];
    if (!fn) continue;
    const verb = VERB_OF_METHOD[method.name];
    const streamsIn = method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming";
    const checked = (requests: AsyncIterable<Message>, context: HandlerContext) =>
      checkedEach(requests, principalOf(context, options.table()), method.name, verb);
    // Streaming wrappers are async so a refusal reaches the transport as a failed call, never as a throw.
    if (method.methodKind === "client_streaming") {
      impl[method.localName] = async (requests: AsyncIterable<Message>, context: HandlerContext) =>
        fn(checked(requests, context), context);
      continue;
    }
    if (streamsIn) {
      impl[method.localName] = async function* (requests: AsyncIterable<Message>, context: HandlerContext) {
        yield* fn(checked(requests, context), context);
      };
      continue;
    }
    if (method.methodKind === "server_streaming") {
      impl[method.localName] = async function* (request: Message, context: HandlerContext) {
        check(principalOf(context, options.table()), verb, servicesOf(method.name, request));
        yield* fn(request, context);
      };
      continue;
    }
    const filtersAnswer = method.name === "ListServices";
    impl[method.localName] = (request: Message, context: HandlerContext) => {
      const principal = principalOf(context, options.table());
      check(principal, verb, servicesOf(method.name, request));
      const result = fn(request, context);
      if (!filtersAnswer) return result;
      return result instanceof Promise
        ? result.then((answer: Message) => onlyWatchable(principal, answer))
        : onlyWatchable(principal, result);
    };
  }
  const answerEach = wrapMethods(binding.service, binding.answerEach, (method, each) =>
    authorizeEach(method, each, options),
  );
  const pushEach = wrapMethods(binding.service, binding.pushEach, (method, push) =>
    authorizePush(method, push, options),
  );
  return { service: binding.service, impl, ...(answerEach && { answerEach }), ...(pushEach && { pushEach }) };
}
