/**
 * The L2Store contract suite (docs/architecture.md: one contract suite per port, run against
 * every implementation). Memory runs it in memory-l2.test.ts; the Redis and Redis Cluster
 * adapters run the same function with a harness over a real redis-server.
 */
import { describe, expect, it } from "vitest";
import { L2Error, type L2Record, type L2Store } from "../../../src/cache/ports.js";

/** What the suite needs from an implementation under test. */
export interface L2ContractHarness {
  readonly store: L2Store;
  /** The store's notion of now, epoch ms (a ManualClock, or Date.now for Redis). */
  now(): number;
  /** Lets `ms` pass for the store's expiry: virtual time, or a real sleep. */
  advance(ms: number): Promise<void>;
  /** Stores `record` as is under `storedUnder` (a misfiled record); omit to skip that test. */
  plantMisfiled?(storedUnder: string, record: L2Record): Promise<void>;
  /** Stores something that is not a record under `key`; omit to skip that test. */
  plantGarbage?(key: string): Promise<void>;
  /** Called after each test. */
  dispose?(): Promise<void>;
}

/** Knobs for slow (real-time) implementations. */
export interface L2ContractOptions {
  /** TTL used by the expiry tests; keep it well above the store's timing jitter. Default 1000. */
  readonly ttlMs: number;
  /** Prefix of every key the suite writes (a fresh one per run on a shared server). Default "contract". */
  readonly keyPrefix: string;
}

async function expectCorrupt(read: Promise<L2Record | undefined>, requested: string): Promise<void> {
  try {
    const record = await read;
    // An adapter may return the record as found; then its key must show it is not `requested`.
    expect(record === undefined || record.key !== requested).toBe(true);
  } catch (error) {
    expect(error).toBeInstanceOf(L2Error);
    expect((error as L2Error).kind).toBe("corrupt");
  }
}

/** Registers the contract tests for one implementation, built fresh per test by `factory`. */
export function describeL2Contract(
  name: string,
  factory: () => L2ContractHarness | Promise<L2ContractHarness>,
  options: Partial<L2ContractOptions> = {},
): void {
  const ttl = options.ttlMs ?? 1_000;
  const p = options.keyPrefix ?? "contract";
  const k = (key: string) => `${p}:${key}`;
  const withHarness = (test: (h: L2ContractHarness) => Promise<void>) => async () => {
    const h = await factory();
    try {
      await test(h);
    } finally {
      await h.dispose?.();
    }
  };
  const record = (h: L2ContractHarness, key: string, value: string, ttlMs = 0): L2Record => ({
    key: k(key),
    value,
    expiresAt: ttlMs === 0 ? 0 : h.now() + ttlMs,
  });

  describe(`L2 contract: ${name}`, () => {
    it(
      "get of a missing key is undefined",
      withHarness(async (h) => {
        expect(await h.store.get(k("missing"))).toBeUndefined();
      }),
    );

    it(
      "set then get returns the same key, value and expiresAt",
      withHarness(async (h) => {
        const r = record(h, "a", '{"x":1}', 60_000);
        await h.store.set(r);
        expect(await h.store.get(k("a"))).toEqual(r);
      }),
    );

    it(
      "values round-trip exactly: empty, unicode, JSON text, 100 KB",
      withHarness(async (h) => {
        const values = ["", "héllo ✓ 日本 🎉", '{"a":[1,2,{"b":"c"}],"n":null}', "x".repeat(100_000)];
        for (const [i, value] of values.entries()) await h.store.set(record(h, `v${i}`, value));
        for (const [i, value] of values.entries()) expect((await h.store.get(k(`v${i}`)))?.value).toBe(value);
      }),
    );

    it(
      "keys with ':', hash tags, spaces and unicode are distinct",
      withHarness(async (h) => {
        const keys = ["a:b", "a:{b}", "{a}:b", "a b", "ä", "a"];
        for (const key of keys) await h.store.set(record(h, key, `v-${key}`));
        for (const key of keys) expect((await h.store.get(k(key)))?.value).toBe(`v-${key}`);
      }),
    );

    it(
      "set overwrites value and expiry; a later set with expiresAt 0 never expires",
      withHarness(async (h) => {
        await h.store.set(record(h, "o", "1", ttl));
        await h.store.set(record(h, "o", "2", 0));
        await h.advance(ttl * 2);
        expect(await h.store.get(k("o"))).toEqual({ key: k("o"), value: "2", expiresAt: 0 });
      }),
    );

    it(
      "delete returns true when the key existed, false after and for a missing key",
      withHarness(async (h) => {
        await h.store.set(record(h, "d", "1"));
        expect(await h.store.delete(k("d"))).toBe(true);
        expect(await h.store.get(k("d"))).toBeUndefined();
        expect(await h.store.delete(k("d"))).toBe(false);
        expect(await h.store.delete(k("never"))).toBe(false);
      }),
    );

    it(
      "a record is gone once expiresAt has passed; delete of it returns false",
      withHarness(async (h) => {
        await h.store.set(record(h, "e", "1", ttl));
        await h.advance(ttl / 2);
        expect((await h.store.get(k("e")))?.value).toBe("1");
        await h.advance(ttl);
        expect(await h.store.get(k("e"))).toBeUndefined();
        expect(await h.store.delete(k("e"))).toBe(false);
      }),
    );

    it(
      "expiresAt 0 never expires",
      withHarness(async (h) => {
        await h.store.set(record(h, "forever", "1"));
        await h.advance(ttl * 3);
        expect((await h.store.get(k("forever")))?.value).toBe("1");
      }),
    );

    it(
      "a set whose expiresAt has already passed leaves nothing readable",
      withHarness(async (h) => {
        await h.store.set(record(h, "past", "old", 0));
        await h.store.set({ key: k("past"), value: "new", expiresAt: h.now() - 1_000 });
        expect(await h.store.get(k("past"))).toBeUndefined();
      }),
    );

    it(
      "set rejects a negative or non-finite expiresAt with an L2Error",
      withHarness(async (h) => {
        for (const expiresAt of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
          await expect(h.store.set({ key: k("bad"), value: "1", expiresAt })).rejects.toBeInstanceOf(L2Error);
        }
      }),
    );

    it(
      "C10: a record stored under another key is reported corrupt (L2Error corrupt or its own key)",
      withHarness(async (h) => {
        if (!h.plantMisfiled) return;
        await h.plantMisfiled(k("here"), { key: k("elsewhere"), value: "1", expiresAt: 0 });
        await expectCorrupt(h.store.get(k("here")), k("here"));
      }),
    );

    it(
      "C10: something that is not a record is an L2Error of kind corrupt",
      withHarness(async (h) => {
        if (!h.plantGarbage) return;
        await h.plantGarbage(k("garbage"));
        const read = h.store.get(k("garbage"));
        await expect(read).rejects.toBeInstanceOf(L2Error);
        await expect(read).rejects.toMatchObject({ kind: "corrupt" });
      }),
    );

    it(
      "200 concurrent sets then gets agree",
      withHarness(async (h) => {
        const ids = Array.from({ length: 200 }, (_, i) => i);
        await Promise.all(ids.map((i) => h.store.set(record(h, `c${i}`, `v${i}`, 60_000))));
        const values = await Promise.all(ids.map((i) => h.store.get(k(`c${i}`))));
        expect(values.map((r) => r?.value)).toEqual(ids.map((i) => `v${i}`));
      }),
    );
  });
}
