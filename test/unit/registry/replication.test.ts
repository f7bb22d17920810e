import { describe, expect, it } from "vitest";
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import type { RegistryLog, RegistryLogListener } from "../../../src/registry/registry-log.js";
import {
  MAX_RECONNECT_RESYNC_ATTEMPTS,
  MAX_RESYNC_ATTEMPTS,
  RECONNECT_RESYNC_MAX_BACKOFF_MS,
  RESYNC_BACKOFF_BASE_MS,
} from "../../../src/registry/replicator.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryRegistryLog } from "../../../src/store/memory/memory-registry-log.js";
import { startedReplica, twoReplicas, wiredRegistry } from "./wiring.js";

const replica = startedReplica;

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

/**
 * A started replica on `log` (its subscription handed to the test, which plays the log's
 * messages), with service "s" registered; background failures are collected, not thrown.
 */
async function replicaWithService(log: Omit<RegistryLog, "subscribe">, clock: ManualClock) {
  let listener: RegistryLogListener | undefined;
  const failures: string[] = [];
  const subscribe = async (l: RegistryLogListener) => {
    listener = l;
    return () => {};
  };
  const { registry } = wiredRegistry({
    clock,
    limits: DEFAULT_REGISTRY_LIMITS,
    log: { ...log, subscribe },
    onEvent: () => {},
    onBackgroundError: (message, cause) => failures.push(`${message}: ${String(cause)}`),
  });
  await registry.start();
  await registry.register({ service: "s", config: undefined, backends: [], mode: "replace" });
  return { registry, failures, listener: listener! };
}

describe("registry replication through the log", () => {
  it("a change on one replica reaches the other with the same versions", async () => {
    const { a, b } = await twoReplicas();
    await a.registry.register({
      service: "s",
      config: undefined,
      backends: [{ id: "x", address: "x:1" }],
      mode: "replace",
    });
    await a.registry.setHealth("s", "x", "unhealthy", "test", "policy");
    await flush();
    expect(b.services.find("s")!.backends.get("x")?.health).toBe("unhealthy");
    expect(b.events.map((e) => [e.version, e.change.kind])).toEqual(
      a.events.map((e) => [e.version, e.change.kind]),
    );
  });

  it("concurrent changes on two replicas are both kept (compare-and-set, re-plan on conflict)", async () => {
    const { a, b } = await twoReplicas();
    await a.registry.register({ service: "s", config: undefined, backends: [], mode: "replace" });
    await flush();
    await Promise.all([
      a.registry.register({
        service: "s",
        config: undefined,
        backends: [{ id: "from-a", address: "a:1" }],
        mode: "merge",
      }),
      b.registry.register({
        service: "s",
        config: undefined,
        backends: [{ id: "from-b", address: "b:1" }],
        mode: "merge",
      }),
    ]);
    await flush();
    for (const r of [a, b])
      expect([...r.services.find("s")!.backends.keys()].sort()).toEqual(["from-a", "from-b"]);
    expect(a.registry.versionOf("s")).toBe(b.registry.versionOf("s"));
  });

  it("a replica started later loads every service", async () => {
    const log = new MemoryRegistryLog();
    const clock = new ManualClock();
    const a = await replica(log, clock);
    await a.registry.register({
      service: "s",
      config: undefined,
      backends: [{ id: "x", address: "x:1" }],
      mode: "replace",
    });
    const late = await replica(log, clock);
    expect(late.registry.versionOf("s")).toBe(a.registry.versionOf("s"));
    expect(late.services.find("s")!.snapshot.eligible.map((s) => s.spec.id)).toEqual(["x"]);
  });

  it("versions are never reused after a service is removed and registered again", async () => {
    const log = new MemoryRegistryLog();
    const { registry } = await replica(log, new ManualClock());
    const first = await registry.register({ service: "s", config: undefined, backends: [], mode: "replace" });
    await registry.deregister("s", [], false, 0);
    const again = await registry.register({ service: "s", config: undefined, backends: [], mode: "replace" });
    expect(again.version).toBeGreaterThan(first.version + 1);
  });

  it("a resync that keeps finding the log behind this replica gives up after a bounded number of loads, backing off", async () => {
    const log = new MemoryRegistryLog();
    const clock = new ManualClock();
    let loads = 0;
    // A log that forgot the service and whose restore always loses to some other writer.
    const { registry, failures, listener } = await replicaWithService(
      {
        append: (entry) => log.append(entry),
        load: async () => {
          loads++;
          return { stored: undefined, version: 0 };
        },
        loadAll: () => log.loadAll(),
        restore: async () => false,
        renew: (renewal) => log.renew(renewal),
      },
      clock,
    );
    listener.appended({
      service: "s",
      baseVersion: 5,
      firstVersion: 6,
      changes: [{ kind: "service_removed" }],
      next: undefined,
    });
    await flush();
    expect(loads).toBe(1);
    for (let attempt = 1; attempt < MAX_RESYNC_ATTEMPTS; attempt++) {
      clock.advance(RESYNC_BACKOFF_BASE_MS * 2 ** (attempt - 1) - 1);
      await flush();
      expect(loads).toBe(attempt);
      clock.advance(1);
      await flush();
      expect(loads).toBe(attempt + 1);
    }
    await registry.settled();
    expect(failures).toEqual([
      `resyncing s after a gap: FulcrumError: service "s": the registry log stayed behind this replica after ${MAX_RESYNC_ATTEMPTS} resyncs`,
    ]);
    expect(registry.versionOf("s")).toBe(1);
  });

  it("a reload after a reconnect that cannot read the log yet is tried again until it puts back what the log lost", async () => {
    const clock = new ManualClock();
    let log = new MemoryRegistryLog();
    let readable = true;
    /** `log` once its connection is back; until then every read fails. */
    const readableLog = async () => {
      if (!readable) throw new Error("the log's connection is not back yet");
      return log;
    };
    // The subscription is back before the connection that reads and restores (over Redis, two connections).
    const { registry, failures, listener } = await replicaWithService(
      {
        append: (entry) => log.append(entry),
        load: async (service) => (await readableLog()).load(service),
        loadAll: async () => (await readableLog()).loadAll(),
        restore: async (service, stored, version) => (await readableLog()).restore(service, stored, version),
        renew: (renewal) => log.renew(renewal),
      },
      clock,
    );

    // The store came back empty, and its reads fail for the first three tries.
    log = new MemoryRegistryLog();
    readable = false;
    listener.reconnected();
    for (let attempt = 1; attempt <= 3; attempt++) {
      await flush();
      clock.advance(Math.min(RESYNC_BACKOFF_BASE_MS * 2 ** (attempt - 1), RECONNECT_RESYNC_MAX_BACKOFF_MS));
    }
    readable = true;
    await registry.settled();
    expect(failures).toEqual([]);
    expect((await log.load("s")).version).toBe(1);

    // A log that never becomes readable: the failure is reported after a bounded number of tries.
    readable = false;
    listener.reconnected();
    for (let attempt = 1; attempt < MAX_RECONNECT_RESYNC_ATTEMPTS; attempt++) {
      await flush();
      clock.advance(RECONNECT_RESYNC_MAX_BACKOFF_MS);
    }
    await registry.settled();
    expect(failures).toEqual(["resync after reconnect: Error: the log's connection is not back yet"]);
  });
});
