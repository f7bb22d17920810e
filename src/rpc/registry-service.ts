import type { ServiceImpl } from "@connectrpc/connect";
import type { HealthMonitor } from "../health/health-monitor.js";
import type { ServiceStatus } from "../model/status.js";
import type { ServiceRegistry } from "../registry/service-registry.js";
import * as codec from "./codec/index.js";

/** What RegistryService needs. */
export interface RegistryServiceDeps {
  readonly registry: ServiceRegistry;
  readonly health: HealthMonitor;
  /** GetService's view: the registry's status with pinned sessions and quota remaining filled in. */
  readonly describe: (service: string) => Promise<ServiceStatus>;
}

/** RegistryService: decode, call the registry (and the health monitor for SetHealth), encode. No logic of its own. */
export function createRegistryServiceImpl(
  deps: RegistryServiceDeps,
): ServiceImpl<typeof codec.RegistryService> {
  const { registry, health, describe } = deps;
  return {
    async register(req) {
      return codec.encodeRegisterResponse(await registry.register(codec.decodeRegister(req)));
    },
    async deregister(req) {
      const { service, backendIds, drain, drainTimeoutMs } = codec.decodeDeregister(req);
      return codec.encodeDeregisterResponse(
        await registry.deregister(service, backendIds, drain, drainTimeoutMs),
      );
    },
    async heartbeat(req) {
      return codec.encodeHeartbeatResponse(await registry.heartbeat(req.service, req.backendIds));
    },
    async setHealth(req) {
      const target = codec.decodeSetHealth(req);
      const reason = req.reason || "set by operator";
      return codec.encodeSetHealthResponse(await health.override(req.service, req.backendId, target, reason));
    },
    async getService(req) {
      return codec.encodeGetServiceResponse(await describe(req.service));
    },
    listServices(req) {
      return codec.encodeServiceList(registry.list(req.prefix));
    },
  };
}
