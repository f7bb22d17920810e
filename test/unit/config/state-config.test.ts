import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";
import { collectStateFlag } from "../../../src/config/state-flags.js";
import { failureModeOf } from "../../../src/config/state-schema.js";

function rejection(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("state.<kind> settings (O3, C5)", () => {
  it("defaults keep the earlier behaviour: pins fail with error, quota falls back to the local share, facts l1Only", () => {
    const { state } = loadConfig();
    expect(state.pins).toEqual({ failureMode: "error", attempts: 3, l1MaxEntries: 100_000, l1TtlMs: 0 });
    expect(state.quota).toEqual({ failureMode: "l1Only", attempts: 3, l1TtlMs: 1_000 });
    expect(state.negative).toMatchObject({
      failureMode: "l1Only",
      readPolicy: "sequential",
      refill: "always",
    });
    expect(state.quotaView).toEqual({
      failureMode: "l1Only",
      attempts: 3,
      readPolicy: "sequential",
      refill: "always",
      l1MaxEntries: 10_000,
      l1TtlMs: 0,
    });
  });

  it("file < env < flags, with --state kind.field=value", () => {
    const flags = [
      "pins.failureMode=retry",
      "pins.attempts=5",
      "quota.failureMode=error",
      "quotaView.l1TtlMs=500",
    ].reduce((previous, flag) => collectStateFlag(flag, previous), {});
    const config = loadConfig({
      env: { FULCRUM_STATE_PINS_FAILURE_MODE: "l1Only", FULCRUM_STATE_QUOTA_L1_TTL_MS: "250" },
      overrides: { state: flags },
    });
    expect(config.state.pins).toMatchObject({ failureMode: "retry", attempts: 5 });
    expect(config.state.quota).toMatchObject({ failureMode: "error", l1TtlMs: 250 });
    expect(config.state.quotaView.l1TtlMs).toBe(500);
    expect(failureModeOf(config.state.pins)).toEqual({ kind: "retry", attempts: 5 });
    expect(failureModeOf(config.state.quota)).toEqual({ kind: "error" });
  });

  it("bad values are refused with a message naming the field", () => {
    expect(rejection(() => loadConfig({ env: { FULCRUM_STATE_PINS_FAILURE_MODE: "sometimes" } }))).toContain(
      "state.pins.failureMode",
    );
    expect(rejection(() => loadConfig({ overrides: { state: { quota: { attempts: 0 } } } }))).toContain(
      "state.quota.attempts",
    );
    expect(rejection(() => loadConfig({ overrides: { state: { pins: { l1MaxEntries: -1 } } } }))).toContain(
      "state.pins.l1MaxEntries",
    );
    expect(rejection(() => loadConfig({ overrides: { state: { health: {} } } }))).toContain("state");
    expect(
      rejection(() => loadConfig({ overrides: { state: { negative: { readPolicy: "fastest" } } } })),
    ).toContain("state.negative.readPolicy");
    expect(rejection(() => loadConfig({ env: { FULCRUM_STATE_QUOTA_VIEW_REFILL: "sometimes" } }))).toContain(
      "state.quotaView.refill",
    );
    expect(
      rejection(() => loadConfig({ overrides: { state: { quotaView: { writePolicy: "race" } } } })),
    ).toContain("state.quotaView");
    expect(rejection(() => loadConfig({ overrides: { state: { quotaView: { l1TtlMs: -1 } } } }))).toContain(
      "state.quotaView.l1TtlMs",
    );
    expect(() => collectStateFlag("pins=l1Only")).toThrow("<kind>.<field>=<value>");
  });
});
