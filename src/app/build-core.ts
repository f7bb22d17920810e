/**
 * The core of one replica, wired: registry, health, watch, quota, balancer and session
 * router, with the hooks that connect them (a Report feeds health, quota and negative
 * availability; registry events feed health, pins and Watch). No listeners here: servers and
 * replica links are started by create-app.ts.
 */
import { randomBytes } from "node:crypto";
import { Balancer, type BalancerOptions } from "../balancer/balancer.js";
import { ServiceTable } from "../balancer/service-table.js";
import type { FulcrumConfig } from "../config/schema.js";
import { HealthMonitor } from "../health/health-monitor.js";
import { createProber } from "../health/prober.js";
import type { ServiceStatus } from "../model/status.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { QuotaGate } from "../quota/quota-gate.js";
import type { ServiceEvent } from "../registry/events.js";
import { ServiceRegistry } from "../registry/service-registry.js";
import { NegativeAvailability } from "../sessions/negative-availability.js";
import { SessionRouter } from "../sessions/session-router.js";
import type { Clock } from "../shared/clock.js";
import type { Random } from "../shared/random.js";
import { createProbe } from "../store/probes/probe-by-kind.js";
import { WatchHub } from "../watch/watch-hub.js";
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

/** Runs background work nobody waits for, logging its failure. */
type Background = (what: string, work: Promise<unknown>) => void;

/** Builds and starts (loads the registry of) one replica's core. */
export async function buildCore(deps: CoreDeps): Promise<Core> {
  const { config, clock, random, state } = deps;
  const log = (message: string, cause: unknown) => deps.logger.error({ err: cause }, message);
  const background: Background = (what, work) => void work.catch((cause: unknown) => log(what, cause));
  const replica = randomBytes(6).toString("base64url");
  const services = new ServiceTable({ clock, random });
  const watchHub: WatchHub = new WatchHub({
    clock,
    limits: config.watch,
    describe: (service) => services.status(service),
    serviceNames: () => registry.names(),
  });
  const registry: ServiceRegistry = new ServiceRegistry({
    clock,
    limits: config.limits,
    members: services,
    parseConfig: parseServiceConfig,
    log: state.registryLog,
    onEvent: (event) => onServiceEvent(event),
    onBackgroundError: log,
    drainHold: async (service, backendId) =>
      ((await state.pinStore.countByBackend(service)).get(backendId) ?? 0) > 0,
  });
  const health = buildHealth(deps, registry, services, log);
  const onServiceEvent = (event: ServiceEvent) => {
    if (event.change.kind === "health_changed") deps.metrics.recordHealthTransition(event.change.current);
    health.onServiceEvent(event);
    if (event.change.kind === "backend_removed") {
      background(
        `releasing pins of ${event.change.backendId}`,
        state.pinStore.releaseBackend(event.service, event.change.backendId),
      );
    }
    watchHub.publish(event);
  };
  await registry.start();
  const quota = buildQuotaGate(deps, registry, services, watchHub);
  const negative = new NegativeAvailability({
    clock,
    maxFacts: config.sessions.maxNegativeFacts,
    shared: state.negativeFacts,
    onShareError: (cause) => deps.logger.debug({ err: cause }, "sharing a negative-availability fact failed"),
  });
  const balancer = new Balancer({
    services,
    onDrainIdle: (service, backendId) => registry.finishDrain(service, backendId),
    clock,
    limits: config.limits,
    replica,
    signer: createTicketSigner(state.ticketSecrets),
    relay: state.ticketRelay,
    onRelayError: (cause) =>
      deps.logger.warn({ err: cause }, "relaying a Report to the replica that issued its ticket failed"),
    quota,
    probeSelection: (service, candidates) => health.probeSelection(service, candidates),
    ...reportHooks({ services, health, quota, negative, background }),
  });
  const router = new SessionRouter({
    store: state.pinStore,
    negative,
    clock,
    balancer,
    quota,
    find: (service) => services.find(service),
    onPinReleased: (service, backend) => registry.finishDrain(service, backend.spec.id),
  });
  const describeService = (service: string) => describe(registry, services, state, quota, service);
  return { replica, registry, services, health, watchHub, quota, balancer, router, describeService };
}

