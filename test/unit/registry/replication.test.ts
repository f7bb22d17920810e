import { describe, expect, it } from "vitest";
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import type { RegistryLog, RegistryLogListener } from "../../../src/registry/registry-log.js";
import { MAX_RESYNC_ATTEMPTS, RESYNC_BACKOFF_BASE_MS } from "../../../src/registry/replicator.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryRegistryLog } from "../../../src/store/memory/memory-registry-log.js";
import { startedReplica, twoReplicas, wiredRegistry } from "./wiring.js";

const replica = startedReplica;

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

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
    let listener: RegistryLogListener | undefined;
    let loads = 0;
    // A log that forgot the service and whose restore always loses to some other writer.
    const forgetful: RegistryLog = {
      append: (entry) => log.append(entry),
      load: async () => {
        loads++;
        return { stored: undefined, version: 0 };
      },
      loadAll: () => log.loadAll(),
      restore: async () => false,
      renew: (renewal) => log.renew(renewal),
      subscribe: async (l) => {
        listener = l;
        return () => {};
      },
    };
    const failures: string[] = [];
    const { registry } = wiredRegistry({
      clock,
      limits: DEFAULT_REGISTRY_LIMITS,
      log: forgetful,
      onEvent: () => {},
      onBackgroundError: (message, cause) => failures.push(`${message}: ${String(cause)}`),
    });
    await registry.start();
    await registry.register({ service: "s", config: undefined, backends: [], mode: "replace" });
    listener!.appended({
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
});
