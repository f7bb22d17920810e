/**
 * Puts session pins back after Redis restarts empty (behaviour.md P4).
 * On every reconnect of the shared client the StoreEpoch tells a connection drop from a
 * Redis that lost its data: after a drop the pin L1 asks the store again before answering
 * alone (invalidations may have been missed); after an empty restart every replica puts its
 * L1 pins back through the store's compare-and-set, then adopts the new epoch. Reconnects
 * are handled one at a time; a failed put-back is tried again a few times, and at the next
 * reconnect in any case (the epoch is adopted only after a full put-back).
 */
import type { Logger } from "../observability/logger.js";
import type { CachedPinStore } from "../sessions/cached-pin-store.js";
import type { Clock } from "../shared/clock.js";
import type { RedisClient } from "../store/redis/redis-client.js";
import type { StoreEpoch } from "../store/redis/store-epoch.js";

/** Tries of one recovery before waiting for the next reconnect. */
const RECOVERY_ATTEMPTS = 5;
/** Wait between two tries. */
const RECOVERY_RETRY_MS = 200;

/** What pin recovery needs. */
export interface PinRecoveryOptions {
  readonly redis: RedisClient;
  readonly epoch: StoreEpoch;
  readonly pins: CachedPinStore;
  readonly clock: Clock;
  readonly logger: Logger;
}

/** Follows the client's reconnects from now on; returns the function that stops following. */
export function followEmptyRestarts(options: PinRecoveryOptions): () => void {
  let chain: Promise<void> = Promise.resolve();
  let stopped = false;
  const onReady = () => {
    chain = chain.then(() => recover(options, () => stopped));
  };
  options.redis.on("ready", onReady);
  return () => {
    stopped = true;
    options.redis.off("ready", onReady);
  };
}

async function recover(options: PinRecoveryOptions, stopped: () => boolean): Promise<void> {
  const { epoch, pins, logger } = options;
  for (let attempt = 1; attempt <= RECOVERY_ATTEMPTS && !stopped(); attempt++) {
    try {
      if ((await epoch.check()) === "kept") {
        pins.revalidate();
        const synced = await pins.reseed(false);
        if (synced > 0) logger.info({ synced }, "session pins made while redis was away put back");
        return;
      }
      const restored = await pins.reseed(true);
      await epoch.adopt();
      logger.warn({ restored }, "redis came back empty; session pins put back from the replicas' L1");
      return;
    } catch (error) {
      logger.debug({ err: error, attempt }, "putting session pins back failed; trying again");
      await new Promise<void>((resolve) => options.clock.setTimeout(resolve, RECOVERY_RETRY_MS));
    }
  }
}
