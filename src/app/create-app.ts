import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Balancer } from "../balancer/balancer.js";
import { type LoadBus, LoadShare } from "../balancer/load-share.js";
import type { FulcrumConfig } from "../config/schema.js";
import { HealthMonitor } from "../health/health-monitor.js";
import { createProber } from "../health/prober.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import { QuotaGate } from "../quota/quota-gate.js";
import { ServiceRegistry } from "../registry/service-registry.js";
import { createBalancerServiceImpl } from "../rpc/balancer-service.js";
import { BalancerService, RegistryService } from "../rpc/codec.js";
import { startConnectServer } from "../rpc/connect-server.js";
import { type ServiceBinding, startGrpcServer } from "../rpc/grpc-server.js";
import { observeBinding } from "../rpc/interceptors/observe.js";
import { createRegistryServiceImpl } from "../rpc/registry-service.js";
import { NegativeAvailability } from "../sessions/negative-availability.js";
import { SessionRouter } from "../sessions/session-router.js";
import { type Clock, every, systemClock } from "../shared/clock.js";
import { type Random, systemRandom } from "../shared/random.js";
import { createProbe } from "../store/probes/probe-by-kind.js";
import { WatchHub } from "../watch/watch-hub.js";
import { createHttpRoutes } from "./http-routes.js";
import { createStateStore } from "./state-store.js";
import { createTicketSigner } from "./ticket-signer.js";

const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
const PROTO_FILES = ["fulcrum/v1/registry.proto", "fulcrum/v1/balancer.proto"];
const SWEEP_INTERVAL_MS = 1_000;

/** What tests and main may inject. */
export interface AppDeps {
  readonly clock: Clock;
  readonly random: Random;
  readonly logger: Logger;
}

/** A running Fulcrum. */
export interface App {
  readonly grpcPort: number;
  readonly webPort: number;
  readonly registry: ServiceRegistry;
  readonly balancer: Balancer;
  readonly watchHub: WatchHub;
  /** Graceful shutdown (behaviour.md O4). Safe to call twice. */
  close(): Promise<void>;
}

/** Publishes this replica's in-flight counts every interval and takes the others'; returns the stop function. */
async function shareLoad(
  bus: LoadBus | undefined,
  share: LoadShare,
  clock: Clock,
  intervalMs: number,
  log: (message: string, cause: unknown) => void,
) {
  if (!bus) return () => {};
  const unsubscribe = await bus.subscribe((report) => share.receive(report));
  const stopTimer = every(clock, intervalMs, () => {
    share.expire();
    bus.publish(share.report()).catch((cause: unknown) => log("sharing in-flight counts failed", cause));
  });
  return () => {
    stopTimer();
    unsubscribe();
  };
}

