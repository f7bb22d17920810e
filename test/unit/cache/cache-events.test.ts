import { describe, expect, it } from "vitest";
import { type CacheEvent, CacheEventHub } from "../../../src/cache/cache-events.js";
import { createMemoryBus } from "../../../src/store/memory/memory-bus.js";
import { flush, setup, summary } from "./cache-harness.js";

const event = (key: string): CacheEvent => ({ type: "insert", namespace: "t", key, at: 0 });

describe("C12 events", () => {
  it("C12: insert, update, invalidate with reasons manual, evicted, expired, remote", async () => {
    const hub = createMemoryBus();
    const h = setup({ maxEntries: 2, defaultTtlMs: 1_000, bus: hub.connect() });
    const peer = h.peer({ bus: hub.connect() });
    await h.cache.set("a", 1);
    await h.cache.set("a", 2);
    await h.cache.invalidate("a");
    await h.cache.set("b", 1);
    await h.cache.set("c", 1, { ttlMs: 0 });
    await h.cache.set("d", 1, { ttlMs: 0 }); // evicts b (LRU)
    h.clock.advance(1_000);
    await h.cache.set("e", 1); // nothing expired among c, d: evicts c
    h.clock.advance(1_000);
    expect(await h.cache.get("e")).toBeUndefined(); // lazy expiry
    await peer.invalidate("d");
    await flush();
    expect(summary(h.events)).toEqual([
      "insert:a",
      "update:a",
      "invalidate:a:manual",
      "insert:b",
      "insert:c",
      "invalidate:b:evicted",
      "insert:d",
      "invalidate:c:evicted",
      "insert:e",
      "invalidate:e:expired",
      "invalidate:d:remote",
    ]);
    expect(h.events.every((e) => e.namespace === "t" && typeof e.at === "number")).toBe(true);
  });

  it("C12: a stuck subscriber never blocks writers; its bounded queue drops and counts", async () => {
    const h = setup();
    const never = new Promise<void>(() => {});
    const stuck = h.cache.subscribe(() => never, { queueSize: 3 });
    for (let i = 0; i < 20; i++) await h.cache.set(`k${i}`, i);
    await flush();
    expect(stuck.pending).toBe(3); // plus one taken by the listener, stuck forever
    expect(stuck.dropped).toBe(16);
    expect(h.cache.stats().eventsDropped).toBe(16);
    expect(h.events).toHaveLength(20); // the other subscriber got everything
    stuck.unsubscribe();
    expect(stuck.pending).toBe(0);
  });

  it("C12: delivery is asynchronous, in order; a throwing listener is isolated", async () => {
    const hub = new CacheEventHub(10);
    const got: string[] = [];
    hub.subscribe(() => {
      throw new Error("listener bug");
    });
    hub.subscribe((e) => {
      if (e.type === "insert") got.push(e.key);
    });
    hub.emit(event("a"));
    hub.emit(event("b"));
    expect(got).toEqual([]);
    await flush();
    expect(got).toEqual(["a", "b"]);
  });

  it("C12: an async listener gets one event at a time", async () => {
    const hub = new CacheEventHub(10);
    let inFlight = 0;
    let maxInFlight = 0;
    hub.subscribe(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await flush(1);
      inFlight--;
    });
    for (const k of ["a", "b", "c"]) hub.emit(event(k));
    await flush(10);
    expect(maxInFlight).toBe(1);
  });

  it("C12: no subscriber, no work; unsubscribe stops delivery; bad queue sizes are rejected", async () => {
    const hub = new CacheEventHub();
    expect(hub.active).toBe(false);
    const got: CacheEvent[] = [];
    const s = hub.subscribe((e) => {
      got.push(e);
    });
    expect(hub.active).toBe(true);
    s.unsubscribe();
    hub.emit(event("a"));
    await flush();
    expect(got).toEqual([]);
    expect(hub.active).toBe(false);
    expect(() => hub.subscribe(() => {}, 0)).toThrow("queueSize");
  });
});
