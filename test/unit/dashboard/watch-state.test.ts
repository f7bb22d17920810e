import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { healthyCount, inMaintenance, WatchState } from "../../../dashboard/src/watch-state.js";
import { WatchResponseSchema } from "../../../gen/fulcrum/v1/balancer_pb.js";
import { BackendStatusSchema, HealthState, ServiceStatusSchema } from "../../../gen/fulcrum/v1/types_pb.js";

const backend = (id: string, health = HealthState.HEALTHY, draining = false) =>
  create(BackendStatusSchema, { backend: { id, address: `${id}:1` }, health, draining });

function snapshot(version: bigint, ids: string[]) {
  return create(WatchResponseSchema, {
    service: "db",
    version,
    event: {
      case: "snapshot",
      value: create(ServiceStatusSchema, { name: "db", version, backends: ids.map((id) => backend(id)) }),
    },
  });
}

describe("dashboard watch state", () => {
  it("O9: follows Watch deltas and resumes from the last version applied", () => {
    const state = new WatchState();
    state.apply(snapshot(3n, ["a", "b"]));
    state.apply(
      create(WatchResponseSchema, {
        service: "db",
        version: 4n,
        event: { case: "backendAdded", value: backend("c") },
      }),
    );
    state.apply(
      create(WatchResponseSchema, {
        service: "db",
        version: 5n,
        event: {
          case: "healthChanged",
          value: { backendId: "a", current: HealthState.UNHEALTHY, reason: "maintenance" },
        },
      }),
    );
    const note = state.apply(
      create(WatchResponseSchema, {
        service: "db",
        version: 6n,
        event: { case: "backendUpdated", value: backend("b", HealthState.HEALTHY, true) },
      }),
    );
    expect(note?.text).toBe("b draining");
    const db = state.services.get("db")!;
    expect(healthyCount(db)).toBe(1);
    expect(inMaintenance(db.backends.get("a")!)).toBe(true);
    expect(state.resumeVersions()).toEqual({ db: 6n });
    state.apply(
      create(WatchResponseSchema, {
        service: "db",
        version: 0n,
        event: { case: "serviceRemoved", value: {} },
      }),
    );
    expect(state.services.size).toBe(0);
  });

  it("O9: GetService figures are kept beside Watch's view and survive a new snapshot", () => {
    const state = new WatchState();
    state.apply(snapshot(1n, ["a"]));
    const figures = create(BackendStatusSchema, { backend: { id: "a" }, inFlight: 7, selections: 42n });
    state.applyFigures(create(ServiceStatusSchema, { name: "db", backends: [figures] }));
    state.apply(snapshot(2n, ["a"]));
    expect(state.services.get("db")!.backends.get("a")!.figures?.inFlight).toBe(7);
  });
});
