import { describe, expect, it } from "vitest";
import { SingleFlight } from "../../../src/cache/single-flight.js";
import { flush, run, setup, summary } from "./cache-harness.js";

/** A loader whose calls resolve when the test says so. */
function gate<V>() {
  const calls: { key: string; resolve: (v: V) => void; reject: (e: unknown) => void }[] = [];
  const loader = (key: string) => new Promise<V>((resolve, reject) => calls.push({ key, resolve, reject }));
  return { calls, loader };
}

describe("C6 suppression after a failed L2 delete", () => {
  it("C6: after a failed L2 delete the key is not read from L2 until a later write succeeds", async () => {
    const h = setup();
    await h.cache.set("k", "old");
    h.l2.failNext("delete", "connection");
    expect(await h.cache.delete("k")).toBe(true);
    expect((await h.memory.get("t:k"))?.value).toBe('"old"'); // still in L2
    expect(await h.cache.get("k")).toBeUndefined();
    expect(await h.cache.getOrLoad("k", async () => "new")).toBe("new");
    expect(h.l2.calls.get).toBe(0);
    expect(h.cache.stats().l2Suppressed).toBe(2);
    await h.cache.invalidate("k"); // L1 only: the next read must go to L2, which now holds "new"
    expect(await h.cache.get("k")).toBe("new");
    expect(h.l2.calls.get).toBe(1);
  });

  it("C6: a later successful delete lifts the suppression too", async () => {
    const h = setup();
    h.l2.failNext("delete", "timeout");
    await h.cache.delete("k");
    expect(h.cache.stats().suppressedKeys).toBe(1);
    await h.cache.delete("k");
    expect(h.cache.stats().suppressedKeys).toBe(0);
    await h.peer().set("k", "v");
    expect(await h.cache.get("k")).toBe("v");
  });

  it("C6: a failed L2 write also suppresses the key (L2 holds an older value)", async () => {
    const h = setup();
    await h.cache.set("k", "v1");
    h.l2.failNext("set", "connection");
    await h.cache.set("k", "v2");
    await h.cache.invalidate("k");
    expect(await h.cache.get("k")).toBeUndefined(); // not the stale "v1" from L2
  });

  it("C6: past maxSuppressedKeys the whole namespace is suppressed until clearSuppressions", async () => {
    const h = setup({ maxSuppressedKeys: 2 });
    await h.peer().set("other", "v");
    h.l2.failAlways("delete", "connection");
    for (const k of ["a", "b", "c"]) await h.cache.delete(k);
    expect(await h.cache.get("other")).toBeUndefined();
    h.cache.clearSuppressions();
    expect(await h.cache.get("other")).toBe("v");
  });
});

describe("C7 single flight", () => {
  it("C7: concurrent loaders share one fetch and exactly one L1 insert", async () => {
    const h = setup();
    const { calls, loader } = gate<string>();
    const waiters = Array.from({ length: 10 }, () => h.cache.getOrLoad("k", loader));
    await flush();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve("v");
    expect(await Promise.all(waiters)).toEqual(Array(10).fill("v"));
    await flush();
    expect(summary(h.events)).toEqual(["insert:k"]);
    expect(h.l2.calls).toMatchObject({ get: 1, set: 1 });
    expect(h.cache.stats().loads).toBe(1);
  });

  it("C7: a loader error reaches every waiter and nothing is cached", async () => {
    const h = setup();
    const { calls, loader } = gate<string>();
    const waiters = Array.from({ length: 5 }, () => h.cache.getOrLoad("k", loader));
    await flush();
    calls[0]!.reject(new Error("backend down"));
    const results = await Promise.allSettled(waiters);
    expect(
      results.every((r) => r.status === "rejected" && (r.reason as Error).message === "backend down"),
    ).toBe(true);
    expect(h.cache.stats()).toMatchObject({ loads: 1, loadErrors: 1, l1Size: 0 });
    expect(await h.cache.getOrLoad("k", async () => "later")).toBe("later");
  });

  it("C7: different keys load independently", async () => {
    const h = setup();
    const { calls, loader } = gate<string>();
    const a = h.cache.getOrLoad("a", loader);
    const b = h.cache.getOrLoad("b", loader);
    await flush();
    expect(calls.map((c) => c.key)).toEqual(["a", "b"]);
    for (const c of calls) c.resolve(c.key.toUpperCase());
    expect([await a, await b]).toEqual(["A", "B"]);
  });

  it("C7: a set during a load wins; the superseded load is returned to its callers but not cached", async () => {
    const h = setup();
    const { calls, loader } = gate<string>();
    const loading = h.cache.getOrLoad("k", loader);
    await flush();
    await h.cache.set("k", "written");
    calls[0]!.resolve("loaded");
    expect(await loading).toBe("loaded");
    expect(await h.cache.get("k")).toBe("written");
    expect((await h.memory.get("t:k"))?.value).toBe('"written"');
  });

  it("C7: an L2 hit answers the flight without calling the loader", async () => {
    const h = setup();
    await h.peer().set("k", "shared");
    let loads = 0;
    expect(await h.cache.getOrLoad("k", async () => `loaded${++loads}`)).toBe("shared");
    expect(loads).toBe(0);
  });

  it("C7: a loader returning undefined caches nothing", async () => {
    const h = setup();
    expect(await h.cache.getOrLoad("k", async () => undefined)).toBeUndefined();
    expect(h.cache.stats().l1Size).toBe(0);
    expect(h.l2.calls.set).toBe(0);
  });

  it("C7 SingleFlight: supersede lets the next caller start a new flight", async () => {
    const flights = new SingleFlight<string, number>();
    let n = 0;
    const first = flights.run("k", async () => ++n);
    flights.supersede("k");
    const second = flights.run("k", async () => ++n);
    expect([await first, await second]).toEqual([1, 2]);
    expect(flights.size).toBe(0);
  });
});

