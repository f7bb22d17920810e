import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type {
  SelectRequest,
  SelectStreamRequest,
  StreamReportsRequest,
} from "../../gen/fulcrum/v1/balancer_pb.js";
import type { Balancer } from "../balancer/balancer.js";
import { serviceNotFound } from "../balancer/decision.js";
import type { HealthMonitor } from "../health/health-monitor.js";
import type { RoutedDecision, SessionRouter } from "../sessions/session-router.js";
import { FulcrumError } from "../shared/errors.js";
import type { WatchHub } from "../watch/watch-hub.js";
import * as codec from "./codec/index.js";
import { asFulcrumError, type ErrorLogger, GRPC_STATUS } from "./errors.js";
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

/** BalancerService: decode, call the core, encode. No logic of its own. */
export function createBalancerServiceImpl(
  deps: BalancerServiceDeps,
): ServiceImpl<typeof codec.BalancerService> {
  const { balancer, router, watchHub, log, encodings } = deps;
  const errorStatus = (failure: FulcrumError) => codec.encodeErrorStatus(failure, GRPC_STATUS[failure.code]);

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
    async *selectStream(requests: AsyncIterable<SelectStreamRequest>) {
      for await (const request of requests) {
        try {
          const response = await select(codec.selectOfStreamRequest(request));
          yield codec.encodeSelectStreamResponse(request.requestId, { response });
        } catch (error) {
          const status = errorStatus(asFulcrumError(error, log));
          yield codec.encodeSelectStreamResponse(request.requestId, { error: status });
        }
      }
    },
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
