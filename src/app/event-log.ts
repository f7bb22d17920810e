/**
 * One structured log line per operational event: health transition, drain
 * start, removal (lease expiry, drained, critical too long, ...), outlier ejection and quota
 * exhaustion. Each replica logs the registry changes it applies, with the service version, so
 * lines from several replicas about one change share `service` + `version`.
 */
import type { Logger } from "../observability/logger.js";
import type { HeadroomCrossing } from "../quota/headroom.js";
import type { ServiceEvent } from "../registry/events.js";

/** Logs `event` when it is one of the operational events; keeps which backends are draining. */
export function serviceEventLogger(logger: Logger): (event: ServiceEvent) => void {
  const draining = new Set<string>();
  return ({ service, version, change }) => {
    switch (change.kind) {
      case "health_changed": {
        const { backendId: backend, previous, current, reason } = change;
        logger.info(
          { event: "health_transition", service, version, backend, previous, current, reason },
          `${service} ${backend} ${previous} -> ${current} (${reason})`,
        );
        return;
      }
      case "backend_updated": {
        const key = `${service}\u0000${change.backend.spec.id}`;
        if (!change.backend.draining || draining.has(key)) return;
        draining.add(key);
        logger.info(
          { event: "drain_started", service, version, backend: change.backend.spec.id },
          `${service} ${change.backend.spec.id} draining`,
        );
        return;
      }
      case "backend_removed": {
        draining.delete(`${service}\u0000${change.backendId}`);
        const { backendId: backend, reason } = change;
        logger.info(
          {
            event: reason === "lease_expired" ? "lease_expired" : "backend_removed",
            service,
            version,
            backend,
            reason,
          },
          `${service} ${backend} removed (${reason})`,
        );
        return;
      }
      default:
        return;
    }
  };
}

/** Logs outlier ejections (H4), decided by this replica. */
export function logEjections(
  logger: Logger,
  service: string,
  ejected: readonly { readonly backendId: string; readonly until: number }[],
): void {
  for (const { backendId: backend, until } of ejected)
    logger.warn(
      { event: "ejection", service, backend, until: new Date(until).toISOString() },
      `${service} ${backend} ejected by outlier detection until ${new Date(until).toISOString()}`,
    );
}

/** Logs a dimension running out (the headroom crossing of threshold 0 downwards, Q5). */
export function logQuotaCrossing(
  logger: Logger,
  service: string,
  backend: string,
  crossing: HeadroomCrossing,
): void {
  if (!crossing.below || crossing.threshold !== 0) return;
  logger.warn(
    { event: "quota_exhausted", service, backend, dimension: crossing.dimension },
    `${service} ${backend} quota ${crossing.dimension} exhausted`,
  );
}
