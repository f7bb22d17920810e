/**
 * A short run of the `watch` and `rpc-redis` benches, so they cannot rot: `watch` with 200
 * streams (FULCRUM_BENCH_WATCHERS) and `rpc-redis` with one 1-second pair. Both write
 * bench/results/<name>.json with positive figures, and every process they started (servers,
 * watch clients; redis-server is stopped by its own helper) is gone afterwards. Benchmarks
 * never gate on their figures.
 */
import { describe, expect, it } from "vitest";
import { findExecutable, findGrpcLoadTools } from "../../bench/h2load.js";
import type { ResultRow } from "../../bench/harness.js";
import type { RpcRedisRow } from "../../bench/rpc-redis.js";
import type { WatchRow } from "../../bench/watch.js";
import { isAlive, readRows, runBench } from "../support/bench-run.js";

const RUN_TIMEOUT_MS = 60_000;
const WATCHERS = 200;

describe("npm run bench watch rpc-redis (smoke)", () => {
  it("runs both, writes their results and leaves no process running", async () => {
    const started = Date.now() - 1_000;
    const { code, stdout, stderr } = await runBench(
      ["watch", "rpc-redis", "--seconds", "1", "--pairs", "1"],
      {
        timeoutMs: RUN_TIMEOUT_MS,
        env: { FULCRUM_BENCH_WATCHERS: String(WATCHERS) },
      },
    );
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("## watch");
    expect(stdout).toContain("## rpc-redis");

    const watchRows = readRows("watch", started);
    expect(watchRows).toHaveLength(1);
    const watch = watchRows[0] as WatchRow;
    expect(watch).not.toHaveProperty("skipped");
    expect(watch.watch.streams).toBe(WATCHERS);
    expect(watch.watch.minDelivered).toBe(WATCHERS);
    expect(watch.watch.changes.length).toBeGreaterThanOrEqual(1);
    for (const change of watch.watch.changes) {
      expect(change.delivered).toBe(WATCHERS);
      for (const value of [change.p50Ms, change.p99Ms, change.maxMs]) expect(value).toBeGreaterThan(0);
      expect(change.p99Ms).toBeGreaterThanOrEqual(change.p50Ms);
    }
    for (const value of [watch.subjectRate.median, watch.ratio.median, watch.watch.p99Ms.median])
      expect(value).toBeGreaterThan(0);

    const redisThere =
      typeof findGrpcLoadTools() !== "string" &&
      findExecutable("redis-server") !== undefined &&
      findExecutable("redis-cli") !== undefined;
    const redisRows = readRows("rpc-redis", started);
    expect(redisRows).toHaveLength(1);
    if (redisThere) {
      const row = redisRows[0] as RpcRedisRow;
      expect(row).not.toHaveProperty("skipped");
      expect(row.pairs).toHaveLength(1);
      for (const value of [row.subjectRate.median, row.baselineRate.median, row.ratio.median])
        expect(value).toBeGreaterThan(0);
      expect(row.subjectP99Ms).toBeGreaterThan(0);
      expect(row.redis.perMeasurement).toHaveLength(1);
      expect(row.redis.perMeasurement[0]!.selects).toBeGreaterThan(0);
      expect(Number.isFinite(row.redis.commandsPerSelect)).toBe(true);
      expect(row.redis.commandsPerSelect).toBeGreaterThanOrEqual(0);
    } else {
      expect(redisRows[0] as ResultRow).toHaveProperty("skipped");
    }

    const pids = [...stderr.matchAll(/(?:server|watch client) \(pid (\d+)\) stopped/g)].map((m) =>
      Number(m[1]),
    );
    expect(pids).toHaveLength(redisThere ? 5 : 2);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  }, 75_000);
});
