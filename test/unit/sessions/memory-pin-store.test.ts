import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { DEFAULT_SESSION_IDLE_TTL_MS } from "../../../src/sessions/parse-session-policy.js";
import { FulcrumError } from "../../../src/shared/errors.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryPinStore } from "../../../src/store/memory/memory-pin-store.js";
import { describePinStoreContract } from "./pin-store-contract.js";

describePinStoreContract("MemoryPinStore", () => {
  const clock = new ManualClock();
  const store = new MemoryPinStore({ clock });
  return {
    clients: [store, store, store, store],
    advance: async (ms) => clock.advance(ms),
    dispose: async () => store.close(),
  };
});

describe("MemoryPinStore", () => {
  it("P7 expires exactly at the idle TTL on the injected clock", async () => {
    const clock = new ManualClock();
    const store = new MemoryPinStore({ clock, sweepIntervalMs: 0 });
    await store.pin("svc", "s", "b", 1_000, 1);
    clock.advance(999);
    expect(await store.get("svc", "s")).toEqual({ backendId: "b" });
    clock.advance(1);
    expect(await store.get("svc", "s")).toBeUndefined();
    expect(store.size).toBe(0);
    expect(store.serviceCount).toBe(0);
  });

  it("P7 the sweep timer reclaims pins of idle services", async () => {
    const clock = new ManualClock();
    const store = new MemoryPinStore({ clock, sweepIntervalMs: 1_000 });
    for (let i = 0; i < 10; i++) await store.pin(`svc${i % 3}`, `s${i}`, "b", 500, 100);
    clock.advance(1_000);
    expect(store.size).toBe(0);
    expect(store.serviceCount).toBe(0);
    store.close();
    expect(clock.pending()).toBe(0);
  });

  it("P7 counts stay exact when the idle TTL changes (pins out of expiry order)", async () => {
    const clock = new ManualClock();
    const store = new MemoryPinStore({ clock, sweepIntervalMs: 0 });
    await store.pin("svc", "long", "b", 10_000, 10);
    await store.pin("svc", "short", "b", 1_000, 10);
    clock.advance(1_000);
    expect(await store.countByBackend("svc")).toEqual(new Map([["b", 1]]));
    clock.advance(9_000);
    expect(await store.countByBackend("svc")).toEqual(new Map());
    expect(store.size).toBe(0);
  });

  it("is bounded: a pin past maxSessions fails with RESOURCE_EXHAUSTED naming the limit", async () => {
    const clock = new ManualClock();
    const store = new MemoryPinStore({ clock, maxSessions: 3, sweepIntervalMs: 0 });
    for (const s of ["a", "b", "c"]) await store.pin("svc", s, "b1", 1_000, 100);
    const error = await store.pin("other", "d", "b1", 1_000, 100).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FulcrumError);
    expect((error as FulcrumError).code).toBe("resource_exhausted");
    expect((error as FulcrumError).message).toContain("memoryPinStore.maxSessions");
    expect((error as FulcrumError).message).toContain("3");
    // Re-pinning an existing session needs no new slot; an expired pin frees one.
    expect((await store.pin("svc", "a", "b2", 1_000, 100, "b1")).kind).toBe("pinned");
    clock.advance(1_000);
    expect((await store.pin("other", "d", "b1", 1_000, 100)).kind).toBe("pinned");
  });

  it("O3 options are validated with messages naming the field", () => {
    expect(() => new MemoryPinStore({ maxSessions: 0 })).toThrow(/memoryPinStore.maxSessions/);
    expect(() => new MemoryPinStore({ sweepIntervalMs: -1 })).toThrow(/memoryPinStore.sweepIntervalMs/);
  });

  it("P7 memory bound: 100,000 pinned sessions, then all ended, leave nothing behind", async () => {
    const sessions = 100_000;
    const backends = 16;
    const clock = new ManualClock();
    const store = new MemoryPinStore({ clock, sweepIntervalMs: 0 });
    const backendIds = Array.from({ length: backends }, (_, i) => `b${i}`);
    const ids = Array.from({ length: sessions }, (_, i) => `session-${i.toString().padStart(8, "0")}`);
    const before = heapUsed();
    for (let i = 0; i < sessions; i++) {
      await store.pin(
        "news",
        ids[i]!,
        backendIds[i % backends]!,
        DEFAULT_SESSION_IDLE_TTL_MS,
        Number.POSITIVE_INFINITY,
      );
    }
    const during = heapUsed();
    const perSession = (during - before) / sessions;
    console.info(
      `MemoryPinStore: ${perSession.toFixed(0)} bytes of heap per pinned session (${sessions} sessions)`,
    );
    expect(store.size).toBe(sessions);
    const counts = await store.countByBackend("news");
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBe(sessions);
    expect(perSession).toBeLessThan(1_000);

    for (const id of ids) await store.end("news", id);
    expect(store.size).toBe(0);
    expect(store.serviceCount).toBe(0);
    expect(await store.countByBackend("news")).toEqual(new Map());
    expect(await store.get("news", ids[0]!)).toBeUndefined();
  });
});

/** Heap in use after a full collection (gc exposed at run time for this measurement). */
function heapUsed(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
