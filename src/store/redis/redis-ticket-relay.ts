/**
 * TicketRelay over Redis pub/sub: one channel per replica (`<prefix>:tickets:<replica>`), so
 * a relayed Report reaches only the replica that issued the ticket. Best effort: a release
 * lost while a replica reconnects is taken back by the ticket's lease.
 */
import type { Redis } from "ioredis";
import type { RelayedRelease, TicketRelay } from "../../balancer/ticket-relay.js";
import type { RedisClient } from "./redis-client.js";

/** TicketRelay on Redis or Redis Cluster. */
export class RedisTicketRelay implements TicketRelay {
  constructor(
    private readonly client: RedisClient,
    private readonly prefix: string,
  ) {}

  async publish(release: RelayedRelease): Promise<void> {
    await this.client.publish(this.channel(release.origin), JSON.stringify(release.outcome));
  }

  async subscribe(replica: string, handler: (release: RelayedRelease) => void): Promise<() => void> {
    // Redis and Cluster both duplicate into a client of their own kind; both subscribe alike.
    const subscriber = (this.client as unknown as { duplicate(): Redis }).duplicate();
    subscriber.on("error", () => {
      // Reconnects on its own; releases missed meanwhile fall back to ticket leases.
    });
    subscriber.on("message", (_channel: string, message: string) => {
      handler({ origin: replica, outcome: JSON.parse(message) as RelayedRelease["outcome"] });
    });
    await subscriber.connect();
    await subscriber.subscribe(this.channel(replica));
    return () => subscriber.disconnect();
  }

  private channel(replica: string): string {
    return `${this.prefix}:tickets:${replica}`;
  }
}
