/** A ServiceRegistry wired to a real ServiceTable (the balancer's follower), as build-core wires them. */

import { parseServiceConfig } from "../../../src/app/parse-service-config.js";
import { ServiceTable } from "../../../src/balancer/service-table.js";
import { ServiceRegistry, type ServiceRegistryOptions } from "../../../src/registry/service-registry.js";
import type { Clock } from "../../../src/shared/clock.js";
import { createSeededRandom } from "../../../src/shared/random.js";

/** The registry and the table that follows it; the table holds snapshots and runtime state. */
export function wiredRegistry(
  options: Omit<ServiceRegistryOptions, "members" | "parseConfig"> & { readonly clock: Clock },
): { registry: ServiceRegistry; services: ServiceTable } {
  const services = new ServiceTable({ clock: options.clock, random: createSeededRandom(1) });
  const registry = new ServiceRegistry({ ...options, members: services, parseConfig: parseServiceConfig });
  return { registry, services };
}
