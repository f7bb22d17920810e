import { describe, expect, it } from "vitest";
import type { QuotaLimitSpec } from "../../../src/model/specs.js";
import { MemoryQuotaLimiter } from "../../../src/store/memory/memory-quota-limiter.js";
import { describeQuotaLimiterContract } from "./quota-limiter-contract.js";

describeQuotaLimiterContract("MemoryQuotaLimiter", () => {
  const limiter = new MemoryQuotaLimiter();
  return {
    limiter,
    // Every memory entry carries an expiry; the sweep drops it once passed.
    stored: async () => ({ count: limiter.size(), withoutExpiry: 0 }),
  };
});

describe("MemoryQuotaLimiter", () => {
  const rpm: QuotaLimitSpec = {
    dimension: "requests",
    limit: 5,
    windowMs: 1_000,
    algorithm: "sliding_window",
    buckets: 6,
  };
  const key = { service: "s", backendId: "b" };

  it("O2: sweeping at a later now drops every state and mark that stopped mattering", async () => {
    const limiter = new MemoryQuotaLimiter({ sweepEveryOps: 1_000_000 });
    const now = 1_700_000_000_000;
    await limiter.reserve(key, [rpm], {}, now);
    await limiter.markExhausted(key, now + 500, now);
    expect(limiter.size()).toBe(2);
    // The charge sits in the bucket after now's (166.67 ms each), which leaves the 1 s window at now + 1,167.
    limiter.sweep(now + 1_166);
    expect(limiter.size()).toBe(1);
    limiter.sweep(now + 1_167);
    expect(limiter.size()).toBe(0);
  });

  it("O2: the sweep runs by itself every sweepEveryOps operations", async () => {
    const limiter = new MemoryQuotaLimiter({ sweepEveryOps: 4 });
    const now = 1_700_000_000_000;
    for (let i = 0; i < 3; i++) await limiter.reserve({ service: "s", backendId: `b${i}` }, [rpm], {}, now);
    expect(limiter.size()).toBe(3);
    await limiter.remaining(key, [rpm], now + 10_000);
    expect(limiter.size()).toBe(0);
  });
});
