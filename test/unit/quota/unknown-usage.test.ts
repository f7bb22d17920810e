import { describe, expect, it } from "vitest";
import type { QuotaLimitSpec } from "../../../src/model/specs.js";
import { unknownUsage } from "../../../src/quota/quota-cost.js";
import type { Reservation } from "../../../src/quota/quota-limiter.js";

const requests: QuotaLimitSpec = {
  dimension: "requests",
  limit: 10,
  windowMs: 3_000,
  algorithm: "sliding_window",
  buckets: 10,
};

/** One request reserved by a Select at `selectMs`, its atMs lagged by `lagMs`, 4 held right after. */
function reservation(selectMs: number, lagMs: number): Reservation {
  return {
    key: { service: "s", backendId: "a" },
    atMs: selectMs + lagMs,
    dimensions: [{ spec: requests, amount: 1, usageAfter: 4 }],
  };
}

describe("unknown usage in an upstream's remaining", () => {
  it("Q9: the excess is what the upstream counted beyond what Fulcrum held, held as long as the call was in flight from its Select", () => {
    // Fulcrum held 4 with this call; the upstream says 3 remain of 10: it counted 7, so 3 unknown.
    const report = { usage: { requests: 1 }, remaining: { requests: 3 } };
    const held = unknownUsage(reservation(1_000, 50), report, 250, 50, 3_000);
    expect(held.units).toEqual({ requests: 3 });
    // Select at 1 s, Report at 3 s: 2 s in flight, whatever the lag that names the charged bucket.
    expect(held.holdMs).toBe(2_000);
    // A quick call holds the floor.
    expect(unknownUsage(reservation(2_900, 50), report, 250, 50, 3_000).holdMs).toBe(250);
    // Nothing beyond what Fulcrum held: nothing to hold.
    expect(
      unknownUsage(reservation(1_000, 50), { ...report, remaining: { requests: 6 } }, 250, 50, 3_000).units,
    ).toEqual({});
  });
});
