import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  SelectRequest,
  SelectResponse,
  SelectStreamRequest,
  SelectStreamResponse,
  StreamReportsRequest,
  WatchRequest,
  WatchResponse,
} from "../../gen/fulcrum/v1/balancer_pb.js";
import type { Balancer } from "../balancer/balancer.js";
import { serviceNotFound } from "../balancer/decision.js";
import type { HealthMonitor } from "../health/health-monitor.js";
import type { RoutedDecision, SessionRouter } from "../sessions/session-router.js";
import { FulcrumError } from "../shared/errors.js";
import type { WatchHub } from "../watch/watch-hub.js";
import { type AnswerEach, streamOfAnswers } from "./answer-each.js";
import * as codec from "./codec/index.js";
import { asFulcrumError, type ErrorLogger, GRPC_STATUS } from "./errors.js";
import type { ServiceBinding } from "./grpc-server.js";
import type { PushEach } from "./push-each.js";
import { refusalError } from "./refusal-status.js";

/** What BalancerService needs. */
export interface BalancerServiceDeps {
  readonly balancer: Balancer;
  readonly health: HealthMonitor;
  readonly router: SessionRouter;
  readonly watchHub: WatchHub;
  readonly log: ErrorLogger;
  /** The server's encoding cache (selected backends, Watch changes). */
  readonly encodings: codec.EncodingCache;
}

const unknownBackend = (service: string, backendId: string) =>
  new FulcrumError(
    "not_found",
    `probe result for ${JSON.stringify(backendId)} of ${JSON.stringify(service)}: no such backend`,
  );

const errorStatus = (failure: FulcrumError) => codec.encodeErrorStatus(failure, GRPC_STATUS[failure.code]);

type Select = (req: SelectRequest) => SelectResponse | Promise<SelectResponse>;

/**
 * SelectStream, one answer per request: the Select's response, or its error status (the
 * stream goes on). Answered at once when the Select is (no promise per message).
 */
function answerSelectStream(
  select: Select,
  log: ErrorLogger,
): AnswerEach<SelectStreamRequest, SelectStreamResponse> {
  const refused = (request: SelectStreamRequest, error: unknown) =>
    codec.encodeSelectStreamResponse(request.requestId, { error: errorStatus(asFulcrumError(error, log)) });

  const answer = (request: SelectStreamRequest) => {
    try {
      const response = select(codec.selectOfStreamRequest(request));
      if (!(response instanceof Promise))
        return codec.encodeSelectStreamResponse(request.requestId, { response });
      return response.then(
        (value) => codec.encodeSelectStreamResponse(request.requestId, { response: value }),
        (error) => refused(request, error),
      );
    } catch (error) {
      return refused(request, error);
    }
  };
  return () => ({ answer });
}

/** BalancerService: decode, call the core, encode. No logic of its own. */
export function createBalancerServiceImpl(
  deps: BalancerServiceDeps,
): ServiceImpl<typeof codec.BalancerService> {
  const { balancer, router, watchHub, log, encodings } = deps;

  /** A routed decision as the answer, or its refusal as the error status. */
  function answer(decision: RoutedDecision) {
    if (decision.kind !== "picked") throw refusalError(decision);
    return codec.encodeSelection(decision.selection, decision.sessionMode, encodings);
  }

  /**
   * The service is looked up once and passed along. The snapshot alone answers most Selects
   * synchronously; sessions, resource keys and quota take the router.
   */
  function select(req: SelectRequest) {
    const query = codec.decodeSelect(req);
    const extras = codec.decodeSelectExtras(req);
    balancer.validateQuery(req.service, query);
    const live = balancer.find(req.service);
    if (!live) throw refusalError(serviceNotFound(req.service));
    if (!router.needed(live, extras)) {
      const decision = balancer.selectIn(live, query);
      if (decision.kind !== "picked") throw refusalError(decision);
      return codec.encodeSelection(decision.selection, undefined, encodings);
    }
    return router.select(live, query, extras).then(answer);
  }

  return {
    select,
    selectStream: streamOfAnswers(answerSelectStream(select, log)),
    report(req) {
      return codec.encodeReportResponse(balancer.report(codec.decodeOutcomes(req.outcomes)));
    },
    streamReports: (requests: AsyncIterable<StreamReportsRequest>) =>
      streamReports(requests, deps, errorStatus),
    async *watch(req, context: HandlerContext) {
      const { services, resume } = codec.decodeWatch(req);
      const watcher = watchHub.subscribe(services, resume);
      const stop = () => watcher.close();
      context.signal.addEventListener("abort", stop, { once: true });
      try {
        for await (const message of watcher) yield codec.encodeWatchMessage(message, encodings);
      } finally {
        context.signal.removeEventListener("abort", stop);
        watcher.close();
      }
    },
    async endSession(req) {
      const { service, sessionId } = codec.decodeEndSession(req);
      return codec.encodeEndSessionResponse(await router.endSession(service, sessionId));
    },
  };
}

