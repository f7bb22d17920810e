/**
 * The xDS resources of every registered service, rebuilt from the service's status when the
 * registry reports a change, and the fan-out of "these services changed" to open streams.
 */
import type { ServiceStatus } from "../model/status.js";
import { resourceVersionOf, type ServiceResources, serviceResourcesOf } from "./service-resources.js";

/** Receives the names of services whose resources changed (or were removed). */
export type CatalogListener = (changed: ReadonlySet<string>) => void;

/** Holds the current resources of each service; streams read it and listen to it. */
export class ResourceCatalog {
  private readonly services = new Map<string, ServiceResources>();
  private readonly listeners = new Set<CatalogListener>();

  /** `describe` gives a service's current status, or undefined once it is deregistered. */
  constructor(private readonly describe: (service: string) => ServiceStatus | undefined) {}

  /** Rebuilds `names`; tells listeners which ones changed (their version or presence). */
  refresh(names: Iterable<string>): void {
    const changed = new Set<string>();
    for (const name of names) {
      const status = this.describe(name);
      const previous = this.services.get(name);
      if (!status) {
        if (this.services.delete(name)) changed.add(name);
        continue;
      }
      if (previous?.version === resourceVersionOf(status)) continue;
      this.services.set(name, serviceResourcesOf(status));
      changed.add(name);
    }
    if (changed.size === 0) return;
    for (const listener of this.listeners) listener(changed);
  }

  /** The resources of `service`, or undefined when it is not registered. */
  get(service: string): ServiceResources | undefined {
    return this.services.get(service);
  }

  /** Names of every service with resources. */
  names(): IterableIterator<string> {
    return this.services.keys();
  }

  /** Calls `listener` after every change; returns the unsubscribe. */
  listen(listener: CatalogListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
