/**
 * The PinStore contract suite (docs/architecture.md: one contract suite per port). The memory
 * store runs it in memory-pin-store.test.ts with a ManualClock; the Redis store runs the
 * same function in test/integration/pin-store.test.ts against a real redis-server and a
 * real three-master Redis Cluster, with short real TTLs.
 */
import { describe, expect, it } from "vitest";
import type { PinStore } from "../../../src/sessions/pin-store.js";

/** What the suite needs from an implementation under test. */
export interface PinStoreHarness {
  /**
   * Clients over one shared state, like replicas over one Redis (at least 4). A store with
   * no notion of replicas may repeat one instance.
   */
  readonly clients: readonly PinStore[];
  /** Lets `ms` pass for the store's expiry: virtual time, or a real sleep. */
  advance(ms: number): Promise<void>;
  /** Called after each test. */
  dispose?(): Promise<void>;
}

/** Knobs for slow (real-time) implementations. */
export interface PinStoreContractOptions {
  /** Idle TTL of the expiry tests; well above the store's timing jitter. Default 1000. */
  readonly ttlMs: number;
}

const LONG_TTL_MS = 600_000;
let serial = 0;
/** A service name no earlier test used (the Redis suites share one server). */
const freshService = () => `svc-${process.pid}-${Date.now().toString(36)}-${serial++}`;

