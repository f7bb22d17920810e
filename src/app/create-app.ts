/**
 * The composition root: the only place that builds concrete adapters. State store (memory or
 * Redis), the core (build-core.ts), both servers over one set of service implementations,
 * the links to other replicas, and the sweeps; and the shutdown order of behaviour.md O4.
 */
import type { Balancer } from "../balancer/balancer.js";
import type { FulcrumConfig } from "../config/schema.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { createMetrics, type Metrics } from "../observability/metrics.js";
import type { ServiceRegistry } from "../registry/service-registry.js";
import { createBalancerServiceImpl } from "../rpc/balancer-service.js";
import { BalancerService, EncodingCache, RegistryService } from "../rpc/codec/index.js";
import { startConnectServer } from "../rpc/connect-server.js";
import { type ServiceBinding, startGrpcServer } from "../rpc/grpc-server.js";
import { observeBinding } from "../rpc/interceptors/observe.js";
import { createRegistryServiceImpl } from "../rpc/registry-service.js";
import { grpcTlsCredentials } from "../rpc/tls/grpc-tls.js";
import { type Clock, every, systemClock } from "../shared/clock.js";
import { type Random, systemRandom } from "../shared/random.js";
import type { WatchHub } from "../watch/watch-hub.js";
import { createAccessControl } from "./access-control.js";
import { buildCore, type Core } from "./build-core.js";
import { createHttpRoutes } from "./http-routes.js";
import { startReplicaLinks } from "./replica-links.js";
import { listenFailure, StartupError } from "./startup-error.js";
import { createStateStore } from "./state-store.js";
import { openTlsFiles } from "./tls-files.js";
import { startXds } from "./xds-wiring.js";

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

/** Both services, observed for metrics, as every transport serves them. */
function bindingsOf(
  core: Core,
  metrics: Metrics,
  logger: Logger,
  encodings: EncodingCache,
  authorize: (binding: ServiceBinding) => ServiceBinding,
): ServiceBinding[] {
  const log = (message: string, cause: unknown) => logger.error({ err: cause }, message);
  const observe = (method: string, code: string, seconds: number) => {
    metrics.recordRpc(method, code, seconds);
    if (method.endsWith("/Watch")) metrics.setWatchers(core.watchHub.watcherCount);
  };
  const { registry, health, balancer, router, watchHub } = core;
  const registryImpl = createRegistryServiceImpl({ registry, health, describe: core.describeService });
  const balancerImpl = createBalancerServiceImpl({ balancer, router, watchHub, health, log, encodings });
  return [
    { service: RegistryService, impl: registryImpl as ServiceBinding["impl"] },
    { service: BalancerService, impl: balancerImpl as ServiceBinding["impl"] },
  ].map((binding) => observeBinding(authorize(binding), observe));
}

/**
 * Starts one listener; when it cannot bind, undoes what is already running and throws a
 * StartupError naming the address and the setting (behaviour.md O7).
 */
async function bound<T>(
  name: string,
  setting: string,
  address: { host: string; port: number },
  undo: () => Promise<void>,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (error) {
    await undo().catch(() => undefined);
    throw new StartupError(
      `${name} port ${address.host}:${address.port} ${listenFailure(error)} (${setting}.port, ${setting}.host)`,
    );
  }
}

/** Builds everything and starts listening; resolves once both ports are up and serving. */
export async function createApp(config: FulcrumConfig, deps: Partial<AppDeps> = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? systemRandom;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const log = (message: string, cause: unknown) => logger.error({ err: cause }, message);
  const metrics = createMetrics();
  const access = createAccessControl(config, logger);
  const tls = openTlsFiles(config, logger);
  const state = await createStateStore(config, logger, clock);
  const core = await buildCore({ config, clock, random, logger, metrics, state });
  const encodings = new EncodingCache();
  const bindings = bindingsOf(core, metrics, logger, encodings, access.wrap);
  let ready = false;
  const errorLimits = {
    maxViolations: config.limits.maxErrorViolations,
    maxTextBytes: config.limits.maxErrorTextBytes,
  };
  const common = { bindings, maxMessageBytes: config.limits.maxMessageBytes, errorLimits, log };
  const stopCore = async () => {
    tls?.close();
    core.health.stop();
    core.registry.stop();
    await state.close();
  };
  const grpcServer = await bound("gRPC", "grpc", config.grpc, stopCore, () =>
    startGrpcServer({
      ...config.grpc,
      ...common,
      encodings,
      ...(tls && { credentials: grpcTlsCredentials(tls) }),
      ...(access.grpcContextValues && { contextValuesOf: access.grpcContextValues }),
      ...(access.grpcInterceptors && { interceptors: access.grpcInterceptors }),
    }),
  );
  const webServer = await bound(
    "web",
    "web",
    config.web,
    async () => {
      await grpcServer.close(0);
      await stopCore();
    },
    () =>
      startConnectServer({
        ...config.web,
        ...common,
        timeouts: config.web,
        tls,
        routes: [...(access.httpGuard ? [access.httpGuard] : []), ...createHttpRoutes(metrics, () => ready)],
        ...(access.webContextValues && { contextValues: access.webContextValues }),
      }),
  );
  const xdsServer = await bound(
    "xDS",
    "xds",
    config.xds,
    async () => {
      await Promise.all([grpcServer.close(0), webServer.close(0)]);
      await stopCore();
    },
    () =>
      startXds(core, config, metrics, logger, {
        authorize: access.xdsAuthorize,
        credentials: tls && grpcTlsCredentials(tls),
      }),
  );
  metrics.observeAtScrape(() => ({
    quota: core.quota.counters,
    caches: state.cacheStats(),
    openTickets: core.balancer.tickets.size,
  }));
  const stopLinks = await startReplicaLinks(core, state, config, clock, logger);
  const stopSweeps = [
    every(clock, SWEEP_INTERVAL_MS, () => core.balancer.expireTickets()),
    every(clock, SWEEP_INTERVAL_MS, () => core.registry.expireLeases()),
  ];
  grpcServer.health.setStatus("", "SERVING");
  ready = true;

  let closing: Promise<void> | undefined;
  return {
    grpcPort: grpcServer.port,
    webPort: webServer.port,
    xdsPort: xdsServer.port,
    registry: core.registry,
    balancer: core.balancer,
    watchHub: core.watchHub,
    close() {
      closing ??= (async () => {
        ready = false;
        grpcServer.health.setStatus("", "NOT_SERVING");
        await xdsServer.close();
        core.watchHub.closeAll();
        for (const stop of stopSweeps) stop();
        await Promise.all([
          grpcServer.close(config.shutdownDeadlineMs),
          webServer.close(config.shutdownDeadlineMs),
        ]);
        core.health.stop();
        stopLinks();
        await core.registry.settled();
        core.registry.stop();
        await state.close();
        access.close();
        tls?.close();
      })();
      return closing;
    },
  };
}
