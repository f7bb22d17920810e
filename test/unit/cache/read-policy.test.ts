import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { L2Error } from "../../../src/cache/ports.js";
import { pickLonger, readTiers, type TierHit } from "../../../src/cache/read-policy.js";
import { flush, run, setup } from "./cache-harness.js";

const NOW = 1_000_000;
const hit = (source: "l1" | "l2", expiresAt: number, value = source): TierHit<string> => ({
  value,
  freshUntil: expiresAt,
  expiresAt,
  source,
});

/** Writes `value` straight into L2 under namespace "t" (no L1 copy anywhere). */
async function seedL2(h: ReturnType<typeof setup>, key: string, value: unknown, ttlMs = 0) {
  await h.memory.set({
    key: `t:${key}`,
    value: JSON.stringify(value),
    expiresAt: ttlMs ? h.clock.now() + ttlMs : 0,
  });
}

describe("C2 read policies", () => {
  it("C2 Sequential (default): an L1 hit never asks L2", async () => {
    const h = setup();
    await h.cache.set("k", "v");
    h.l2.calls.get = 0;
    expect(await h.cache.get("k")).toBe("v");
    expect(h.l2.calls.get).toBe(0);
    expect(h.cache.options.readPolicy).toBe("sequential");
  });

  it("C2 Sequential: an L1 miss reads L2", async () => {
    const h = setup();
    await seedL2(h, "k", "from-l2");
    expect(await h.cache.get("k")).toBe("from-l2");
    expect(h.l2.calls.get).toBe(1);
    expect(h.cache.stats()).toMatchObject({ l1Misses: 1, l2Hits: 1 });
  });

  it("C2 Sequential: an L2 error is a miss under l1Only and propagates under error", async () => {
    const lenient = setup();
    lenient.l2.failNext("get", "connection");
    expect(await lenient.cache.get("k")).toBeUndefined();
    const strict = setup({ failureMode: { kind: "error" } });
    strict.l2.failNext("get", "connection");
    await expect(strict.cache.get("k")).rejects.toBeInstanceOf(L2Error);
  });

  it("C2 Race: the L1 hit wins and the L2 read is cancelled (never sent)", async () => {
    const h = setup({ readPolicy: "race" });
    h.l2.delay("get", 1_000);
    await h.cache.set("k", "l1");
    expect(await h.cache.get("k")).toBe("l1");
    expect(h.l2.calls.get).toBe(0);
  });

  it("C2 Race: on an L1 miss the L2 hit wins", async () => {
    const h = setup({ readPolicy: "race" });
    h.l2.delay("get", 50);
    await seedL2(h, "k", "l2");
    const read = h.cache.get("k");
    await run(h.clock, 50, 10);
    expect(await read).toBe("l2");
  });

  it("C2 Race: an L2 error plus an L1 miss gives a miss, even under failure mode error", async () => {
    const h = setup({ readPolicy: "race", failureMode: { kind: "error" } });
    h.l2.failNext("get", "connection");
    expect(await h.cache.get("k")).toBeUndefined();
    expect(h.cache.stats().l2Errors).toBe(1);
  });

  it("C2 Parallel: waits for both tiers", async () => {
    const h = setup({ readPolicy: "parallel" });
    await h.cache.set("k", "l1", { ttlMs: 10_000 });
    h.l2.delay("get", 100);
    let settled = false;
    const read = h.cache.get("k").then((v) => {
      settled = true;
      return v;
    });
    await run(h.clock, 99);
    expect(settled).toBe(false);
    await run(h.clock, 1);
    expect(await read).toBe("l1");
    expect(h.l2.calls.get).toBe(1);
  });

  it("C2 Parallel: the longer remaining TTL wins (L2 longer)", async () => {
    const h = setup({ readPolicy: "parallel" });
    await h.cache.set("k", "l1", { ttlMs: 1_000 });
    await seedL2(h, "k", "l2", 5_000);
    expect(await h.cache.get("k")).toBe("l2");
  });

  it("C2 Parallel: the longer remaining TTL wins (L1 longer)", async () => {
    const h = setup({ readPolicy: "parallel" });
    await h.cache.set("k", "l1", { ttlMs: 5_000 });
    await seedL2(h, "k", "l2", 1_000);
    expect(await h.cache.get("k")).toBe("l1");
  });

  it("C2 Parallel: no expiry beats any TTL, in either tier", async () => {
    const a = setup({ readPolicy: "parallel" });
    await a.cache.set("k", "l1", { ttlMs: 86_400_000 });
    await seedL2(a, "k", "l2", 0);
    expect(await a.cache.get("k")).toBe("l2");
    const b = setup({ readPolicy: "parallel" });
    await b.cache.set("k", "l1", { ttlMs: 0 });
    await seedL2(b, "k", "l2", 86_400_000);
    expect(await b.cache.get("k")).toBe("l1");
  });

  it("C2 Parallel: ties go to L1 (same TTL, and both without expiry)", async () => {
    const a = setup({ readPolicy: "parallel" });
    await a.cache.set("k", "l1", { ttlMs: 1_000 });
    await seedL2(a, "k", "l2", 1_000);
    expect(await a.cache.get("k")).toBe("l1");
    const b = setup({ readPolicy: "parallel" });
    await b.cache.set("k", "l1", { ttlMs: 0 });
    await seedL2(b, "k", "l2", 0);
    expect(await b.cache.get("k")).toBe("l1");
  });

  it("C2 Parallel: an L2 error leaves the L1 answer (l1Only), or propagates (error)", async () => {
    const a = setup({ readPolicy: "parallel" });
    await a.cache.set("k", "l1");
    a.l2.failNext("get", "timeout");
    expect(await a.cache.get("k")).toBe("l1");
    const b = setup({ readPolicy: "parallel", failureMode: { kind: "error" } });
    await b.cache.set("k", "l1");
    b.l2.failNext("get", "timeout");
    await expect(b.cache.get("k")).rejects.toMatchObject({ kind: "timeout" });
  });

  it("C2 Parallel property: the winner's remaining TTL is >= the loser's; ties go to L1", () => {
    const expiry = fc.oneof(fc.constant(0), fc.integer({ min: NOW + 1, max: NOW + 1_000 }));
    fc.assert(
      fc.property(expiry, expiry, (e1, e2) => {
        const winner = pickLonger(hit("l1", e1), hit("l2", e2), NOW)!;
        const rem = (e: number) => (e === 0 ? Number.POSITIVE_INFINITY : e - NOW);
        const [w, l] = winner.source === "l1" ? [e1, e2] : [e2, e1];
        expect(rem(w)).toBeGreaterThanOrEqual(rem(l));
        if (rem(e1) === rem(e2)) expect(winner.source).toBe("l1");
      }),
    );
  });

  it("C2 readTiers: a miss in both tiers is a miss under every policy", async () => {
    for (const policy of ["sequential", "race", "parallel"] as const) {
      const found = await readTiers<string>(
        policy,
        undefined,
        async () => ({ kind: "miss" }),
        true,
        () => NOW,
      );
      expect(found).toBeUndefined();
    }
    await flush();
  });
});
