/**
 * The three listeners of one replica: the gRPC port, the web port and the xDS port, over one
 * set of service implementations. Each starts only once the one before it is up; when one
 * cannot bind, those already running are closed and the start fails in one line naming the
 * address and the setting (behaviour.md O7).
 */
import type { FulcrumConfig } from "../config/schema.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import { createBalancerBinding } from "../rpc/balancer-service.js";
import { EncodingCache, RegistryService } from "../rpc/codec/index.js";
import { type ConnectServerHandle, startConnectServer } from "../rpc/connect-server.js";
import { type GrpcServerHandle, type ServiceBinding, startGrpcServer } from "../rpc/grpc-server.js";
import { observeBinding } from "../rpc/interceptors/observe.js";
import { createRegistryServiceImpl } from "../rpc/registry-service.js";
import { grpcTlsCredentials } from "../rpc/tls/grpc-tls.js";
import type { XdsServerHandle } from "../xds/xds-server.js";
import type { AccessControl } from "./access-control.js";
import type { Core } from "./build-core.js";
import { dashboardAssets } from "./dashboard-assets.js";
import { dashboardRoute } from "./dashboard-route.js";
import { createHttpRoutes } from "./http-routes.js";
import { listenFailure, StartupError } from "./startup-error.js";
import type { TlsFiles } from "./tls-files.js";
import { startXds } from "./xds-wiring.js";

/** The running listeners. */
export interface Listeners {
  readonly grpc: GrpcServerHandle;
  readonly web: ConnectServerHandle;
  readonly xds: XdsServerHandle;
}

/** What the listeners serve and how. */
export interface ListenerParts {
  readonly core: Core;
  readonly config: FulcrumConfig;
  readonly metrics: Metrics;
  readonly logger: Logger;
  readonly access: AccessControl;
  readonly tls: TlsFiles | undefined;
  /** True once the replica serves (the web port's readiness probe). */
  readonly ready: () => boolean;
  /** Stops what was built before the listeners, when one of them cannot start. */
  readonly stopCore: () => Promise<void>;
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
  const observe = (method: string, code: string, seconds: number) => metrics.recordRpc(method, code, seconds);
  const onStream = (method: string, delta: 1 | -1) => {
    if (method.endsWith("/Watch")) metrics.watchStream(delta);
  };
  const { registry, health, balancer, router, watchHub } = core;
  const registryImpl = createRegistryServiceImpl({ registry, health, describe: core.describeService });
  return [
    { service: RegistryService, impl: registryImpl as ServiceBinding["impl"] },
    createBalancerBinding({ balancer, router, watchHub, health, log, encodings }),
  ].map((binding) => observeBinding(authorize(binding), observe, onStream));
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

/** Starts the gRPC, web and xDS ports, in that order; resolves once all three serve. */
export async function startListeners(parts: ListenerParts): Promise<Listeners> {
  const { core, config, metrics, logger, access, tls, stopCore } = parts;
  const log = (message: string, cause: unknown) => logger.error({ err: cause }, message);
  const encodings = new EncodingCache();
  const bindings = bindingsOf(core, metrics, logger, encodings, access.wrap);
  const errorLimits = {
    maxViolations: config.limits.maxErrorViolations,
    maxTextBytes: config.limits.maxErrorTextBytes,
  };
  const common = { bindings, maxMessageBytes: config.limits.maxMessageBytes, errorLimits, log };
  const grpc = await bound("gRPC", "grpc", config.grpc, stopCore, () =>
    startGrpcServer({
      ...config.grpc,
      ...common,
      encodings,
      ...(tls && { credentials: grpcTlsCredentials(tls) }),
      ...(access.grpcContextValues && { contextValuesOf: access.grpcContextValues }),
      ...(access.grpcInterceptors && { interceptors: access.grpcInterceptors }),
    }),
  );
  const undoGrpc = async () => {
    await grpc.close(0);
    await stopCore();
  };
  const web = await bound("web", "web", config.web, undoGrpc, () =>
    startConnectServer({
      ...config.web,
      ...common,
      timeouts: config.web,
      tls,
      // The dashboard's files hold no data (it reads everything through the API, under the
      // caller's token), so they are served ahead of the probes' guard.
      routes: [
        ...(config.web.dashboard
          ? [dashboardRoute(dashboardAssets(), (cause) => log("dashboard asset failed to load", cause))]
          : []),
        ...(access.httpGuard ? [access.httpGuard] : []),
        ...createHttpRoutes(metrics, parts.ready),
      ],
      ...(access.webContextValues && { contextValues: access.webContextValues }),
    }),
  );
  const undoBoth = async () => {
    await Promise.all([grpc.close(0), web.close(0)]);
    await stopCore();
  };
  const xds = await bound("xDS", "xds", config.xds, undoBoth, () =>
    startXds(core, config, metrics, logger, {
      authorize: access.xdsAuthorize,
      credentials: tls && grpcTlsCredentials(tls),
    }),
  );
  return { grpc, web, xds };
}
