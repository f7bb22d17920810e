import { describe, expect, it } from "vitest";
import { L2Error } from "../../../src/cache/ports.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryL2 } from "../../../src/store/memory/memory-l2.js";
import { describeL2Contract } from "./l2-contract.js";

describeL2Contract("MemoryL2", () => {
  const clock = new ManualClock();
  const store = new MemoryL2({ clock });
  return {
    store,
    now: () => clock.now(),
    advance: async (ms) => clock.advance(ms),
    plantMisfiled: async (key, record) => store.plant(key, record),
    plantGarbage: async (key) => store.plant(key, "not a record"),
    dispose: async () => store.close(),
  };
});

describe("MemoryL2", () => {
  it("expires exactly at expiresAt on the injected clock", async () => {
    const clock = new ManualClock();
    const store = new MemoryL2({ clock });
    await store.set({ key: "k", value: "v", expiresAt: clock.now() + 1_000 });
    clock.advance(999);
    expect(await store.get("k")).toBeDefined();
    clock.advance(1);
    expect(await store.get("k")).toBeUndefined();
  });

  it("a record naming another key is an L2Error of kind corrupt", async () => {
    const store = new MemoryL2({ clock: new ManualClock() });
    store.plant("a", { key: "b", value: "1", expiresAt: 0 });
    await expect(store.get("a")).rejects.toEqual(expect.objectContaining({ kind: "corrupt" }));
    await expect(store.get("a")).rejects.toBeInstanceOf(L2Error);
  });

  it("sweep drops expired records; the sweep timer runs on the clock until close", async () => {
    const clock = new ManualClock();
    const store = new MemoryL2({ clock, sweepIntervalMs: 100 });
    await store.set({ key: "short", value: "1", expiresAt: clock.now() + 50 });
    await store.set({ key: "long", value: "1", expiresAt: clock.now() + 500 });
    await store.set({ key: "forever", value: "1", expiresAt: 0 });
    clock.advance(100);
    expect(store.size).toBe(2);
    clock.advance(400);
    expect(store.size).toBe(1);
    store.close();
    expect(clock.pending()).toBe(0);
  });

  it("rejects a bad sweep interval by name", () => {
    expect(() => new MemoryL2({ sweepIntervalMs: -1 })).toThrow("memoryL2.sweepIntervalMs");
  });
});
