import { describe, expect, it } from "vitest";
import {
  isRetryable,
  RETRY_MAX_DELAY_MS,
  retryDelayMs,
  retrySchedule,
  runWithRetry,
  toL2Error,
} from "../../../src/cache/failure-mode.js";
import { L2Error, type L2ErrorKind } from "../../../src/cache/ports.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";
import { createSeededRandom } from "../../../src/shared/random.js";
import { flush, run, setup } from "./cache-harness.js";

describe("C4 refill", () => {
  it("C4 Never (default): an L2 hit is served but not copied into L1", async () => {
    const h = setup();
    expect(h.cache.options.refill).toBe("never");
    await h.peer().set("k", "v");
    expect(await h.cache.get("k")).toBe("v");
    expect(await h.cache.get("k")).toBe("v");
    expect(h.l2.calls.get).toBe(2);
    expect(h.cache.stats()).toMatchObject({ l1Size: 0, refills: 0 });
  });

  it("C4 Always: an L2 hit is written back to L1 with the same expiry", async () => {
    const h = setup({ refill: "always" });
    await h.peer().set("k", "v", { ttlMs: 5_000 });
    h.clock.advance(1_000);
    expect(await h.cache.get("k")).toBe("v");
    expect(await h.cache.get("k")).toBe("v");
    expect(h.l2.calls.get).toBe(1);
    expect(h.cache.stats().refills).toBe(1);
    h.clock.advance(3_999);
    expect(await h.cache.get("k")).toBe("v");
    h.l2.failAlways("get", "connection");
    h.clock.advance(1);
    expect(await h.cache.get("k")).toBeUndefined(); // the L1 copy expired with the L2 record's expiry
  });
});

describe("C5 failure modes", () => {
  it("C5 Retry: delays 25, 50, 100 ... capped at 1000 plus 0-25% jitter", () => {
    expect([1, 2, 3, 4, 5, 6, 7, 8].map((r) => retryDelayMs(r, 0))).toEqual([
      25, 50, 100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(retryDelayMs(1, 0.5)).toBe(28.125);
    expect(retryDelayMs(3, 0.999)).toBeCloseTo(124.975, 10);
    expect(retryDelayMs(20, 0.999)).toBeLessThan(RETRY_MAX_DELAY_MS * 1.25);
    const a = retrySchedule(4, createSeededRandom(1));
    const jitter = createSeededRandom(1);
    expect(a).toEqual([1, 2, 3].map((r) => retryDelayMs(r, jitter.next())));
    expect(retrySchedule(1, createSeededRandom(1))).toEqual([]);
  });

  it("C5 Retry: only connection and unknown errors are retried; other throws count as unknown", () => {
    const kinds: L2ErrorKind[] = ["connection", "timeout", "command", "corrupt", "unknown"];
    expect(kinds.filter((k) => isRetryable(new L2Error(k, k)))).toEqual(["connection", "unknown"]);
    expect(toL2Error(new TypeError("boom")).kind).toBe("unknown");
  });

  it("C5 Retry: waits exactly the schedule on the Clock between tries (count includes the first)", async () => {
    const clock = new ManualClock();
    const delays: number[] = [];
    const recording = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => {
        delays.push(ms);
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (handle: object) => clock.clearTimeout(handle),
    };
    let tries = 0;
    const call = runWithRetry(
      async () => {
        tries++;
        throw new L2Error("connection", "down");
      },
      {
        mode: { kind: "retry", attempts: 4 },
        clock: recording,
        random: createSeededRandom(3),
        onFailure: () => {},
      },
    );
    const failed = expect(call).rejects.toMatchObject({ kind: "connection" });
    await run(clock, 300, 5);
    await failed;
    expect(tries).toBe(4);
    expect(delays).toEqual(retrySchedule(4, createSeededRandom(3)));
    expect(delays.map(Math.floor)).toEqual([29, 50, 111]); // 25, 50, 100 plus jitter from seed 3
  });

  it("C5 Retry: a retried read succeeds on the third try", async () => {
    const h = setup({ failureMode: { kind: "retry", attempts: 3 } });
    await h.peer().set("k", "v");
    h.l2.failNext("get", "connection", "unknown");
    const read = h.cache.get("k");
    await run(h.clock, 200);
    expect(await read).toBe("v");
    expect(h.l2.calls.get).toBe(3);
    expect(h.cache.stats()).toMatchObject({ l2Retries: 2, l2Errors: 0 });
  });

  it("C5 Retry: a timeout is not retried and the read falls back to L1Only", async () => {
    const h = setup({ failureMode: { kind: "retry", attempts: 5 } });
    h.l2.failNext("get", "timeout");
    expect(await h.cache.get("k")).toBeUndefined();
    expect(h.l2.calls.get).toBe(1);
  });

  it("C5 Retry: after the last try it behaves as L1Only (write kept in L1)", async () => {
    const h = setup({ failureMode: { kind: "retry", attempts: 2 } });
    h.l2.failAlways("set", "connection");
    const write = h.cache.set("k", "v");
    await run(h.clock, 100);
    await expect(write).resolves.toBeUndefined();
    expect(h.l2.calls.set).toBe(2);
    expect(await h.cache.get("k")).toBe("v");
    expect(h.cache.stats()).toMatchObject({ l2Errors: 1, l2Retries: 1 });
  });

  it("C5 L1Only (default): logs, counts and emits the error, serves and writes L1", async () => {
    const h = setup();
    expect(h.cache.options.failureMode).toEqual({ kind: "l1Only" });
    h.l2.failAlways("set", "connection").failAlways("get", "connection");
    await h.cache.set("k", "v");
    expect(await h.cache.get("k")).toBe("v");
    expect(await h.cache.get("other")).toBeUndefined();
    await flush();
    expect(h.cache.stats().l2Errors).toBe(2);
    expect(h.logs.map((l) => l.operation)).toEqual(["set", "get"]);
    expect(h.events.filter((e) => e.type === "l2_error")).toHaveLength(2);
  });

  it("C5 Error: a read propagates the L2 error", async () => {
    const h = setup({ failureMode: { kind: "error" } });
    h.l2.failNext("get", "command");
    await expect(h.cache.get("k")).rejects.toMatchObject({ name: "L2Error", kind: "command" });
  });

  it("C5 Error: a write goes to L2 first and leaves L1 untouched when L2 fails", async () => {
    const h = setup({ failureMode: { kind: "error" } });
    await h.cache.set("k", "old");
    h.l2.failNext("set", "connection");
    await expect(h.cache.set("k", "new")).rejects.toMatchObject({ kind: "connection" });
    expect(await h.cache.get("k")).toBe("old");
    await flush();
    expect(h.events.filter((e) => e.type === "update")).toHaveLength(0);
  });

  it("C5 Error: a loader's value whose L2 write fails reaches the caller as the error", async () => {
    const h = setup({ failureMode: { kind: "error" } });
    h.l2.failNext("set", "connection");
    await expect(h.cache.getOrLoad("k", async () => "v")).rejects.toMatchObject({ kind: "connection" });
    expect(h.cache.stats().l1Size).toBe(0);
  });

  it("C5: attempts 0 is rejected at config time with a message naming the field", () => {
    expect(() => setup({ name: "sessions", failureMode: { kind: "retry", attempts: 0 } })).toThrow(
      "cache.sessions.failureMode.attempts: must be >= 1",
    );
  });
});
