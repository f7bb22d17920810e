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

/**
 * How often a replica re-publishes and re-reads the shared ticket secrets besides on every
 * reconnect: the longest a secret minted on an empty Redis goes unaccepted by a replica that
 * was already connected.
 */
const TICKET_SECRET_SYNC_MS = 5_000;

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
  const stopSecretSync = every(clock, TICKET_SECRET_SYNC_MS, () => {
    state
      .syncTicketSecrets()
      // The message only: an ioredis error carries the command's arguments, the secret among them.
      .catch((cause: unknown) =>
        logger.debug(
          { reason: cause instanceof Error ? cause.message : String(cause) },
          "syncing ticket secrets failed",
        ),
      );
  });
  const bus = state.loadBus;
  if (!bus) {
    return () => {
      stopSecretSync();
      stopRelay();
    };
  }
  const share = new LoadShare({
    replica: core.replica,
    clock,
    staleAfterMs: 3 * config.replicas.loadShareIntervalMs,
    find: (service) => core.services.find(service),
    services: () => core.services.all(),
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
    stopSecretSync();
    unsubscribe();
    stopRelay();
  };
}
