/** A WatchHub over a real registry (one service `s` with backend `a`), for the watch unit tests. */
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryRegistryLog } from "../../../src/store/memory/memory-registry-log.js";
import {
  DEFAULT_WATCH_LIMITS,
  WatchHub,
  type WatchHubOptions,
  type WatchLimits,
} from "../../../src/watch/watch-hub.js";
import type { WatchMessage } from "../../../src/watch/watch-message.js";
import type { Watcher } from "../../../src/watch/watcher.js";
import { wiredRegistry } from "../registry/wiring.js";

export async function setup(
  limits: Partial<WatchLimits> = {},
  fanOut: Pick<WatchHubOptions, "defer" | "fanOutSlice"> = {},
) {
  const clock = new ManualClock();
  const hub: WatchHub = new WatchHub({
    clock,
    limits: { ...DEFAULT_WATCH_LIMITS, ...limits },
    describe: (service) => services.status(service),
    serviceNames: () => registry.names(),
    ...fanOut,
  });
  const { registry, services } = wiredRegistry({
    clock,
    limits: DEFAULT_REGISTRY_LIMITS,
    log: new MemoryRegistryLog(),
    onEvent: (e) => hub.publish(e),
    onBackgroundError: (message) => {
      throw new Error(message);
    },
  });
  const add = (service: string, id: string, labels: Record<string, string> = {}) =>
    registry.register({
      service,
      config: undefined,
      backends: [{ id, address: `${id}:1`, labels }],
      mode: "merge",
    });
  await registry.register({
    service: "s",
    config: undefined,
    backends: [{ id: "a", address: "a:1" }],
    mode: "replace",
  });
  return { clock, hub, registry, services, add };
}

/** Takes the next `n` messages of a watcher (they are already queued or arrive synchronously). */
export async function take(watcher: Watcher, n: number): Promise<WatchMessage[]> {
  const out: WatchMessage[] = [];
  const iterator = watcher[Symbol.asyncIterator]();
  while (out.length < n) {
    const next = await iterator.next();
    if (next.done) break;
    out.push(next.value);
  }
  return out;
}

export const kinds = (messages: WatchMessage[]) => messages.map((m) => `${m.service}:${m.event.kind}`);
