import type { HealthState, ServiceConfig } from "../model/specs.js";
import type { BackendStatus, ServiceStatus } from "../model/status.js";

/** One change to a service, as Watch reports it (WatchResponse in proto/fulcrum/v1/balancer.proto). */
export type ServiceChange =
  | { readonly kind: "snapshot"; readonly status: ServiceStatus }
  | { readonly kind: "backend_added"; readonly backend: BackendStatus }
  | { readonly kind: "backend_removed"; readonly backendId: string; readonly reason: string }
  | { readonly kind: "backend_updated"; readonly backend: BackendStatus }
  | {
      readonly kind: "health_changed";
      readonly backendId: string;
      readonly previous: HealthState;
      readonly current: HealthState;
      readonly reason: string;
    }
  | { readonly kind: "config_changed"; readonly config: ServiceConfig }
  | {
      /** Ephemeral (not a registry change, not replayed on resume): headroom crossed a watch threshold. */
      readonly kind: "headroom_crossed";
      readonly backendId: string;
      readonly dimension: string;
      readonly remainingRatio: number;
      readonly threshold: number;
      readonly below: boolean;
    }
  | { readonly kind: "service_removed" };

/** A change with the service version it produced. Versions only grow, across all services. */
export interface ServiceEvent {
  readonly service: string;
  readonly version: number;
  readonly change: ServiceChange;
}

/** Receives every change the registry makes, in order. */
export type ServiceEventListener = (event: ServiceEvent) => void;

/** Fans the registry's events out to every subscriber, in subscription order. */
export class ServiceEvents {
  private readonly listeners: ServiceEventListener[] = [];

  /** Adds a listener; it hears every event published from now on. */
  subscribe(listener: ServiceEventListener): void {
    this.listeners.push(listener);
  }

  /** Tells every listener, in the order they subscribed. */
  readonly publish: ServiceEventListener = (event) => {
    for (const listener of this.listeners) listener(event);
  };
}