/** The composition root: builds the core, the adapters and both servers, and starts them. */
export async function createApp(config: FulcrumConfig, deps: Partial<AppDeps> = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? systemRandom;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const log = (message: string, cause: unknown) => logger.error({ err: cause }, message);
  const metrics = createMetrics();
  const state = await createStateStore(config, logger, clock);

  const watchHub: WatchHub = new WatchHub({
    clock,
    limits: config.watch,
    describe: (service) => registry.find(service)?.status(clock.now()),
    serviceNames: () => registry.names(),
  });
  const registry: ServiceRegistry = new ServiceRegistry({
    clock,
    random,
    limits: config.limits,
    log: state.registryLog,
    onEvent: (event) => {
      if (event.change.kind === "health_changed") metrics.recordHealthTransition(event.change.current);
      health.onServiceEvent(event);
      if (event.change.kind === "backend_removed") releasePins(event.service, event.change.backendId);
      watchHub.publish(event);
    },
    onBackgroundError: log,
    drainHold: async (service, backendId) =>
      ((await state.pinStore.countByBackend(service)).get(backendId) ?? 0) > 0,
  });
  const prober = createProber({
    clock,
    random,
    probe: createProbe(),
    sink: (service, backendId, result) => {
      metrics.recordProbe(result.status);
      health.onProbe(service, backendId, result);
    },
    maxConcurrent: config.health.maxConcurrentProbes,
    onSinkError: (error) => log("probe result not applied", error),
  });
  const health: HealthMonitor = new HealthMonitor({ clock, random, registry, prober, onError: log });
  await registry.start();
  const replica = randomBytes(6).toString("base64url");
  const quota: QuotaGate = new QuotaGate({
    thresholdsOf: (service) => registry.find(service)?.config.quota.watchThresholds ?? [],
    onHeadroom: (service, backend, crossing) =>
      watchHub.publishEphemeral({
        service,
        version: registry.versionOf(service),
        event: { kind: "headroom_crossed", backendId: backend.spec.id, ...crossing },
      }),
    limiter: state.quotaLimiter,
    clock,
    shadowOf: (service) => registry.find(service)?.config.quota.shadow ?? false,
    filterOf: (service) => {
      const snapshot = registry.find(service)?.snapshot;
      return snapshot && { candidates: snapshot.eligible, threshold: snapshot.config.quota.filterThreshold };
    },
  });
  const negative = new NegativeAvailability({ clock, maxFacts: config.sessions.maxNegativeFacts });
  const background = (what: string, work: Promise<unknown>) =>
    void work.catch((cause: unknown) => log(what, cause));
  const releasePins = (service: string, backendId: string) =>
    background(`releasing pins of ${backendId}`, state.pinStore.releaseBackend(service, backendId));
  const balancer = new Balancer({
    registry,
    clock,
    limits: config.limits,
    replica,
    signer: createTicketSigner(state.ticketSecret),
    relay: state.ticketRelay,
    onRelayError: (cause) =>
      logger.warn({ err: cause }, "relaying a Report to the replica that issued its ticket failed"),
    quota,
    probeSelection: (service, candidates) => health.probeSelection(service, candidates),
    onOutcome: (service, backend, outcome) => {
      if (outcome.result) health.onOutcome(service, backend, outcome.result);
      if (outcome.result === "not_found" && outcome.resourceKey) {
        const ttl = registry.find(service)?.config.session.negativeTtlMs ?? 0;
        negative.report(service, backend.spec.id, outcome.resourceKey, ttl);
      }
      if (
        !outcome.ticket &&
        (outcome.result === "rate_limited" || Object.keys(outcome.remaining).length > 0)
      ) {
        background("quota report", quota.settle(backend, service, undefined, outcome));
      }
    },
    onTicketReported: (ticket, reported, outcome) => {
      const reservations = ticket.payload?.reservations;
      for (const backend of reported)
        background("quota true-up", quota.settle(backend, ticket.service, reservations, outcome));
      const others = ticket.backends.filter((b) => !reported.includes(b));
      if (reservations && others.length > 0)
        background(
          "quota release",
          quota.release(
            others,
            reservations.filter((r) =>
              others.some((b) => b.spec.id === (r as { key: { backendId: string } }).key.backendId),
            ),
          ),
        );
    },
    onTicketExpired: (ticket) => {
      if (ticket.payload?.reservations)
        background("quota release", quota.release(ticket.backends, ticket.payload.reservations));
      if (ticket.payload?.probe)
        for (const backend of ticket.backends) health.probeAbandoned(ticket.service, backend);
    },
  });
  const router = new SessionRouter({
    store: state.pinStore,
    negative,
    clock,
    balancer,
    quota,
    find: (service) => registry.find(service),
    onPinReleased: (service, backend) => registry.finishDrain(service, backend),
  });

  /** GetService: the registry's view plus pinned sessions per backend and quota remaining. */
  async function describeService(service: string) {
    const status = registry.describe(service);
    const entry = registry.get(service);
    const pins = await state.pinStore.countByBackend(service);
    const backends = await Promise.all(
      status.backends.map(async (backend) => {
        const live = entry.backends.get(backend.spec.id);
        const quotaRemaining = live ? await quota.remaining(service, live).catch(() => ({})) : {};
        return { ...backend, pinnedSessions: pins.get(backend.spec.id) ?? 0, quotaRemaining };
      }),
    );
    return { ...status, backends };
  }

  const observe = (method: string, code: string, seconds: number) => {
    metrics.recordRpc(method, code, seconds);
    if (method.endsWith("/Watch")) metrics.setWatchers(watchHub.watcherCount);
  };
  const bindings: ServiceBinding[] = [
    {
      service: RegistryService,
      impl: createRegistryServiceImpl({
        registry,
        health,
        describe: (service) => describeService(service),
      }) as ServiceBinding["impl"],
    },
    {
      service: BalancerService,
      impl: createBalancerServiceImpl({ balancer, router, watchHub, health, log }) as ServiceBinding["impl"],
    },
  ].map((binding) => observeBinding(binding, observe));

  let ready = false;
  const grpcServer = await startGrpcServer({
    ...config.grpc,
    bindings,
    protoDir: PROTO_DIR,
    protoFiles: PROTO_FILES,
    maxMessageBytes: config.limits.maxMessageBytes,
    log,
  });
  const webServer = await startConnectServer({
    ...config.web,
    bindings,
    routes: createHttpRoutes(metrics, () => ready),
    maxMessageBytes: config.limits.maxMessageBytes,
    log,
  });
  metrics.observeAtScrape(() => ({
    quota: quota.counters,
    caches: state.cacheStats(),
    openTickets: balancer.tickets.size,
  }));
  const stopRelay = await state.ticketRelay.subscribe(replica, (release) =>
    balancer.applyRelayed(release.outcome),
  );
  const stopLoadShare = await shareLoad(
    state.loadBus,
    new LoadShare({
      replica,
      clock,
      staleAfterMs: 3 * config.replicas.loadShareIntervalMs,
      find: (service) => registry.find(service),
      services: () => registry.names().flatMap((name) => registry.find(name) ?? []),
    }),
    clock,
    config.replicas.loadShareIntervalMs,
    log,
  );
  const stopSweeps = [
    every(clock, SWEEP_INTERVAL_MS, () => balancer.expireTickets()),
    every(clock, SWEEP_INTERVAL_MS, () => registry.expireLeases()),
  ];
  grpcServer.health.setStatus("", "SERVING");
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    grpcPort: grpcServer.port,
    webPort: webServer.port,
    registry,
    balancer,
    watchHub,
    close() {
      closing ??= (async () => {
        ready = false;
        grpcServer.health.setStatus("", "NOT_SERVING");
        watchHub.closeAll();
        for (const stop of stopSweeps) stop();
        await Promise.all([
          grpcServer.close(config.shutdownDeadlineMs),
          webServer.close(config.shutdownDeadlineMs),
        ]);
        health.stop();
        stopRelay();
        stopLoadShare();
        await registry.settled();
        registry.stop();
        await state.close();
      })();
      return closing;
    },
  };
}
