/**
 * One structured log line per operational event: health transition, drain,
 * lease expiry and quota exhaustion, read from the real server's pino output.
 */
import { Writable } from "node:stream";
import pino from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";
import type { App } from "../../src/app/create-app.js";
import { ManualClock } from "../../src/shared/manual-clock.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";

let app: App | undefined;
afterEach(() => app?.close());

describe("operational log lines", () => {
  it("one JSON line per health transition, drain start, lease expiry and quota exhaustion", async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        for (const line of String(chunk).split("\n")) if (line) lines.push(JSON.parse(line));
        done();
      },
    });
    const clock = new ManualClock(Date.now());
    app = await startFulcrum({}, { clock, logger: pino({ level: "info" }, sink) });
    const { registry, balancer } = grpcTransportClients(app.grpcPort);
    await registry.register({
      service: "ops",
      backends: [
        { id: "a", address: "10.0.0.1:80" },
        { id: "b", address: "10.0.0.2:80" },
        { id: "leased", address: "10.0.0.3:80", leaseTtl: { seconds: 10n } },
        {
          id: "metered",
          address: "10.0.0.4:80",
          quotas: [{ dimension: "requests", limit: 1, window: { seconds: 60n } }],
        },
      ],
    });
    await registry.setHealth({
      service: "ops",
      backendId: "a",
      health: HealthState.UNHEALTHY,
      reason: "disk",
    });
    await registry.deregister({
      service: "ops",
      backendIds: ["b"],
      drain: true,
      drainTimeout: { seconds: 60n },
    });
    await balancer.select({ service: "ops", labels: {}, exclude: ["leased"] });
    await balancer.select({ service: "ops", exclude: ["leased"] }).catch(() => undefined);
    clock.advance(11_000);
    const of = (event: string) => lines.filter((line) => line.event === event);
    await eventually(async () => (of("lease_expired").length === 1 ? true : undefined));
    expect(of("health_transition")).toEqual([
      expect.objectContaining({
        service: "ops",
        backend: "a",
        previous: "healthy",
        current: "unhealthy",
        reason: "disk",
      }),
    ]);
    expect(of("drain_started")).toEqual([expect.objectContaining({ service: "ops", backend: "b" })]);
    expect(of("lease_expired")[0]).toMatchObject({
      service: "ops",
      backend: "leased",
      reason: "lease_expired",
    });
    expect(of("quota_exhausted")).toEqual([
      expect.objectContaining({ service: "ops", backend: "metered", dimension: "requests" }),
    ]);
  });
});
