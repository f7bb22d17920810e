/**
 * The composition root: the only place that builds concrete adapters. State store (memory or
 * Redis), the core (build-core.ts), both servers over one set of service implementations,
 * the links to other replicas, and the sweeps; and the shutdown order of behaviour.md O4.
 */
import type { Balancer } from "../balancer/balancer.js";
import type { FulcrumConfig } from "../config/schema.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import type { ServiceRegistry } from "../registry/service-registry.js";
import { type Clock, every, systemClock } from "../shared/clock.js";
import { type Random, systemRandom } from "../shared/random.js";
import type { WatchHub } from "../watch/watch-hub.js";
import { createAccessControl } from "./access-control.js";
import { buildCore, type Core } from "./build-core.js";
import { type Listeners, startListeners } from "./listeners.js";
import { startReplicaLinks } from "./replica-links.js";
import { pinnedSessionsOf, serviceFigures } from "./service-figures.js";
import { createStateStore } from "./state-store.js";
import { openTlsFiles } from "./tls-files.js";
import { startTracing } from "./tracing.js";

/** How often expired tickets and lapsed leases are looked for. */
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
  readonly xdsPort: number;
  readonly registry: ServiceRegistry;
  readonly balancer: Balancer;
  readonly watchHub: WatchHub;
  /** Graceful shutdown (behaviour.md O4). Safe to call twice. */
  close(): Promise<void>;
}

/** Builds everything and starts listening; resolves once every port is up and serving. */
export async function createApp(config: FulcrumConfig, deps: Partial<AppDeps> = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? systemRandom;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const access = createAccessControl(config, logger);
  const tls = openTlsFiles(config, logger);
  // Before Redis: a bad OTEL_* variable stops the start at once. `core` is read only per call.
  const strategyOf = (service: string) => core.balancer.find(service)?.snapshot.strategy;
  const tracing = await startTracing({ env: process.env, logger, strategyOf });
  const state = await createStateStore(config, logger, clock);
  const core = await buildCore({ config, clock, random, logger, metrics, state });
  let ready = false;
  const stopCore = async () => {
    tls?.close();
    await tracing.close(0);
    core.health.stop();
    core.registry.stop();
    await state.close();
  };
  const parts = { core, config, metrics, logger, access: tracing.around(access), tls, stopCore };
  const listeners = await startListeners({ ...parts, ready: () => ready });
  metrics.observeAtScrape(() => ({
    quota: core.quota.counters,
    caches: state.cacheStats(),
    openTickets: core.balancer.tickets.size,
    services: serviceFigures(core.services, config.metrics.maxServices, (b) => core.quota.headroomOf(b)),
    pinnedSessions: pinnedSessionsOf(state.pinStore),
  }));
  const stopLinks = await startReplicaLinks(core, state, config, clock, logger);
  const stopSweeps = [
    every(clock, SWEEP_INTERVAL_MS, () => core.balancer.expireTickets()),
    every(clock, SWEEP_INTERVAL_MS, () => core.registry.expireLeases()),
  ];
  listeners.grpc.health.setStatus("", "SERVING");
  ready = true;
  let closing: Promise<void> | undefined;
  const shutdown = async () => {
    ready = false;
    await closeInOrder(core, config, listeners, { stopSweeps, stopLinks });
    await state.close();
    access.close();
    tls?.close();
    await tracing.close(config.shutdownDeadlineMs);
  };
  return {
    grpcPort: listeners.grpc.port,
    webPort: listeners.web.port,
    xdsPort: listeners.xds.port,
    registry: core.registry,
    balancer: core.balancer,
    watchHub: core.watchHub,
    close() {
      closing ??= shutdown();
      return closing;
    },
  };
}

/**
 * Graceful shutdown (behaviour.md O4): not serving, xDS closed, watchers told, then the
 * listeners drain in-flight calls up to the deadline; health and the registry stop last.
 */
async function closeInOrder(
  core: Core,
  config: FulcrumConfig,
  listeners: Listeners,
  background: { readonly stopSweeps: readonly (() => void)[]; readonly stopLinks: () => void },
): Promise<void> {
  listeners.grpc.health.setStatus("", "NOT_SERVING");
  await listeners.xds.close();
  core.watchHub.closeAll();
  for (const stop of background.stopSweeps) stop();
  await Promise.all([
    listeners.grpc.close(config.shutdownDeadlineMs),
    listeners.web.close(config.shutdownDeadlineMs),
  ]);
  core.health.stop();
  background.stopLinks();
  await core.registry.settled();
  core.registry.stop();
}
