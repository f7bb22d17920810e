import { describe, expect, it } from "vitest";
import { DEFAULT_PIN_ATTEMPTS, establishPin } from "../../../src/sessions/establish-pin.js";
import {
  hasPinRoom,
  type PinCandidate,
  pinCapacityFilter,
  pinLimit,
} from "../../../src/sessions/pin-capacity.js";
import type { PinStore } from "../../../src/sessions/pin-store.js";
import { SESSION_REASONS } from "../../../src/sessions/session-refusals.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryPinStore } from "../../../src/store/memory/memory-pin-store.js";

const TTL = 60_000;

/** A round-robin-ish pick: the first candidate `accept` keeps, in order. */
const firstOf =
  (candidates: readonly PinCandidate[]) =>
  (accept: (c: PinCandidate) => boolean): PinCandidate | undefined =>
    candidates.find(accept);

describe("P6 pin capacity", () => {
  it("P6 a backend holds at most max_connections - 1 pins; 0 means unlimited", () => {
    expect(pinLimit(0)).toBe(Number.POSITIVE_INFINITY);
    expect(pinLimit(1)).toBe(0);
    expect(pinLimit(2)).toBe(1);
    expect(pinLimit(100)).toBe(99);
  });

  it("P6 hasPinRoom and pinCapacityFilter keep backends below their limit", () => {
    const counts = new Map([
      ["a", 2],
      ["b", 1],
      ["u", 1_000_000],
    ]);
    const a = { id: "a", maxConnections: 3 };
    const b = { id: "b", maxConnections: 3 };
    const c = { id: "c", maxConnections: 1 };
    const u = { id: "u", maxConnections: 0 };
    expect(hasPinRoom(a, counts)).toBe(false);
    expect(hasPinRoom(b, counts)).toBe(true);
    expect([a, b, c, u].filter(pinCapacityFilter(counts)).map((x) => x.id)).toEqual(["b", "u"]);
  });

  it("P6 the store holds the limit: the limit-th pin is refused, one slot stays for per-command traffic", async () => {
    const store = new MemoryPinStore({ clock: new ManualClock() });
    const limit = pinLimit(3);
    expect((await store.pin("svc", "s1", "a", TTL, limit)).kind).toBe("pinned");
    expect((await store.pin("svc", "s2", "a", TTL, limit)).kind).toBe("pinned");
    expect(await store.pin("svc", "s3", "a", TTL, limit)).toEqual({
      kind: "capacity",
      backendId: "a",
      limit: 2,
    });
    expect((await store.countByBackend("svc")).get("a")).toBe(2);
  });

  it("P6 at the cap the switch picks another backend", async () => {
    const store = new MemoryPinStore({ clock: new ManualClock() });
    const backends = [
      { id: "a", maxConnections: 2 },
      { id: "b", maxConnections: 2 },
    ];
    const pick = firstOf(backends);
    const first = await establishPin({ store, service: "svc", sessionId: "s1", idleTtlMs: TTL, pick });
    const second = await establishPin({ store, service: "svc", sessionId: "s2", idleTtlMs: TTL, pick });
    expect(first).toMatchObject({ kind: "pinned", backend: { id: "a" } });
    expect(second).toMatchObject({ kind: "pinned", backend: { id: "b" } });
  });

  it("P6 when every backend is full the switch fails with PIN_CAPACITY", async () => {
    const store = new MemoryPinStore({ clock: new ManualClock() });
    const pick = firstOf([{ id: "a", maxConnections: 2 }]);
    await establishPin({ store, service: "svc", sessionId: "s1", idleTtlMs: TTL, pick });
    const outcome = await establishPin({ store, service: "svc", sessionId: "s2", idleTtlMs: TTL, pick });
    expect(outcome.kind).toBe("capacity");
    if (outcome.kind !== "capacity") return;
    expect(outcome.refusal.kind).toBe("session_refused");
    expect(outcome.refusal.reason).toBe(SESSION_REASONS.pinCapacity);
    expect(outcome.refusal.message).toContain("max_connections - 1");
  });

  it("P6 a backend with max_connections 1 never takes a pin", async () => {
    const store = new MemoryPinStore({ clock: new ManualClock() });
    const pick = firstOf([{ id: "a", maxConnections: 1 }]);
    const outcome = await establishPin({ store, service: "svc", sessionId: "s1", idleTtlMs: TTL, pick });
    expect(outcome.kind).toBe("capacity");
  });

  it("P6 when the store refuses (another replica filled it after the counts were read) the next backend is tried", async () => {
    const inner = new MemoryPinStore({ clock: new ManualClock() });
    const stale: PinStore = { ...bindAll(inner), countByBackend: async () => new Map() };
    await inner.pin("svc", "other", "a", TTL, 1);
    const pick = firstOf([
      { id: "a", maxConnections: 2 },
      { id: "b", maxConnections: 2 },
    ]);
    const outcome = await establishPin({
      store: stale,
      service: "svc",
      sessionId: "s1",
      idleTtlMs: TTL,
      pick,
    });
    expect(outcome).toMatchObject({ kind: "pinned", backend: { id: "b" } });
  });

  it("P6 attempts are bounded by maxAttempts", async () => {
    const inner = new MemoryPinStore({ clock: new ManualClock() });
    const stale: PinStore = { ...bindAll(inner), countByBackend: async () => new Map() };
    const backends = Array.from({ length: DEFAULT_PIN_ATTEMPTS + 1 }, (_, i) => ({
      id: `b${i}`,
      maxConnections: 2,
    }));
    for (const b of backends) await inner.pin("svc", `filler-${b.id}`, b.id, TTL, 1);
    let picks = 0;
    const outcome = await establishPin({
      store: stale,
      service: "svc",
      sessionId: "s1",
      idleTtlMs: TTL,
      pick: (accept) => {
        picks++;
        return backends.find(accept);
      },
    });
    expect(outcome.kind).toBe("capacity");
    expect(picks).toBe(DEFAULT_PIN_ATTEMPTS);
  });

  it("P6 no candidate at all (not for capacity) answers none, for the caller's UNAVAILABLE", async () => {
    const store = new MemoryPinStore({ clock: new ManualClock() });
    const outcome = await establishPin({
      store,
      service: "svc",
      sessionId: "s1",
      idleTtlMs: TTL,
      pick: () => undefined,
    });
    expect(outcome).toEqual({ kind: "none" });
  });

  it("P2 P4 a session pinned by another replica first keeps that pin (existing)", async () => {
    const store = new MemoryPinStore({ clock: new ManualClock() });
    await store.pin("svc", "s1", "b", TTL, 10);
    const pick = firstOf([{ id: "a", maxConnections: 0 }]);
    const outcome = await establishPin({ store, service: "svc", sessionId: "s1", idleTtlMs: TTL, pick });
    expect(outcome).toEqual({ kind: "existing", backendId: "b" });
  });

  it("P5 a re-pin never picks the lost backend and moves the pin and its count", async () => {
    const store = new MemoryPinStore({ clock: new ManualClock() });
    await store.pin("svc", "s1", "a", TTL, 10);
    const pick = firstOf([
      { id: "a", maxConnections: 0 },
      { id: "b", maxConnections: 0 },
    ]);
    const outcome = await establishPin({
      store,
      service: "svc",
      sessionId: "s1",
      idleTtlMs: TTL,
      replacing: "a",
      pick,
    });
    expect(outcome).toMatchObject({ kind: "pinned", backend: { id: "b" }, previousBackendId: "a" });
    expect(await store.countByBackend("svc")).toEqual(new Map([["b", 1]]));
  });
});

function bindAll(store: PinStore): PinStore {
  return {
    get: store.get.bind(store),
    pin: store.pin.bind(store),
    touch: store.touch.bind(store),
    end: store.end.bind(store),
    countByBackend: store.countByBackend.bind(store),
    releaseBackend: store.releaseBackend.bind(store),
  };
}