/** Most rejected items whose status StreamReports sends back. */
const MAX_STREAM_REPORT_ERRORS = 10;

/** StreamReports (H8): outcomes and agents' probe results; a bad batch is counted and named, the stream goes on. */
async function streamReports(
  requests: AsyncIterable<StreamReportsRequest>,
  deps: BalancerServiceDeps,
  errorStatus: (failure: FulcrumError) => codec.Status,
) {
  const { balancer, health, log } = deps;
  const totals = { applied: 0, ignored: 0, rejected: 0, errors: [] as codec.Status[] };
  const reject = (failure: FulcrumError, count: number) => {
    totals.rejected += count;
    if (totals.errors.length < MAX_STREAM_REPORT_ERRORS) totals.errors.push(errorStatus(failure));
  };
  for await (const request of requests) {
    if (request.outcomes.length > 0) {
      try {
        const result = balancer.report(codec.decodeOutcomes(request.outcomes));
        totals.applied += result.applied;
        totals.ignored += result.ignored;
      } catch (error) {
        reject(asFulcrumError(error, log), request.outcomes.length);
      }
    }
    for (const probe of request.probes) {
      const status = probe.healthy ? "pass" : "fail";
      if (health.onProbe(probe.service, probe.backendId, { status, detail: probe.detail })) totals.applied++;
      else reject(unknownBackend(probe.service, probe.backendId), 1);
    }
  }
  return codec.encodeStreamReportsResponse(totals);
}

/**
 * Watch in push form (push-each.ts): the watcher sends each change to the transport as it
 * comes, and queues (under its bounds) only while the transport is full. The async-generator
 * form in the impl behaves the same.
 */
function pushWatch(deps: BalancerServiceDeps): PushEach<WatchRequest, WatchResponse> {
  const { watchHub, encodings } = deps;
  return (req, _context, sink) => {
    const { services, resume } = codec.decodeWatch(req);
    const watcher = watchHub.subscribe(services, resume);
    try {
      watcher.attach({
        send: (message) => sink.send(codec.encodeWatchMessage(message, encodings)),
        end: (error) => sink.end(error),
      });
    } catch (error) {
      watcher.close(); // not subscribed past a failed open
      throw error;
    }
    return { resume: () => watcher.resume(), close: () => watcher.close() };
  };
}

/** BalancerService with its streams in per-message and push form too, as the servers take it. */
export function createBalancerBinding(deps: BalancerServiceDeps): ServiceBinding {
  const impl = createBalancerServiceImpl(deps);
  return {
    service: codec.BalancerService,
    impl: impl as ServiceBinding["impl"],
    answerEach: { selectStream: answerSelectStream(impl.select as Select, deps.log) as AnswerEach },
    pushEach: { watch: pushWatch(deps) as PushEach },
  };
}
