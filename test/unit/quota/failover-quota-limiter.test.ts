import { describe, expect, it } from "vitest";
import type { QuotaLimitSpec } from "../../../src/model/specs.js";
import { FailoverQuotaLimiter, LOCAL_ORIGIN } from "../../../src/quota/failover-quota-limiter.js";
import type { QuotaLimiter } from "../../../src/quota/quota-limiter.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryQuotaLimiter } from "../../../src/store/memory/memory-quota-limiter.js";
import { describeQuotaLimiterContract } from "./quota-limiter-contract.js";

/** A limiter that rejects every call while `down` is set, like a Redis limiter with Redis away. */
function switchable(inner: QuotaLimiter): QuotaLimiter & { down: boolean; calls: number } {
  const target = { down: false, calls: 0 };
  return new Proxy(inner, {
    get(object, name, receiver) {
      if (name === "down" || name === "calls") return target[name];
      const value = Reflect.get(object, name, receiver);
      if (typeof value !== "function") return value;
      return (...args: unknown[]) => {
        target.calls++;
        return target.down ? Promise.reject(new Error("redis down")) : value.apply(object, args);
      };
    },
    set(_object, name, value) {
      if (name === "down") target.down = value;
      return true;
    },
  }) as QuotaLimiter & { down: boolean; calls: number };
}

const RPM: QuotaLimitSpec = {
  dimension: "requests",
  limit: 9,
  windowMs: 60_000,
  algorithm: "fixed_window",
  buckets: 6,
};
const KEY = { service: "llm", backendId: "a" };

describeQuotaLimiterContract("FailoverQuotaLimiter (primary up)", () => ({
  limiter: new FailoverQuotaLimiter({
    primary: new MemoryQuotaLimiter(),
    local: new MemoryQuotaLimiter(),
    localShare: 0.5,
  }),
}));

describe("FailoverQuotaLimiter (Q6 degraded)", () => {
  it("Q6: with the primary down, each of N replicas admits its 1/N share, so together they stay within the limit", async () => {
    const clock = new ManualClock(1_700_000_040_000);
    const shared = new MemoryQuotaLimiter();
    const errors: unknown[] = [];
    const replicas = [0, 1, 2].map(() => {
      const primary = switchable(shared);
      primary.down = true;
      return new FailoverQuotaLimiter({
        primary,
        local: new MemoryQuotaLimiter(),
        localShare: 1 / 3,
        onPrimaryError: (e) => errors.push(e),
      });
    });
    let admitted = 0;
    for (let i = 0; i < 10; i++)
      for (const replica of replicas) if ((await replica.reserve(KEY, [RPM], {}, clock.now())).ok) admitted++;
    expect(admitted).toBe(9);
    expect(errors.length).toBe(3); // one failure each, then they leave the primary alone
    expect(replicas[0]!.degraded(clock.now())).toBe(true);
  });

  it("Q6: local reservations settle locally; the primary is tried again after retryPrimaryAfterMs", async () => {
    const clock = new ManualClock(1_700_000_040_000);
    const primary = switchable(new MemoryQuotaLimiter());
    const limiter = new FailoverQuotaLimiter({
      primary,
      local: new MemoryQuotaLimiter(),
      retryPrimaryAfterMs: 500,
    });
    primary.down = true;
    const local = await limiter.reserve(KEY, [RPM], {}, clock.now());
    if (!local.ok) throw new Error("expected ok");
    expect(local.reservation.origin).toBe(LOCAL_ORIGIN);
    const calls = primary.calls;
    expect((await limiter.release(local.reservation, clock.now())).status!.dimensions.requests!.usage).toBe(
      0,
    );
    expect(primary.calls).toBe(calls);
    primary.down = false;
    clock.advance(499);
    expect((await limiter.reserve(KEY, [RPM], {}, clock.now())).ok && primary.calls).toBe(calls);
    clock.advance(1);
    const shared = await limiter.reserve(KEY, [RPM], {}, clock.now());
    expect(shared.ok && shared.reservation.origin).toBeUndefined();
    expect(primary.calls).toBe(calls + 1);
  });

  it("Q6: the primary is left alone for retryPrimaryAfterMs from when its failure was seen, not from the call's start", async () => {
    const clock = new ManualClock(1_700_000_040_000);
    const stalled = switchable(new MemoryQuotaLimiter());
    // A stalled Redis fails a call only at its command timeout: the failure comes 1 s late.
    const primary = new Proxy(stalled, {
      get(object, name, receiver) {
        const value = Reflect.get(object, name, receiver);
        if (name !== "reserve" || typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (object.down) clock.advance(1_000);
          return value.apply(object, args);
        };
      },
    });
    const limiter = new FailoverQuotaLimiter({
      primary,
      local: new MemoryQuotaLimiter(),
      retryPrimaryAfterMs: 1_000,
      clock,
    });
    stalled.down = true;
    const first = await limiter.reserve(KEY, [RPM], {}, clock.now());
    expect(first.ok && first.reservation.origin).toBe(LOCAL_ORIGIN);
    const calls = stalled.calls;
    clock.advance(999);
    const second = await limiter.reserve(KEY, [RPM], {}, clock.now());
    expect(second.ok && second.reservation.origin).toBe(LOCAL_ORIGIN);
    expect(stalled.calls).toBe(calls);
    clock.advance(1);
    await limiter.reserve(KEY, [RPM], {}, clock.now());
    expect(stalled.calls).toBe(calls + 1);
  });

  it("Q4 Q6: a mark holds through a failover; settling on a dead primary is skipped, not thrown", async () => {
    const clock = new ManualClock(1_700_000_040_000);
    const primary = switchable(new MemoryQuotaLimiter());
    const limiter = new FailoverQuotaLimiter({ primary, local: new MemoryQuotaLimiter() });
    const r = await limiter.reserve(KEY, [RPM], {}, clock.now());
    if (!r.ok) throw new Error("expected ok");
    await limiter.markExhausted(KEY, clock.now() + 5_000, clock.now());
    primary.down = true;
    expect(await limiter.trueUp(r.reservation, { requests: 1, other: 2 }, clock.now())).toEqual({
      status: undefined,
      ignored: ["other"],
    });
    expect(await limiter.reserve(KEY, [RPM], {}, clock.now())).toMatchObject({ ok: false, reason: "marked" });
  });

  it("rejects a local share outside (0, 1]", () => {
    const m = new MemoryQuotaLimiter();
    expect(() => new FailoverQuotaLimiter({ primary: m, local: m, localShare: 0 })).toThrow(/localShare/);
  });
});
