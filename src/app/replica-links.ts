/**
 * What ties one replica to the others beyond the registry log: Reports of this replica's
 * tickets relayed from other replicas, and periodic in-flight sharing. In memory (one
 * replica) both are no-ops.
 */
import { LoadShare } from "../balancer/load-share.js";
import type { FulcrumConfig } from "../config/schema.js";
import type { Logger } from "../observability/logger.js";
import { type Clock, every } from "../shared/clock.js";
import type { Core } from "./build-core.js";
import type { StateStore } from "./state-store.js";

/** Starts the links; resolves once subscribed, with the function that stops them. */
export async function startReplicaLinks(
  core: Core,
  state: StateStore,
  config: FulcrumConfig,
  clock: Clock,
  logger: Logger,
): Promise<() => void> {
  const stopRelay = await state.ticketRelay.subscribe(core.replica, (release) =>
    core.balancer.applyRelayed(release.outcome),
  );
  const bus = state.loadBus;
  if (!bus) return stopRelay;
  const share = new LoadShare({
    replica: core.replica,
    clock,
    staleAfterMs: 3 * config.replicas.loadShareIntervalMs,
    find: (service) => core.registry.find(service),
    services: () => core.registry.names().flatMap((name) => core.registry.find(name) ?? []),
  });
  const unsubscribe = await bus.subscribe((report) => share.receive(report));
  const stopTimer = every(clock, config.replicas.loadShareIntervalMs, () => {
    share.expire();
    bus
      .publish(share.report())
      .catch((cause: unknown) => logger.debug({ err: cause }, "sharing in-flight counts failed"));
  });
  return () => {
    stopTimer();
    unsubscribe();
    stopRelay();
  };
}