/** Registers the contract tests for one implementation, built fresh per test by `factory`. */
export function describePinStoreContract(
  name: string,
  factory: () => PinStoreHarness | Promise<PinStoreHarness>,
  options: Partial<PinStoreContractOptions> = {},
): void {
  const ttl = options.ttlMs ?? 1_000;
  const run = (test: (h: PinStoreHarness, service: string) => Promise<void>) => async () => {
    const h = await factory();
    try {
      await test(h, freshService());
    } finally {
      await h.dispose?.();
    }
  };
  const two = (h: PinStoreHarness): [PinStore, PinStore] => [h.clients[0]!, h.clients[1] ?? h.clients[0]!];

  describe(`PinStore contract: ${name}`, () => {
    it(
      "P4 a pin set on one replica is seen by another; a session without one has none",
      run(async (h, svc) => {
        const [a, b] = two(h);
        expect(await b.get(svc, "s1")).toBeUndefined();
        expect(await a.pin(svc, "s1", "b1", LONG_TTL_MS, 10)).toEqual({
          kind: "pinned",
          backendId: "b1",
          previousBackendId: undefined,
        });
        expect(await b.get(svc, "s1")).toEqual({ backendId: "b1" });
        expect(await b.touch(svc, "s1", LONG_TTL_MS)).toEqual({ backendId: "b1" });
        expect(await a.get(svc, "s2")).toBeUndefined();
        expect(await a.get(`${svc}-other`, "s1")).toBeUndefined();
      }),
    );

    it(
      "P2 a second pin of a pinned session is a no-op answering the existing backend",
      run(async (h, svc) => {
        const [a, b] = two(h);
        await a.pin(svc, "s1", "b1", LONG_TTL_MS, 10);
        expect(await b.pin(svc, "s1", "b2", LONG_TTL_MS, 10)).toEqual({ kind: "existing", backendId: "b1" });
        expect(await b.pin(svc, "s1", "b1", LONG_TTL_MS, 1)).toEqual({ kind: "existing", backendId: "b1" });
        expect(await a.get(svc, "s1")).toEqual({ backendId: "b1" });
        expect(await a.countByBackend(svc)).toEqual(new Map([["b1", 1]]));
      }),
    );

    it(
      "P5 a re-pin replaces only the named lost backend and moves its count",
      run(async (h, svc) => {
        const [a, b] = two(h);
        await a.pin(svc, "s1", "b1", LONG_TTL_MS, 10);
        expect(await b.pin(svc, "s1", "b2", LONG_TTL_MS, 10, "b9")).toEqual({
          kind: "existing",
          backendId: "b1",
        });
        expect(await b.pin(svc, "s1", "b2", LONG_TTL_MS, 10, "b1")).toEqual({
          kind: "pinned",
          backendId: "b2",
          previousBackendId: "b1",
        });
        expect(await a.get(svc, "s1")).toEqual({ backendId: "b2" });
        expect(await a.countByBackend(svc)).toEqual(new Map([["b2", 1]]));
        // The loser of a re-pin race gets the winner's pin.
        expect(await a.pin(svc, "s1", "b3", LONG_TTL_MS, 10, "b1")).toEqual({
          kind: "existing",
          backendId: "b2",
        });
        // Re-pinning a session whose pin is gone pins it afresh.
        expect((await a.pin(svc, "s2", "b3", LONG_TTL_MS, 10, "b1")).kind).toBe("pinned");
      }),
    );

    it(
      "P7 EndSession on one replica releases the pin for every replica",
      run(async (h, svc) => {
        const [a, b] = two(h);
        await a.pin(svc, "s1", "b1", LONG_TTL_MS, 10);
        await a.pin(svc, "s2", "b1", LONG_TTL_MS, 10);
        expect(await b.end(svc, "s1")).toBe("b1");
        expect(await a.get(svc, "s1")).toBeUndefined();
        expect(await a.touch(svc, "s1", LONG_TTL_MS)).toBeUndefined();
        expect(await b.end(svc, "s1")).toBeUndefined();
        expect(await a.countByBackend(svc)).toEqual(new Map([["b1", 1]]));
        expect(await a.end(svc, "s2")).toBe("b1");
        expect(await b.countByBackend(svc)).toEqual(new Map());
        // A new session with the same id starts fresh (P2).
        expect((await b.pin(svc, "s1", "b2", LONG_TTL_MS, 10)).kind).toBe("pinned");
      }),
    );

    it(
      "P7 a pin expires after its idle TTL; a touch pushes the expiry out",
      run(async (h, svc) => {
        const [a, b] = two(h);
        await a.pin(svc, "idle", "b1", ttl, 10);
        await a.pin(svc, "used", "b1", ttl, 10);
        await h.advance(ttl * 0.6);
        expect(await b.touch(svc, "used", ttl)).toEqual({ backendId: "b1" });
        await h.advance(ttl * 0.6);
        expect(await b.get(svc, "idle")).toBeUndefined();
        expect(await b.get(svc, "used")).toEqual({ backendId: "b1" });
        expect(await a.countByBackend(svc)).toEqual(new Map([["b1", 1]]));
        await h.advance(ttl * 0.6);
        expect(await a.get(svc, "used")).toBeUndefined();
        expect(await a.touch(svc, "used", ttl)).toBeUndefined();
        expect(await a.end(svc, "used")).toBeUndefined();
        expect(await a.countByBackend(svc)).toEqual(new Map());
      }),
    );

    it(
      "P6 P7 counts never include an expired pin: a full backend takes pins again once its pins idle out",
      run(async (h, svc) => {
        const [a, b] = two(h);
        for (const s of ["s1", "s2", "s3"]) expect((await a.pin(svc, s, "b1", ttl, 3)).kind).toBe("pinned");
        expect((await b.pin(svc, "s4", "b1", ttl, 3)).kind).toBe("capacity");
        await h.advance(ttl * 1.2);
        expect((await b.pin(svc, "s4", "b1", LONG_TTL_MS, 3)).kind).toBe("pinned");
        expect(await a.countByBackend(svc)).toEqual(new Map([["b1", 1]]));
      }),
    );

    it(
      "P6 capacity is per backend, and Infinity means no limit",
      run(async (h, svc) => {
        const [a] = two(h);
        expect(await a.pin(svc, "s1", "b1", LONG_TTL_MS, 0)).toEqual({
          kind: "capacity",
          backendId: "b1",
          limit: 0,
        });
        await a.pin(svc, "s2", "b2", LONG_TTL_MS, 1);
        expect((await a.pin(svc, "s3", "b2", LONG_TTL_MS, 1)).kind).toBe("capacity");
        expect((await a.pin(svc, "s3", "b3", LONG_TTL_MS, 1)).kind).toBe("pinned");
        for (let i = 0; i < 20; i++) {
          expect((await a.pin(svc, `u${i}`, "b4", LONG_TTL_MS, Number.POSITIVE_INFINITY)).kind).toBe(
            "pinned",
          );
        }
        expect(await a.countByBackend(svc)).toEqual(
          new Map([
            ["b2", 1],
            ["b3", 1],
            ["b4", 20],
          ]),
        );
      }),
    );

    it(
      "P6 capacity holds under concurrent pin attempts from several replicas",
      run(async (h, svc) => {
        const limit = 5;
        const attempts = h.clients.flatMap((client, c) =>
          Array.from({ length: 25 }, (_, i) => client.pin(svc, `c${c}-s${i}`, "hot", LONG_TTL_MS, limit)),
        );
        const results = await Promise.all(attempts);
        expect(results.filter((r) => r.kind === "pinned")).toHaveLength(limit);
        expect(results.filter((r) => r.kind === "capacity")).toHaveLength(attempts.length - limit);
        expect(await h.clients[0]!.countByBackend(svc)).toEqual(new Map([["hot", limit]]));
      }),
    );

    it(
      "P2 P4 concurrent first pins of one session from several replicas agree on one backend",
      run(async (h, svc) => {
        const results = await Promise.all(
          h.clients.flatMap((client, c) =>
            [0, 1, 2].map((i) => client.pin(svc, "racy", `b${c}-${i}`, LONG_TTL_MS, 100)),
          ),
        );
        const pinned = results.filter((r) => r.kind === "pinned");
        expect(pinned).toHaveLength(1);
        const winner = pinned[0]!.backendId;
        for (const r of results) expect(r.backendId).toBe(winner);
        expect(await h.clients.at(-1)!.get(svc, "racy")).toEqual({ backendId: winner });
        expect(await h.clients[0]!.countByBackend(svc)).toEqual(new Map([[winner, 1]]));
      }),
    );

    it(
      "P5 releaseBackend forgets the count but keeps the session's pin, so its next Select sees it lost",
      run(async (h, svc) => {
        const [a, b] = two(h);
        await a.pin(svc, "s1", "gone", LONG_TTL_MS, 1);
        await a.pin(svc, "s2", "stays", LONG_TTL_MS, 1);
        expect(await b.releaseBackend(svc, "gone")).toBe(1);
        expect(await b.releaseBackend(svc, "never")).toBe(0);
        expect(await a.countByBackend(svc)).toEqual(new Map([["stays", 1]]));
        expect(await a.get(svc, "s1")).toEqual({ backendId: "gone" });
        // A backend with the same id comes back: a fresh pin fits, and a touch counts the old one again.
        expect((await b.pin(svc, "s3", "gone", LONG_TTL_MS, 1)).kind).toBe("pinned");
        expect(await a.touch(svc, "s1", LONG_TTL_MS)).toEqual({ backendId: "gone" });
        expect(await a.countByBackend(svc)).toEqual(
          new Map([
            ["gone", 2],
            ["stays", 1],
          ]),
        );
        expect(await a.end(svc, "s1")).toBe("gone");
        expect(await a.countByBackend(svc)).toEqual(
          new Map([
            ["gone", 1],
            ["stays", 1],
          ]),
        );
      }),
    );

    it(
      "P7 bad arguments are rejected with the argument named",
      run(async (h, svc) => {
        const [a] = two(h);
        await expect(a.pin(svc, "s", "b", 0, 1)).rejects.toThrow(/idleTtlMs/);
        await expect(a.pin(svc, "s", "b", 1.5, 1)).rejects.toThrow(/idleTtlMs/);
        await expect(a.pin(svc, "s", "b", 1_000, -1)).rejects.toThrow(/maxPinsPerBackend/);
        await expect(a.touch(svc, "s", 0)).rejects.toThrow(/idleTtlMs/);
        expect(await a.get(svc, "s")).toBeUndefined();
      }),
    );
  });
}
