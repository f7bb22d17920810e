import type { ServiceImpl } from "@connectrpc/connect";
import type { HealthMonitor } from "../health/health-monitor.js";
import type { ServiceRegistry } from "../registry/service-registry.js";
import type { ServiceStatus } from "../registry/status.js";
import * as codec from "./codec.js";

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
  const { create, schemas } = codec;
  return {
    async register(req) {
      const result = await registry.register(codec.decodeRegister(req));
      return create(schemas.RegisterResponse, { version: BigInt(result.version), changed: result.changed });
    },
    async deregister(req) {
      const { service, backendIds, drain, drainTimeoutMs } = codec.decodeDeregister(req);
      const result = await registry.deregister(service, backendIds, drain, drainTimeoutMs);
      return create(schemas.DeregisterResponse, { ...result, version: BigInt(result.version) });
    },
    async heartbeat(req) {
      return create(schemas.HeartbeatResponse, await registry.heartbeat(req.service, req.backendIds));
    },
    async setHealth(req) {
      const target = codec.decodeSetHealth(req);
      const result = await health.override(
        req.service,
        req.backendId,
        target,
        req.reason || "set by operator",
      );
      return create(schemas.SetHealthResponse, {
        version: BigInt(result.version),
        previous: codec.encodeHealthState(result.previous),
      });
    },
    async getService(req) {
      return create(schemas.GetServiceResponse, {
        service: codec.encodeServiceStatus(await describe(req.service)),
      });
    },
    listServices(req) {
      return codec.encodeServiceList(registry.list(req.prefix));
    },
  };
}
