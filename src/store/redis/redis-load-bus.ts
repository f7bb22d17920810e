/** LoadBus over Redis pub/sub: one channel, `<prefix>:load`, JSON reports. */
import type { Redis } from "ioredis";
import type { LoadBus, LoadReport } from "../../balancer/load-share.js";
import type { RedisClient } from "./redis-client.js";

/** LoadBus on Redis or Redis Cluster. */
export class RedisLoadBus implements LoadBus {
  private readonly channel: string;

  constructor(
    private readonly client: RedisClient,
    prefix: string,
  ) {
    this.channel = `${prefix}:load`;
  }

  async publish(report: LoadReport): Promise<void> {
    await this.client.publish(this.channel, JSON.stringify(report));
  }

  async subscribe(handler: (report: LoadReport) => void): Promise<() => void> {
    // Redis and Cluster both duplicate into a client of their own kind; both subscribe alike.
    const subscriber = (this.client as unknown as { duplicate(): Redis }).duplicate();
    subscriber.on("error", () => {
      // Reconnects on its own; stale reports expire meanwhile.
    });
    subscriber.on("message", (_channel: string, message: string) =>
      handler(JSON.parse(message) as LoadReport),
    );
    await subscriber.connect();
    await subscriber.subscribe(this.channel);
    return () => subscriber.disconnect();
  }
}
