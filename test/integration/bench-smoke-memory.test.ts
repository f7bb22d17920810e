/**
 * A short run of the `memory` bench, so it cannot rot: FULCRUM_BENCH_MEMORY_SCALE=0.01 (100
 * backends, 1,000 pinned sessions, the quick settle timing), one run. It writes
 * bench/results/memory.json with positive readings, the bench itself checks every session
 * was pinned (GetService), and the server it started is gone afterwards. At this scale the
 * per-item differences are within the noise of RSS, so they are only checked to be numbers;
 * benchmarks never gate on their figures.
 */
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import type { BenchRow } from "../../bench/harness.js";
import type { MemoryRow } from "../../bench/memory.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const RUN_TIMEOUT_MS = 60_000;

function runBench(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/bench.mjs", ...args],
      {
        cwd: ROOT,
        env: { ...process.env, FULCRUM_BENCH_MEMORY_SCALE: "0.01" },
        timeout: RUN_TIMEOUT_MS,
        killSignal: "SIGTERM",
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe("npm run bench memory (smoke)", () => {
  it("measures 100 backends and 1,000 pinned sessions, writes the results and stops the server", async () => {
    const started = Date.now() - 1_000;
    const { code, stdout, stderr } = await runBench(["memory", "--pairs", "1"]);
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("## memory");

    const path = `${ROOT}/bench/results/memory.json`;
    expect(statSync(path).mtimeMs).toBeGreaterThanOrEqual(started);
    const document = JSON.parse(readFileSync(path, "utf8")) as { bench: string; rows: BenchRow[] };
    expect(document.bench).toBe("memory");
    expect(document.rows).toHaveLength(2);
    const [perBackend, perSession] = document.rows as MemoryRow[];
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
