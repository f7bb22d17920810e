import { describe, expect, it } from "vitest";
import { newBackendState, totalInFlight } from "../../../src/balancer/backend-state.js";
import type { LiveService } from "../../../src/balancer/live-service.js";
import { LoadShare } from "../../../src/balancer/load-share.js";
import type { BackendSpec } from "../../../src/model/specs.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";

function setup() {
  const clock = new ManualClock();
  const spec = (id: string) =>
    ({ id, address: `${id}:1`, quotas: [], leaseTtlMs: 0 }) as unknown as BackendSpec;
  const backends = new Map(["b0", "b1"].map((id) => [id, newBackendState(spec(id), "healthy", clock.now())]));
  const entry = { name: "s", backends } as unknown as LiveService;
  const share = new LoadShare({
    replica: "me",
    clock,
    staleAfterMs: 3_000,
    find: (service) => (service === "s" ? entry : undefined),
    services: () => [entry],
  });
  return { clock, share, b0: backends.get("b0")!, b1: backends.get("b1")! };
}

describe("in-flight sharing between replicas", () => {
  it("reports only this replica's own non-zero counts", () => {
    const { share, b0 } = setup();
    b0.inFlight = 2;
    b0.remoteInFlight = 7;
    expect(share.report()).toEqual({ replica: "me", services: { s: { b0: 2 } } });
  });

  it("adds other replicas' counts, a new report replaces the old, and its own reports are ignored", () => {
    const { share, b0, b1 } = setup();
    b0.inFlight = 1;
    share.receive({ replica: "r2", services: { s: { b0: 3 } } });
    share.receive({ replica: "r3", services: { s: { b0: 1, b1: 4 } } });
    share.receive({ replica: "me", services: { s: { b0: 100 } } });
    expect([totalInFlight(b0), b1.remoteInFlight]).toEqual([5, 4]);
    share.receive({ replica: "r3", services: {} });
    expect([b0.remoteInFlight, b1.remoteInFlight]).toEqual([3, 0]);
  });

  it("a replica that stops reporting stops counting once its report is stale (virtual time)", () => {
    const { share, clock, b0 } = setup();
    share.receive({ replica: "r2", services: { s: { b0: 3 } } });
    clock.advance(3_000);
    share.expire();
    expect(b0.remoteInFlight).toBe(3);
    clock.advance(1);
    share.expire();
    expect(b0.remoteInFlight).toBe(0);
  });
});
