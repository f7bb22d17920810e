/**
 * What the dashboard knows, kept from Watch: every service with its backends (membership,
 * health, drain, config) at the version of the last event, so a reconnect resumes from there.
 * Live figures that Watch does not carry (in flight, latency, quota, pins, selections) come
 * from GetService of the service on screen and are kept beside. Pure: no DOM, no network.
 */
import type { WatchResponse } from "../../gen/fulcrum/v1/balancer_pb.js";
import {
  type BackendStatus,
  HealthState,
  type ServiceConfig,
  type ServiceStatus,
} from "../../gen/fulcrum/v1/types_pb.js";
import { healthName } from "./format.js";

/** The reason the CLI's `maint` and the dashboard's maintenance button record. */
export const MAINTENANCE_REASON = "maintenance";

/** One backend as the dashboard shows it. */
export interface BackendView {
  /** Registered fields, health and drain, from Watch. */
  status: BackendStatus;
  /** The live figures of the last GetService, when one answered since the backend appeared. */
  figures?: BackendStatus;
  /** Reason of the last health change seen, "" before any. */
  healthReason: string;
}

/** One service. */
export interface ServiceView {
  readonly name: string;
  version: bigint;
  config?: ServiceConfig;
  readonly backends: Map<string, BackendView>;
}

/** A line for the list of recent changes. */
export interface ChangeNote {
  readonly service: string;
  readonly text: string;
  readonly tone: "good" | "warn" | "bad" | "info" | "none";
}

/**
 * True when an operator put the backend in maintenance. The status's flag comes from snapshots
 * and is kept by health changes (the dashboard's and the CLI's maintenance reason sets it, a
 * HEALTHY clears it); the last GetService's flag covers an operator's UNHEALTHY given with
 * another reason, while the backend is still UNHEALTHY.
 */
export function inMaintenance(view: BackendView): boolean {
  if (view.status.maintenance) return true;
  return view.status.health === HealthState.UNHEALTHY && view.figures?.maintenance === true;
}

/** The maintenance flag after a health change: set by the maintenance reason, cleared by HEALTHY. */
function maintenanceAfter(before: boolean, change: { current: HealthState; reason: string }): boolean {
  if (change.current === HealthState.HEALTHY) return false;
  if (change.current === HealthState.UNHEALTHY && change.reason === MAINTENANCE_REASON) return true;
  return before;
}

/** Backends that take traffic: HEALTHY and not draining (ListServices counts the same way). */
export function healthyCount(service: ServiceView): number {
  let healthy = 0;
  for (const { status } of service.backends.values())
    if (status.health === HealthState.HEALTHY && !status.draining) healthy++;
  return healthy;
}

function idOf(status: BackendStatus): string {
  return status.backend?.id ?? "";
}

/** Every service seen on the Watch stream, by name. */
export class WatchState {
  readonly services = new Map<string, ServiceView>();

  /** Service -> version of the last event applied: Watch's `resume_versions` after a reconnect. */
  resumeVersions(): Record<string, bigint> {
    const versions: Record<string, bigint> = {};
    for (const [name, service] of this.services) versions[name] = service.version;
    return versions;
  }

  /** Applies one Watch message; returns a note worth listing, if the message is a change. */
  apply(message: WatchResponse): ChangeNote | undefined {
    const event = message.event;
    if (event.case === undefined || event.case === "heartbeat" || event.case === "reset") return undefined;
    const name = message.service;
    if (event.case === "snapshot") {
      this.replace(event.value, message.version);
      return undefined;
    }
    if (event.case === "serviceRemoved") {
      this.services.delete(name);
      return { service: name, text: "service removed", tone: "bad" };
    }
    const service = this.services.get(name);
    if (!service) return undefined;
    service.version = message.version;
    switch (event.case) {
      case "backendAdded":
        this.put(service, event.value);
        return { service: name, text: `${idOf(event.value)} added`, tone: "good" };
      case "backendUpdated": {
        const startsDraining =
          event.value.draining && !service.backends.get(idOf(event.value))?.status.draining;
        this.put(service, event.value);
        if (startsDraining) return { service: name, text: `${idOf(event.value)} draining`, tone: "warn" };
        return { service: name, text: `${idOf(event.value)} updated`, tone: "info" };
      }
      case "backendRemoved":
        service.backends.delete(event.value.backendId);
        return {
          service: name,
          text: `${event.value.backendId} removed (${event.value.reason})`,
          tone: "warn",
        };
      case "healthChanged":
        return this.healthChanged(service, event.value);
      case "headroomCrossed": {
        this.headroom(service, event.value);
        const { backendId, dimension, below } = event.value;
        return {
          service: name,
          text: `${backendId} ${dimension} headroom ${below ? "low" : "back"}`,
          tone: below ? "warn" : "good",
        };
      }
      case "configChanged":
        service.config = event.value;
        return { service: name, text: "config changed", tone: "info" };
    }
    return undefined;
  }

  /** Takes the live figures of a GetService answer for the backends Watch has shown. */
  applyFigures(status: ServiceStatus): void {
    const service = this.services.get(status.name);
    if (!service) return;
    for (const figures of status.backends) {
      const view = service.backends.get(idOf(figures));
      if (view) view.figures = figures;
    }
  }

  private replace(status: ServiceStatus, version: bigint): void {
    const previous = this.services.get(status.name);
    const service: ServiceView = { name: status.name, version, config: status.config, backends: new Map() };
    for (const backend of status.backends) {
      const before = previous?.backends.get(idOf(backend));
      service.backends.set(idOf(backend), {
        status: backend,
        figures: before?.figures,
        healthReason: before?.status.health === backend.health ? before.healthReason : "",
      });
    }
    this.services.set(status.name, service);
  }

  private put(service: ServiceView, status: BackendStatus): void {
    const before = service.backends.get(idOf(status));
    service.backends.set(idOf(status), {
      status,
      figures: before?.figures,
      healthReason: before?.healthReason ?? "",
    });
  }

  private healthChanged(
    service: ServiceView,
    change: { backendId: string; current: HealthState; reason: string },
  ): ChangeNote | undefined {
    const view = service.backends.get(change.backendId);
    if (view) {
      view.status = {
        ...view.status,
        health: change.current,
        maintenance: maintenanceAfter(view.status.maintenance, change),
      };
      view.healthReason = change.reason;
    }
    const reason = change.reason ? ` (${change.reason})` : "";
    const tone =
      change.current === HealthState.UNHEALTHY
        ? "bad"
        : change.current === HealthState.HEALTHY
          ? "good"
          : "warn";
    return {
      service: service.name,
      text: `${change.backendId} ${healthName(change.current)}${reason}`,
      tone,
    };
  }

  private headroom(
    service: ServiceView,
    crossed: { backendId: string; dimension: string; remainingRatio: number },
  ) {
    const view = service.backends.get(crossed.backendId);
    const limit = view?.status.backend?.quotas.find((q) => q.dimension === crossed.dimension)?.limit;
    if (!view?.figures || limit === undefined) return;
    view.figures = {
      ...view.figures,
      quotaRemaining: { ...view.figures.quotaRemaining, [crossed.dimension]: crossed.remainingRatio * limit },
    };
  }
}
