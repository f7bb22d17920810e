import type { Outcome } from "./outcome.js";

/** A Report for a ticket another replica issued: that replica frees the slot and settles quota. */
export interface RelayedRelease {
  /** The replica that issued the ticket. */
  readonly origin: string;
  readonly outcome: Outcome;
}

/**
 * Carries relayed releases between replicas (Redis pub/sub in store/; a no-op in memory,
 * where every ticket is local). Best effort: a release that is lost is taken back by the
 * ticket's lease.
 */
export interface TicketRelay {
  publish(release: RelayedRelease): Promise<void>;
  /** Calls `handler` for releases meant for this replica; resolves once subscribed, with the unsubscribe function. */
  subscribe(replica: string, handler: (release: RelayedRelease) => void): Promise<() => void>;
}

/** The relay of a single replica: nothing to relay to. */
export const LOCAL_ONLY_RELAY: TicketRelay = {
  publish: async () => {},
  subscribe: async () => () => {},
};
