import { describe, expect, it } from "vitest";
import type { BackendInput } from "../../../src/model/input.js";
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import type { ServiceEvent } from "../../../src/registry/events.js";
import { FulcrumError } from "../../../src/shared/errors.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryRegistryLog } from "../../../src/store/memory/memory-registry-log.js";
import { wiredRegistry } from "./wiring.js";

function setup(limits = DEFAULT_REGISTRY_LIMITS) {
  const clock = new ManualClock();
  const events: ServiceEvent[] = [];
  const { registry, services } = wiredRegistry({
    clock,
    limits,
    log: new MemoryRegistryLog(),
    onEvent: (e) => events.push(e),
    onBackgroundError: (message: string, cause: unknown) => {
      throw new Error(`background failure: ${message}: ${cause}`);
    },
  });
  return { clock, events, registry, services };
}

const b = (id: string, extra: Partial<BackendInput> = {}): BackendInput => ({
  id,
  address: `${id}.local:80`,
  ...extra,
});

async function caught(fn: () => unknown): Promise<FulcrumError> {
  try {
    await fn();
  } catch (error) {
    expect(error).toBeInstanceOf(FulcrumError);
    return error as FulcrumError;
  }
  throw new Error("expected a FulcrumError");
}

describe("registry", () => {
  it("R1 REPLACE keeps state of backends that stay, starts new ones fresh, drops missing ones, uses the new order", async () => {
    const { registry, services } = setup();
    await registry.register({
      service: "s",
      config: undefined,
      backends: [b("a"), b("b"), b("c")],
      mode: "replace",
    });
    const entry = services.find("s")!;
    entry.backends.get("a")!.inFlight = 5;
    entry.backends.get("a")!.consecutiveFailures = 2;
    await registry.register({ service: "s", config: undefined, backends: [b("d"), b("a")], mode: "replace" });
    expect([...entry.backends.keys()]).toEqual(["d", "a"]);
    expect(entry.backends.get("a")).toMatchObject({ inFlight: 5, consecutiveFailures: 2 });
    expect(entry.backends.get("d")).toMatchObject({ inFlight: 0, consecutiveFailures: 0, health: "healthy" });
    expect(entry.snapshot.eligible.map((s) => s.spec.id)).toEqual(["d", "a"]);
  });

  it("R1 a reorder alone is a change: new version, new snapshot order", async () => {
    const { registry, services } = setup();
    const first = await registry.register({
      service: "s",
      config: undefined,
      backends: [b("a"), b("b")],
      mode: "replace",
    });
    const second = await registry.register({
      service: "s",
      config: undefined,
      backends: [b("b"), b("a")],
      mode: "replace",
    });
    expect(second.changed).toBe(true);
    expect(second.version).toBeGreaterThan(first.version);
    expect(services.find("s")!.snapshot.eligible.map((s) => s.spec.id)).toEqual(["b", "a"]);
  });

  it("R2 MERGE adds or updates listed backends only; a repeated address is idempotent; unknown service is NOT_FOUND", async () => {
    const { registry, services } = setup();
    await registry.register({ service: "s", config: undefined, backends: [b("a"), b("b")], mode: "replace" });
    await registry.register({
      service: "s",
      config: undefined,
      backends: [b("c"), b("a", { weight: 7 })],
      mode: "merge",
    });
    const entry = services.find("s")!;
    expect([...entry.backends.keys()]).toEqual(["a", "b", "c"]);
    expect(entry.backends.get("a")!.spec.weight).toBe(7);
    const again = await registry.register({
      service: "s",
      config: undefined,
      backends: [b("c")],
      mode: "merge",
    });
    expect(again.changed).toBe(false);
    const error = await caught(() =>
      registry.register({ service: "nope", config: undefined, backends: [b("a")], mode: "merge" }),
    );
    expect(error.code).toBe("not_found");
  });

  it("R2 removing an absent backend is a no-op", async () => {
    const { registry, services } = setup();
    await registry.register({ service: "s", config: undefined, backends: [b("a")], mode: "replace" });
    const result = await registry.deregister("s", ["zzz"], false, 0);
    expect(result.removed).toBe(0);
    expect(services.find("s")!.backends.size).toBe(1);
  });

  it("R3 deregistering a whole service makes it unknown and ListServices forgets it", async () => {
    const { registry } = setup();
    await registry.register({ service: "s", config: undefined, backends: [b("a")], mode: "replace" });
    await registry.deregister("s", [], false, 0);
    expect((await caught(() => registry.describe("s"))).code).toBe("not_found");
    expect(registry.list("")).toEqual([]);
  });

  it("R4 new backends start Healthy by default, Recovering when the service says probation", async () => {
    const { registry, services } = setup();
    await registry.register({ service: "h", config: undefined, backends: [b("a")], mode: "replace" });
    await registry.register({
      service: "p",
      config: { health: { initialState: "recovering" } },
      backends: [b("a")],
      mode: "replace",
    });
    expect(services.find("h")!.backends.get("a")!.health).toBe("healthy");
    expect(services.find("p")!.backends.get("a")!.health).toBe("recovering");
  });

  it("R7 every change bumps the version; identical re-registration does not", async () => {
    const { registry, events } = setup();
    const created = await registry.register({
      service: "s",
      config: undefined,
      backends: [b("a")],
      mode: "replace",
    });
    const same = await registry.register({
      service: "s",
      config: undefined,
      backends: [b("a")],
      mode: "replace",
    });
    expect(same).toEqual({ version: created.version, changed: false });
    const changed = await registry.register({
      service: "s",
      config: undefined,
      backends: [b("a", { weight: 2 })],
      mode: "replace",
    });
    expect(changed.version).toBeGreaterThan(created.version);
    expect(events.map((e) => e.change.kind)).toEqual(["snapshot", "backend_updated"]);
    const versions = events.map((e) => e.version);
    expect([...versions].sort((x, y) => x - y)).toEqual(versions);
  });

  it("R6 draining: no new selections, removed when in-flight reaches zero, or at drain_timeout", async () => {
    const { registry, clock, events, services } = setup();
    await registry.register({ service: "s", config: undefined, backends: [b("a"), b("b")], mode: "replace" });
    const entry = services.find("s")!;
    entry.backends.get("a")!.inFlight = 1;
    entry.backends.get("b")!.inFlight = 1;
    const drained = await registry.deregister("s", ["a", "b"], true, 5_000);
    expect(drained.draining).toBe(2);
    expect(entry.snapshot.eligible).toHaveLength(0);
    const a = entry.backends.get("a")!;
    a.inFlight = 0;
    registry.finishDrain("s", "a");
    await registry.settled();
    expect(entry.backends.has("a")).toBe(false);
    clock.advance(5_000);
    await registry.settled();
    expect(entry.backends.has("b")).toBe(false);
    expect(
      events
        .filter((e) => e.change.kind === "backend_removed")
        .map((e) => (e.change as { reason: string }).reason),
    ).toEqual(["drained", "drained"]);
  });

  it("R5 a leased backend is removed when heartbeats stop, and kept while they come", async () => {
    const { registry, clock, events, services } = setup();
    await registry.register({
      service: "s",
      config: undefined,
      backends: [b("a", { leaseTtlMs: 3_000 }), b("b")],
      mode: "replace",
    });
    clock.advance(2_000);
    expect(await registry.heartbeat("s", ["a", "ghost"])).toEqual({ renewed: 1, unknownIds: ["ghost"] });
    clock.advance(2_000);
    registry.expireLeases();
    await registry.settled();
    expect(services.find("s")!.backends.has("a")).toBe(true);
    clock.advance(1_500);
    registry.expireLeases();
    await registry.settled();
    expect(services.find("s")!.backends.has("a")).toBe(false);
    expect(services.find("s")!.backends.has("b")).toBe(true);
    expect(events.at(-1)?.change).toEqual({
      kind: "backend_removed",
      backendId: "a",
      reason: "lease_expired",
    });
  });

  it("validates everything before changing anything, naming each field", async () => {
    const { registry, services } = setup();
    await registry.register({ service: "s", config: undefined, backends: [b("a")], mode: "replace" });
    const version = services.find("s")!.version;
    const error = await caught(() =>
      registry.register({
        service: "s",
        config: { health: { failureThreshold: 0.5 }, strategy: { name: "nope" } },
        backends: [
          { address: "[::1]:99999" },
          { address: "x:1", weight: -1 },
          { address: "host:80", quotas: [{ dimension: "", limit: 0 }] },
        ],
        mode: "replace",
      }),
    );
    const fields = error.detail.violations?.map((v) => v.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        "config.health.failure_threshold",
        "config.strategy.strategy",
        "backends[0].address",
        "backends[1].weight",
        "backends[2].quotas[0].dimension",
        "backends[2].quotas[0].limit",
        "backends[2].quotas[0].window",
      ]),
    );
    expect(services.find("s")!.version).toBe(version);
    expect([...services.find("s")!.backends.keys()]).toEqual(["a"]);
  });

  it("enforces max_services and max_backends_per_service with the limit's name", async () => {
    const { registry, services } = setup({
      ...DEFAULT_REGISTRY_LIMITS,
      maxServices: 1,
      maxBackendsPerService: 2,
    });
    await registry.register({ service: "one", config: undefined, backends: [b("a")], mode: "replace" });
    const tooMany = await caught(() =>
      registry.register({ service: "two", config: undefined, backends: [], mode: "replace" }),
    );
    expect(tooMany.code).toBe("resource_exhausted");
    expect(tooMany.message).toContain("max_services");
    const backends = await caught(() =>
      registry.register({ service: "one", config: undefined, backends: [b("b"), b("c")], mode: "merge" }),
    );
    expect(backends.message).toContain("max_backends_per_service");
    expect(services.find("one")!.backends.size).toBe(1);
  });

  it("parses host:port strictly", async () => {
    const { registry } = setup();
    for (const address of ["[::1]:80", "10.0.0.1:1", "db-1.internal:65535"]) {
      await expect(
        registry.register({ service: "ok", config: undefined, backends: [{ address }], mode: "replace" }),
      ).resolves.toMatchObject({ changed: true });
    }
    for (const address of ["::1:80", "host:0", "host:", ":80", "ho st:80", "10.0.0.1:65536", "[zz]:80"]) {
      const error = await caught(() =>
        registry.register({ service: "bad", config: undefined, backends: [{ address }], mode: "replace" }),
      );
      expect(error.detail.violations?.[0]?.field).toBe("backends[0].address");
    }
  });
});
