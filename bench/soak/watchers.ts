/**
 * Watch streams for the soak: readers that take every message at once, and slow readers
 * that take one message every `slowReadMs` (so the server's per-watcher queue fills and the
 * stream gets RESET). A stream that ends is reopened after a short pause, so the count stays
 * up for the whole run; every stream stops when `stop()` is called.
 */
import { setMaxListeners } from "node:events";
import type { ReplicaClients } from "./mixed-load.js";

/** Counts of what the streams saw. */
export interface WatchTally {
  messages: number;
  resets: number;
  reopened: number;
  failures: number;
}

/** Opens `fast` readers and `slow` readers on `clients`; resolves the stopper at once. */
export function openWatchers(
  clients: ReplicaClients,
  options: { fast: number; slow: number; slowReadMs: number; services: string[] },
  tally: WatchTally,
): () => void {
  const abort = new AbortController();
  setMaxListeners(0, abort.signal);
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const stream = async (slow: boolean) => {
    while (!abort.signal.aborted) {
      try {
        for await (const message of clients.balancer.watch(
          { services: options.services },
          { signal: abort.signal },
        )) {
          tally.messages++;
          if (message.event.case === "reset") tally.resets++;
          if (slow) await pause(options.slowReadMs);
        }
      } catch {
        if (!abort.signal.aborted) tally.failures++;
      }
      if (abort.signal.aborted) return;
      tally.reopened++;
      await pause(500);
    }
  };
  const all = [
    ...Array.from({ length: options.fast }, () => stream(false)),
    ...Array.from({ length: options.slow }, () => stream(true)),
  ];
  void Promise.allSettled(all);
  return () => abort.abort();
}
