/**
 * The core of one replica, built in dependency order: the service table, the registry and its
 * event subscribers (metrics, health, pins, Watch), quota, the balancer with the Report
 * pipeline, and the session router. No listeners here: servers and replica links are started
 * by create-app.ts.
 */
import { randomBytes } from "node:crypto";
import { Balancer } from "../balancer/balancer.js";
import { ServiceTable } from "../balancer/service-table.js";
import type { FulcrumConfig } from "../config/schema.js";
import { HealthMonitor } from "../health/health-monitor.js";
import { createProber } from "../health/prober.js";
import type { ServiceStatus } from "../model/status.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { EstimateMargins } from "../quota/estimate-margin.js";
import { QuotaGate } from "../quota/quota-gate.js";
import { SharedQuotaView } from "../quota/shared-quota-view.js";
import { ServiceEvents } from "../registry/events.js";
import { ServiceRegistry } from "../registry/service-registry.js";
import { ReportPipeline } from "../report/report-pipeline.js";
import { NegativeAvailability } from "../sessions/negative-availability.js";
import { describeService, pinsHoldDrain } from "../sessions/service-description.js";
import { SessionRouter } from "../sessions/session-router.js";
import type { Clock } from "../shared/clock.js";
import type { Random } from "../shared/random.js";
import { createProbe } from "../store/probes/probe-by-kind.js";
import { WatchHub } from "../watch/watch-hub.js";
import { logEjections, logQuotaCrossing, serviceEventLogger } from "./event-log.js";
import { parseServiceConfig } from "./parse-service-config.js";
import type { StateStore } from "./state-store.js";
import { createTicketSigner } from "./ticket-signer.js";

/** What the core is built from. */
export interface CoreDeps {
  readonly config: FulcrumConfig;
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly state: StateStore;
}

/** One replica's core. */
export interface Core {
  readonly replica: string;
  readonly registry: ServiceRegistry;
  /** This replica's runtime view of every service: what Select reads. */
  readonly services: ServiceTable;
  readonly health: HealthMonitor;
  readonly watchHub: WatchHub;
  readonly quota: QuotaGate;
  readonly balancer: Balancer;
  readonly router: SessionRouter;
  /** GetService's view: the registry's, plus pinned sessions and quota remaining per backend. */
  describeService(service: string): Promise<ServiceStatus>;
}

/** Builds and starts (loads the registry of) one replica's core. */
export async function buildCore(deps: CoreDeps): Promise<Core> {
  const { config, clock, random, state } = deps;
  const log = (message: string, cause: unknown) => deps.logger.error({ err: cause }, message);
  const background = (what: string, work: Promise<unknown>) =>
    void work.catch((cause: unknown) => log(what, cause));
  const replica = randomBytes(6).toString("base64url");
  const services = new ServiceTable({ clock, random });
  const events = new ServiceEvents();
  const registry = new ServiceRegistry({
    clock,
    limits: config.limits,
    members: services,
    parseConfig: parseServiceConfig,
    log: state.registryLog,
    onEvent: events.publish,
    onBackgroundError: log,
    drainHold: pinsHoldDrain(state.pinStore),
  });
  const health = buildHealth(deps, registry, services, log);
  const watchHub = new WatchHub({
    clock,
    limits: config.watch,
    describe: (service) => services.status(service),
    serviceNames: () => registry.names(),
    // A change reaches watchers in slices after the call that made it is answered.
    defer: (task) => void setImmediate(task),
  });
  followServiceEvents(events, deps, health, watchHub, background);
  await registry.start();
  const quota = buildQuotaGate(deps, registry, services, watchHub);
  const negative = new NegativeAvailability({
    clock,
    maxFacts: config.sessions.maxNegativeFacts,
    shared: state.negativeFacts,
    onShareError: (cause) => deps.logger.debug({ err: cause }, "sharing a negative-availability fact failed"),
  });
  const report = new ReportPipeline({ services, health, quota, negative, background });
  const balancer = buildBalancer(deps, replica, { services, registry, health, quota, report });
  const router = new SessionRouter({
    store: state.pinStore,
    negative,
    clock,
    balancer,
    quota,
    find: (service) => services.find(service),
    onPinReleased: (service, backend) => registry.finishDrain(service, backend.spec.id),
  });
  const describeServiceNow = async (service: string) =>
    describeService(registry.describe(service), services.find(service), state.pinStore, quota);
  return {
    replica,
    registry,
    services,
    health,
    watchHub,
    quota,
    balancer,
    router,
    describeService: describeServiceNow,
  };
}

