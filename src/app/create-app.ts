import { randomBytes } from "node:crypto";
import { fileURLToPath } from "node:url";
import { Balancer } from "../balancer/balancer.js";
import type { FulcrumConfig } from "../config/schema.js";
import { HealthMonitor } from "../health/health-monitor.js";
import { createProber } from "../health/prober.js";
import { createLogger, type Logger } from "../observability/logger.js";
import { createMetrics } from "../observability/metrics.js";
import { ServiceRegistry } from "../registry/service-registry.js";
import { createBalancerServiceImpl } from "../rpc/balancer-service.js";
import { BalancerService, RegistryService } from "../rpc/codec.js";
import { startConnectServer } from "../rpc/connect-server.js";
import { type ServiceBinding, startGrpcServer } from "../rpc/grpc-server.js";
import { observeBinding } from "../rpc/interceptors/observe.js";
import { createRegistryServiceImpl } from "../rpc/registry-service.js";
import { type Clock, every, systemClock } from "../shared/clock.js";
import { type Random, systemRandom } from "../shared/random.js";
import { createProbe } from "../store/probes/probe-by-kind.js";
import { WatchHub } from "../watch/watch-hub.js";
import { createHttpRoutes } from "./http-routes.js";
import { createStateStore } from "./state-store.js";

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

/** The composition root: builds the core, the adapters and both servers, and starts them. */
export async function createApp(config: FulcrumConfig, deps: Partial<AppDeps> = {}): Promise<App> {
  const clock = deps.clock ?? systemClock;
  const random = deps.random ?? systemRandom;
  const logger = deps.logger ?? createLogger(config.logLevel);
  const log = (message: string, cause: unknown) => logger.error({ err: cause }, message);
  const metrics = createMetrics();
  const state = await createStateStore(config, logger);

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
      health.onServiceEvent(event);
      watchHub.publish(event);
    },
    onBackgroundError: log,
  });
  const prober = createProber({
    clock,
    random,
    probe: createProbe(),
    sink: (service, backendId, result) => health.onProbe(service, backendId, result),
    maxConcurrent: config.health.maxConcurrentProbes,
    onSinkError: (error) => log("probe result not applied", error),
  });
  const health: HealthMonitor = new HealthMonitor({ clock, random, registry, prober, onError: log });
  await registry.start();
  const balancer = new Balancer({
    registry,
    clock,
    limits: config.limits,
    ticketPrefix: `${randomBytes(4).toString("base64url")}.`,
    onOutcome: (service, backend, outcome) => {
      if (outcome.result) health.onOutcome(service, backend, outcome.result);
    },
  });

  const observe = (method: string, code: string, seconds: number) => {
    metrics.recordRpc(method, code, seconds);
    if (method.endsWith("/Watch")) metrics.setWatchers(watchHub.watcherCount);
  };
  const bindings: ServiceBinding[] = [
    { service: RegistryService, impl: createRegistryServiceImpl(registry, health) as ServiceBinding["impl"] },
    {
      service: BalancerService,
      impl: createBalancerServiceImpl({ balancer, watchHub, health, log }) as ServiceBinding["impl"],
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
        health.stop();
        registry.stop();
        await Promise.all([
          grpcServer.close(config.shutdownDeadlineMs),
          webServer.close(config.shutdownDeadlineMs),
        ]);
      })();
      return closing;
    },
  };
}