function buildHealth(
  deps: CoreDeps,
  registry: ServiceRegistry,
  services: ServiceTable,
  log: (message: string, cause: unknown) => void,
): HealthMonitor {
  const prober = createProber({
    clock: deps.clock,
    random: deps.random,
    probe: createProbe(),
    sink: (service, backendId, result) => {
      deps.metrics.recordProbe(result.status);
      health.onProbe(service, backendId, result);
    },
    maxConcurrent: deps.config.health.maxConcurrentProbes,
    onSinkError: (error) => log("probe result not applied", error),
  });
  const health: HealthMonitor = new HealthMonitor({
    clock: deps.clock,
    random: deps.random,
    registry,
    targets: services,
    prober,
    onError: log,
  });
  return health;
}

function buildQuotaGate(
  deps: CoreDeps,
  registry: ServiceRegistry,
  services: ServiceTable,
  watchHub: WatchHub,
): QuotaGate {
  return new QuotaGate({
    limiter: deps.state.quotaLimiter,
    clock: deps.clock,
    shadowOf: (service) => services.find(service)?.config.quota.shadow ?? false,
    filterOf: (service) => {
      const snapshot = services.find(service)?.snapshot;
      return snapshot && { candidates: snapshot.eligible, threshold: snapshot.config.quota.filterThreshold };
    },
    thresholdsOf: (service) => services.find(service)?.config.quota.watchThresholds ?? [],
    onHeadroom: (service, backend, crossing) =>
      watchHub.publishEphemeral({
        service,
        version: registry.versionOf(service),
        event: { kind: "headroom_crossed", backendId: backend.spec.id, ...crossing },
      }),
  });
}

/** What a Report and an expired ticket set off beyond the balancer's own bookkeeping. */
function reportHooks(parts: {
  services: ServiceTable;
  health: HealthMonitor;
  quota: QuotaGate;
  negative: NegativeAvailability;
  background: Background;
}): Pick<BalancerOptions, "onOutcome" | "onTicketReported" | "onTicketExpired"> {
  const { services, health, quota, negative, background } = parts;
  return {
    onOutcome: (service, backend, outcome) => {
      if (outcome.result) health.onOutcome(service, backend, outcome.result);
      if (outcome.result === "not_found" && outcome.resourceKey) {
        const ttl = services.find(service)?.config.session.negativeTtlMs ?? 0;
        negative.report(service, backend.spec.id, outcome.resourceKey, ttl);
      }
      const quotaNews = outcome.result === "rate_limited" || Object.keys(outcome.remaining).length > 0;
      if (!outcome.ticket && quotaNews)
        background("quota report", quota.settle(backend, service, undefined, outcome));
    },
    onTicketReported: (ticket, reported, outcome) =>
      background(
        "quota true-up",
        quota.settleTicket(ticket.service, ticket.backends, reported, ticket.payload?.reservations, outcome),
      ),
    onTicketExpired: (ticket) => {
      if (ticket.payload?.reservations)
        background("quota release", quota.release(ticket.backends, ticket.payload.reservations));
      if (ticket.payload?.probe)
        for (const backend of ticket.backends) health.probeAbandoned(ticket.service, backend);
    },
  };
}

async function describe(
  registry: ServiceRegistry,
  services: ServiceTable,
  state: StateStore,
  quota: QuotaGate,
  service: string,
): Promise<ServiceStatus> {
  const status = registry.describe(service);
  const entry = services.find(service);
  const pins = await state.pinStore.countByBackend(service);
  const backends = await Promise.all(
    status.backends.map(async (backend) => {
      const live = entry?.backends.get(backend.spec.id);
      const quotaRemaining = live ? await quota.remaining(service, live).catch(() => ({})) : {};
      return { ...backend, pinnedSessions: pins.get(backend.spec.id) ?? 0, quotaRemaining };
    }),
  );
  return { ...status, backends };
}