/** Who hears registry changes, in this order: metrics, health, pins of removed backends, Watch. */
function followServiceEvents(
  events: ServiceEvents,
  deps: CoreDeps,
  health: HealthMonitor,
  watchHub: WatchHub,
  background: (what: string, work: Promise<unknown>) => void,
): void {
  events.subscribe((event) => {
    if (event.change.kind === "health_changed") deps.metrics.recordHealthTransition(event.change.current);
  });
  events.subscribe(serviceEventLogger(deps.logger));
  events.subscribe((event) => health.onServiceEvent(event));
  events.subscribe((event) => {
    if (event.change.kind !== "backend_removed") return;
    const { backendId } = event.change;
    background(
      `releasing pins of ${backendId}`,
      deps.state.pinStore.releaseBackend(event.service, backendId),
    );
  });
  events.subscribe((event) => watchHub.publish(event));
}

function buildBalancer(
  deps: CoreDeps,
  replica: string,
  parts: {
    services: ServiceTable;
    registry: ServiceRegistry;
    health: HealthMonitor;
    quota: QuotaGate;
    report: ReportPipeline;
  },
): Balancer {
  const { services, registry, health, quota, report } = parts;
  return new Balancer({
    services,
    onDrainIdle: (service, backendId) => registry.finishDrain(service, backendId),
    clock: deps.clock,
    limits: deps.config.limits,
    replica,
    signer: createTicketSigner(deps.state.ticketSecrets),
    relay: deps.state.ticketRelay,
    onRelayError: (cause) =>
      deps.logger.warn({ err: cause }, "relaying a Report to the replica that issued its ticket failed"),
    quota,
    probeSelection: (service, candidates) => health.probeSelection(service, candidates),
    report,
  });
}

function buildHealth(
  deps: CoreDeps,
  registry: ServiceRegistry,
  services: ServiceTable,
  log: (message: string, cause: unknown) => void,
): HealthMonitor {
  return new HealthMonitor({
    clock: deps.clock,
    random: deps.random,
    registry,
    targets: {
      find: (service) => services.find(service),
      setCounters: (service, id, failures, successes) =>
        services.setCounters(service, id, failures, successes),
      setEjections(service, ejected, returned) {
        logEjections(deps.logger, service, ejected);
        services.setEjections(service, ejected, returned);
      },
    },
    createProber: (sink) =>
      createProber({
        clock: deps.clock,
        random: deps.random,
        probe: createProbe(),
        sink: (service, backendId, result) => {
          deps.metrics.recordProbe(result.status);
          sink(service, backendId, result);
        },
        maxConcurrent: deps.config.health.maxConcurrentProbes,
        onSinkError: (error) => log("probe result not applied", error),
      }),
    onError: log,
  });
}

function buildQuotaGate(
  deps: CoreDeps,
  registry: ServiceRegistry,
  services: ServiceTable,
  watchHub: WatchHub,
): QuotaGate {
  const view = deps.state.openQuotaView?.(
    ({ service, backendId }) => services.find(service)?.backends.get(backendId)?.spec.quotas,
  );
  return new QuotaGate({
    limiter: deps.state.quotaLimiter,
    clock: deps.clock,
    shared: view && new SharedQuotaView(view),
    shadowOf: (service) => services.find(service)?.config.quota.shadow ?? false,
    reconcileHoldMs: deps.config.quota.reconcileHoldMs,
    upstreamLagMs: deps.config.quota.upstreamLagMs,
    margins: new EstimateMargins(deps.config.quota.estimateMargin),
    filterOf: (service) => {
      const snapshot = services.find(service)?.snapshot;
      return snapshot && { candidates: snapshot.eligible, threshold: snapshot.config.quota.filterThreshold };
    },
    thresholdsOf: (service) => services.find(service)?.config.quota.watchThresholds ?? [],
    onHeadroom: (service, backend, crossing) => {
      logQuotaCrossing(deps.logger, service, backend.spec.id, crossing);
      watchHub.publishEphemeral({
        service,
        version: registry.versionOf(service),
        event: { kind: "headroom_crossed", backendId: backend.spec.id, ...crossing },
      });
    },
  });
}