describe("C8 stale-while-revalidate", () => {
  const options = { defaultTtlMs: 1_000, staleWindowMs: 500 };

  it("C8: within the stale window the stale value is served and refreshed once in the background", async () => {
    const h = setup(options);
    await h.cache.set("k", "v1");
    h.clock.advance(1_200);
    const { calls, loader } = gate<string>();
    const served = await Promise.all(Array.from({ length: 5 }, () => h.cache.getOrLoad("k", loader)));
    expect(served).toEqual(Array(5).fill("v1"));
    await flush();
    expect(calls).toHaveLength(1);
    calls[0]!.resolve("v2");
    await h.cache.settled();
    expect(await h.cache.getOrLoad("k", loader)).toBe("v2");
    expect(calls).toHaveLength(1);
    expect(h.cache.stats()).toMatchObject({ staleServed: 5, refreshes: 1 });
  });

  it("C8: past the stale window the entry is gone and the load blocks", async () => {
    const h = setup(options);
    await h.cache.set("k", "v1");
    h.clock.advance(1_500);
    expect(await h.cache.getOrLoad("k", async () => "v2")).toBe("v2");
    expect(h.cache.stats().staleServed).toBe(0);
  });

  it("C8: a stale L2 record is served and refreshed (L1 empty on this replica)", async () => {
    const h = setup(options);
    await h.peer(options).set("k", "v1");
    h.clock.advance(1_100);
    let loads = 0;
    expect(await h.cache.getOrLoad("k", async () => `v${++loads + 1}`)).toBe("v1");
    await h.cache.settled();
    expect(loads).toBe(1);
    expect(await h.cache.get("k")).toBe("v2");
  });

  it("C8: a refresh takes a fresh L2 copy written by another replica instead of loading", async () => {
    const h = setup(options);
    await h.cache.set("k", "v1");
    h.clock.advance(1_200);
    await h.peer(options).set("k", "peer");
    let loads = 0;
    expect(await h.cache.getOrLoad("k", async () => `loaded${++loads}`)).toBe("v1");
    await h.cache.settled();
    expect(loads).toBe(0);
    expect(await h.cache.get("k")).toBe("peer");
  });

  it("C8: a failing refresh keeps the stale value, and is counted and reported", async () => {
    const h = setup(options);
    await h.cache.set("k", "v1");
    h.clock.advance(1_200);
    expect(
      await h.cache.getOrLoad("k", async () => {
        throw new Error("origin down");
      }),
    ).toBe("v1");
    await h.cache.settled();
    await flush();
    expect(await h.cache.get("k")).toBe("v1");
    expect(h.cache.stats().refreshErrors).toBe(1);
    expect(h.events.some((e) => e.type === "refresh_error" && e.message === "origin down")).toBe(true);
  });

  it("C8: the L2 record lives for TTL plus the stale window", async () => {
    const h = setup(options);
    await h.cache.set("k", "v1");
    expect((await h.memory.get("t:k"))?.expiresAt).toBe(h.clock.now() + 1_500);
    await run(h.clock, 0);
  });
});
