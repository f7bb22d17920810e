/**
 * Every duration has a maximum a Node timer honours (2^31 - 1 ms), checked
 * with the field's name, and the system clock chains a longer delay instead of firing it early.
 */
import { afterEach, describe, expect, it, vi } from "vitest";
import { loadConfig } from "../../../src/config/load-config.js";
import { DEFAULT_REGISTRY_LIMITS } from "../../../src/model/limits.js";
import { Violations } from "../../../src/model/violations.js";
import { MAX_TIMER_MS, systemClock } from "../../../src/shared/clock.js";
import { FulcrumError } from "../../../src/shared/errors.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { MemoryRegistryLog } from "../../../src/store/memory/memory-registry-log.js";
import { wiredRegistry } from "./wiring.js";

const DAY_MS = 86_400_000;

function registry() {
  return wiredRegistry({
    clock: new ManualClock(),
    limits: DEFAULT_REGISTRY_LIMITS,
    log: new MemoryRegistryLog(),
    onEvent: () => {},
    onBackgroundError: (message: string) => {
      throw new Error(message);
    },
  }).registry;
}

async function rejection(call: () => Promise<unknown>): Promise<FulcrumError> {
  const error = await call().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(FulcrumError);
  return error as FulcrumError;
}

describe("duration maxima", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("the duration validator takes up to 2^31 - 1 ms and names the field past it", () => {
    const v = new Violations();
    expect(v.duration("config.health.probe_interval", MAX_TIMER_MS, 5)).toBe(MAX_TIMER_MS);
    expect(v.empty).toBe(true);
    expect(v.duration("config.health.probe_interval", MAX_TIMER_MS + 1, 5)).toBe(5);
    expect(() => v.throwIfAny()).toThrow(
      /^config\.health\.probe_interval: must be a duration from 0 to 2147483647 ms/,
    );
  });

  it("R5 R6 H5 Register and Deregister refuse a 30-day interval, lease and drain timeout, naming each field", async () => {
    const r = registry();
    await r.start();
    const month = 30 * DAY_MS;
    const register = await rejection(() =>
      r.register({
        service: "long",
        mode: "replace",
        config: undefined,
        backends: [
          {
            id: "b0",
            address: "10.0.0.1:80",
            leaseTtlMs: month,
            healthCheck: { probe: { kind: "tcp" }, intervalMs: month },
          },
        ],
      }),
    );
    expect(register.code).toBe("invalid_argument");
    expect(register.detail.violations?.map((x) => x.field).sort()).toEqual([
      "backends[0].health_check.interval",
      "backends[0].lease_ttl",
    ]);
    expect(r.names()).toEqual([]);

    await r.register({
      service: "long",
      mode: "replace",
      config: undefined,
      backends: [{ id: "b0", address: "10.0.0.1:80" }],
    });
    const drain = await rejection(() => r.deregister("long", ["b0"], true, month));
    expect(drain.detail.violations?.map((x) => x.field)).toEqual(["drain_timeout"]);
    expect(r.get("long").backends.map((b) => b.draining)).toEqual([false]);
  });

  it("O3 config durations past 2^31 - 1 ms stop the server naming the setting", () => {
    expect(() => loadConfig({ env: { FULCRUM_WATCH_HEARTBEAT_MS: String(2 ** 31) } })).toThrow(
      /watch\.heartbeatMs/,
    );
    expect(() => loadConfig({ env: { FULCRUM_SHUTDOWN_DEADLINE_MS: String(30 * DAY_MS) } })).toThrow(
      /shutdownDeadlineMs/,
    );
    expect(loadConfig({ env: { FULCRUM_WATCH_HEARTBEAT_MS: String(MAX_TIMER_MS) } }).watch.heartbeatMs).toBe(
      MAX_TIMER_MS,
    );
  });

  it("O2 the system clock runs a 30-day timer after 30 days, never early", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    systemClock.setTimeout(fired, 30 * DAY_MS);
    vi.advanceTimersByTime(1);
    vi.advanceTimersByTime(29 * DAY_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(DAY_MS - 1);
    expect(fired).toHaveBeenCalledTimes(1);
  });

  it("O2 a chained timer is cancelled by clearTimeout at any point of the chain", () => {
    vi.useFakeTimers();
    const fired = vi.fn();
    const handle = systemClock.setTimeout(fired, 60 * DAY_MS);
    vi.advanceTimersByTime(40 * DAY_MS);
    systemClock.clearTimeout(handle);
    vi.advanceTimersByTime(30 * DAY_MS);
    expect(fired).not.toHaveBeenCalled();
  });
});
