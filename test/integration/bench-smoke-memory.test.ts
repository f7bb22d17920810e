/**
 * A short run of the `memory` bench, so it cannot rot: FULCRUM_BENCH_MEMORY_SCALE=0.01 (100
 * backends, 1,000 pinned sessions, the quick settle timing), one run. It writes
 * bench/results/memory.json with positive readings, the bench itself checks every session
 * was pinned (GetService), and the server it started is gone afterwards. At this scale the
 * per-item differences are within the noise of RSS, so they are only checked to be numbers;
 * benchmarks never gate on their figures.
 */
import { describe, expect, it } from "vitest";

import type { MemoryRow } from "../../bench/memory.js";
import { isAlive, readRows, runBench } from "../support/bench-run.js";

const RUN_TIMEOUT_MS = 60_000;

describe("npm run bench memory (smoke)", () => {
  it("measures 100 backends and 1,000 pinned sessions, writes the results and stops the server", async () => {
    const started = Date.now() - 1_000;
    const { code, stdout, stderr } = await runBench(["memory", "--pairs", "1"], {
      timeoutMs: RUN_TIMEOUT_MS,
      env: { FULCRUM_BENCH_MEMORY_SCALE: "0.01" },
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("## memory");

    const rows = readRows("memory", started);
    expect(rows).toHaveLength(2);
    const [perBackend, perSession] = rows as MemoryRow[];
    expect(perBackend!.row).toContain("100 backends");
    expect(perSession!.row).toContain("1,000 sessions");
    for (const row of [perBackend!, perSession!]) {
      expect(row).not.toHaveProperty("skipped");
      expect(row.memory.runs).toHaveLength(1);
      expect(Number.isFinite(row.subjectRate.median)).toBe(true);
      expect(row.baselineRate.median).toBeGreaterThan(0);
      expect(row.ratio.median).toBeGreaterThan(0);
    }
    const run = perBackend!.memory.runs[0]!;
    expect(run.backends).toBe(100);
    expect(run.sessions).toBe(1_000);
    for (const reading of [run.fresh, run.empty, run.withBackends, run.withSessions]) {
      expect(reading.rssBytes).toBeGreaterThan(10 * 1024 * 1024);
      expect(reading.heapUsedBytes).toBeGreaterThan(1024 * 1024);
      expect(reading.rssSamplesMiB.length).toBeGreaterThan(0);
    }
    for (const value of [run.rssPerBackend, run.rssPerSession, run.heapPerBackend, run.heapPerSession])
      expect(Number.isFinite(value)).toBe(true);
    expect(run.registerMessageBytes).toBeGreaterThan(0);
    expect(run.pinRate).toBeGreaterThan(0);

    const pids = [...stderr.matchAll(/server \(pid (\d+)\) stopped/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(1);
    expect(isAlive(pids[0]!)).toBe(false);
  }, 75_000);
});
