/**
 * GetService's view of a service: the registry's status with, per backend, the sessions
 * pinned to it (P4) and the quota it has left (Q1). Quota that cannot be read now (its store
 * is away) shows as nothing left to report rather than failing the whole description.
 */
import type { LiveService } from "../balancer/live-service.js";
import type { ServiceStatus } from "../model/status.js";
import type { QuotaGate } from "../quota/quota-gate.js";
import type { PinStore } from "./pin-store.js";

/** `status` with pinned sessions and quota remaining filled in from this replica's view (`live`). */
export async function describeService(
  status: ServiceStatus,
  live: LiveService | undefined,
  pins: Pick<PinStore, "countByBackend">,
  quota: Pick<QuotaGate, "remaining">,
): Promise<ServiceStatus> {
  const pinned = await pins.countByBackend(status.name);
  const backends = await Promise.all(
    status.backends.map(async (backend) => {
      const member = live?.backends.get(backend.spec.id);
      const quotaRemaining = member ? await quota.remaining(status.name, member).catch(() => ({})) : {};
      return { ...backend, pinnedSessions: pinned.get(backend.spec.id) ?? 0, quotaRemaining };
    }),
  );
  return { ...status, backends };
}

/** A draining backend stays while sessions are pinned to it (R6, P5): the registry's drain hold. */
export function pinsHoldDrain(
  pins: Pick<PinStore, "countByBackend">,
): (service: string, backendId: string) => Promise<boolean> {
  return async (service, backendId) => ((await pins.countByBackend(service)).get(backendId) ?? 0) > 0;
}
