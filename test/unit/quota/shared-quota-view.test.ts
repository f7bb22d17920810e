/** The quota view's cache keys and which statuses it takes for a backend (docs/state.md). */
import { describe, expect, it } from "vitest";
import { newBackendState } from "../../../src/balancer/backend-state.js";
import type { L2Record, L2Store } from "../../../src/cache/ports.js";
import { createTieredCache } from "../../../src/cache/tiered-cache.js";
import { markedStatus } from "../../../src/quota/aged-status.js";
import type { QuotaStatus } from "../../../src/quota/quota-status.js";
import {
  parseQuotaViewKey,
  quotaViewKey,
  SharedQuotaView,
  statusFits,
} from "../../../src/quota/shared-quota-view.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { spec as backendSpec } from "../balancer/fixtures.js";

const spec = (dimension: string, limit: number) => ({
  dimension,
  limit,
  windowMs: 60_000,
  algorithm: "sliding_window" as const,
  buckets: 6,
});
const status = (limits: Record<string, number>) => ({
  atMs: 1_000,
  markedForMs: 0,
  dimensions: Object.fromEntries(
    Object.entries(limits).map(([name, limit]) => [
      name,
      { limit, usage: 0, remaining: limit, recovery: { kind: "steps" as const, steps: [] } },
    ]),
  ),
});

describe("the quota view's keys and statuses", () => {
  it("keys name (service, backend) whatever characters they hold, and parse back", () => {
    for (const [service, backendId] of [
      ["pay", "a"],
      ["a:b", "c"],
      ["a", "b:c"],
      ["", "x"],
    ] as const) {
      expect(parseQuotaViewKey(quotaViewKey(service, backendId))).toEqual({ service, backendId });
    }
    expect(quotaViewKey("a:b", "c")).not.toBe(quotaViewKey("a", "b:c"));
    expect(parseQuotaViewKey("x:y")).toBeUndefined();
    expect(parseQuotaViewKey("9:short")).toBeUndefined();
  });

  it("Q1 a status counts only under the limits it was taken with", () => {
    const limits = [spec("requests", 10), spec("tokens", 500)];
    expect(statusFits(status({ requests: 10, tokens: 500 }), limits)).toBe(true);
    expect(statusFits(status({ requests: 5, tokens: 500 }), limits)).toBe(false);
    expect(statusFits(status({ requests: 10 }), limits)).toBe(false);
  });

  it("Q4 a mark is kept on the aged status and never shortened", () => {
    const marked = markedStatus(status({ requests: 10 }), 31_000, 11_000);
    expect(marked).toMatchObject({ atMs: 11_000, markedForMs: 20_000 });
    expect(markedStatus(marked, 21_000, 11_000).markedForMs).toBe(20_000);
    expect(markedStatus(undefined, 5_000, 1_000)).toEqual({
      atMs: 1_000,
      markedForMs: 4_000,
      dimensions: {},
    });
  });
});

describe("the quota view read through the tiered cache", () => {
  it("a Redis read that a quota script's result overtook is not applied over it; one not overtaken is", async () => {
    const answers = new Map<string, (record: L2Record | undefined) => void>();
    const slowL2: L2Store = {
      get: (key) => new Promise((resolve) => answers.set(key, resolve)),
      set: async () => {},
      delete: async () => false,
    };
    const cache = createTieredCache<QuotaStatus>({
      namespace: "quotaView",
      clock: new ManualClock(),
      l2: slowL2,
    });
    const view = new SharedQuotaView(cache);
    const [overtaken, plain] = ["a", "b"].map((id) =>
      newBackendState(backendSpec(id, { quotas: [spec("requests", 10)] }), "healthy", 0),
    );
    const applied: [string, number][] = [];
    const reading = view.readThrough("svc", [overtaken!, plain!], (b, s) =>
      applied.push([b.spec.id, s.atMs]),
    );
    view.fill("svc", overtaken!, { ...status({ requests: 10 }), atMs: 900 });
    const older = JSON.stringify({ ...status({ requests: 10 }), atMs: 500 });
    for (const [key, answer] of answers) answer({ key, value: older, expiresAt: 0 });
    await reading;
    expect(applied).toEqual([["b", 500]]);
  });
});
