import { describe, expect, it } from "vitest";
import type { QuotaLimitSpec } from "../../../src/model/specs.js";
import { EstimateMargins, MAX_MARGIN_SERVICES } from "../../../src/quota/estimate-margin.js";
import type { Reservation } from "../../../src/quota/quota-limiter.js";

const spec = (dimension: string): QuotaLimitSpec => ({
  dimension,
  limit: 6_000,
  windowMs: 3_000,
  algorithm: "sliding_window",
  buckets: 60,
});

/** A reservation of `tokens` (and one request) on one backend of `service`. */
function reserved(service: string, tokens: number): Reservation {
  return {
    key: { service, backendId: "k1" },
    atMs: 0,
    dimensions: [
      { spec: spec("requests"), amount: 1, usageAfter: 1 },
      { spec: spec("tokens"), amount: tokens, usageAfter: tokens },
    ],
  };
}

const settings = { mode: "learned", quantile: 0.9, cap: 2, samples: 10 } as const;

describe("estimate margins", () => {
  it("Q10: the factor is the quantile of the last real / estimate ratios, at least 1 and at most the cap", () => {
    const margins = new EstimateMargins(settings);
    expect(margins.marginOf("llm")).toBeUndefined();
    // Ratios 1.0, 1.1, ..., 1.9: the 9th of 10 is 1.8.
    for (let i = 0; i < 10; i++) margins.observe("llm", reserved("llm", 100), { tokens: 100 + 10 * i });
    expect(margins.marginOf("llm")?.tokens).toBeCloseTo(1.8);
    // Usage without a dimension teaches nothing about it.
    expect(margins.marginOf("llm")?.requests).toBeUndefined();
    // Ten calls over three times their estimate replace the ring: the cap holds.
    for (let i = 0; i < 10; i++) margins.observe("llm", reserved("llm", 100), { tokens: 300 });
    expect(margins.marginOf("llm")?.tokens).toBe(2);
    // Ten overestimates: never below 1.
    for (let i = 0; i < 10; i++) margins.observe("llm", reserved("llm", 100), { tokens: 40, requests: 1 });
    expect(margins.marginOf("llm")).toEqual({ tokens: 1, requests: 1 });
  });

  it("Q10: an estimate of 0 or a usage that is not a count teaches nothing; off learns nothing", () => {
    const margins = new EstimateMargins(settings);
    margins.observe("llm", reserved("llm", 0), { tokens: 500 });
    margins.observe("llm", reserved("llm", 100), { tokens: Number.NaN });
    margins.observe("llm", reserved("llm", 100), { tokens: -3 });
    expect(margins.marginOf("llm")).toBeUndefined();
    const off = new EstimateMargins({ ...settings, mode: "off" });
    off.observe("llm", reserved("llm", 100), { tokens: 300 });
    expect(off.marginOf("llm")).toBeUndefined();
  });

  it("Q10: factors are kept for a bounded number of services, the first learned forgotten first", () => {
    const margins = new EstimateMargins(settings);
    for (let i = 0; i <= MAX_MARGIN_SERVICES; i++)
      margins.observe(`s${i}`, reserved(`s${i}`, 100), { tokens: 150 });
    expect(margins.marginOf("s0")).toBeUndefined();
    expect(margins.marginOf("s1")?.tokens).toBe(1.5);
    expect(margins.marginOf(`s${MAX_MARGIN_SERVICES}`)?.tokens).toBe(1.5);
  });
});
