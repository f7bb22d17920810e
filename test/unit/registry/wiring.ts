/** A ServiceRegistry wired to a real ServiceTable (the balancer's follower), as build-core wires them. */

import { parseServiceConfig } from "../../../src/app/parse-service-config.js";
import { ServiceTable } from "../../../src/balancer/service-table.js";
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import type { ServiceEvent } from "../../../src/registry/events.js";
import type { RegistryLog } from "../../../src/registry/registry-log.js";
import { ServiceRegistry, type ServiceRegistryOptions } from "../../../src/registry/service-registry.js";
import type { Clock } from "../../../src/shared/clock.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom } from "../../../src/shared/random.js";
import { MemoryRegistryLog } from "../../../src/store/memory/memory-registry-log.js";

/** The registry and the table that follows it; the table holds snapshots and runtime state. */
export function wiredRegistry(
  options: Omit<ServiceRegistryOptions, "members" | "parseConfig"> & { readonly clock: Clock },
): { registry: ServiceRegistry; services: ServiceTable } {
  const services = new ServiceTable({ clock: options.clock, random: createSeededRandom(1) });
  const registry = new ServiceRegistry({ ...options, members: services, parseConfig: parseServiceConfig });
  return { registry, services };
}

/** One started replica on `log`, with the events it emitted; a background error fails the test. */
export async function startedReplica(log: RegistryLog, clock: Clock) {
  const events: ServiceEvent[] = [];
  const { registry, services } = wiredRegistry({
    clock,
    limits: DEFAULT_REGISTRY_LIMITS,
    log,
    onEvent: (e) => events.push(e),
    onBackgroundError: (message, cause) => {
      throw new Error(`${message}: ${cause}`);
    },
  });
  await registry.start();
  return { registry, services, events };
}

/** Two started replicas sharing one in-memory log and one manual clock. */
export async function twoReplicas() {
  const log = new MemoryRegistryLog();
  const clock = new ManualClock();
  return { log, clock, a: await startedReplica(log, clock), b: await startedReplica(log, clock) };
}
