/**
 * A short run of the `rpc` and `stream` benches (one 1-second pair per row), so the harness
 * cannot rot: both write bench/results/<name>.json with positive figures, and the server
 * process each bench started is gone afterwards. Benchmarks never gate on their figures.
 */
import { describe, expect, it } from "vitest";
import { findGrpcLoadTools } from "../../bench/h2load.js";
import type { BenchRow, ResultRow } from "../../bench/harness.js";
import { isAlive, readRows, runBench } from "../support/bench-run.js";

const RUN_TIMEOUT_MS = 75_000;

function expectMeasured(row: BenchRow): asserts row is ResultRow {
  expect(row).not.toHaveProperty("skipped");
  const measured = row as ResultRow;
  expect(measured.pairs).toHaveLength(1);
  for (const value of [measured.subjectRate.median, measured.baselineRate.median, measured.ratio.median])
    expect(value).toBeGreaterThan(0);
}

describe("npm run bench (smoke)", () => {
  it("runs rpc and stream, writes their results and leaves no server running", async () => {
    const started = Date.now() - 1_000;
    const { code, stdout, stderr } = await runBench(["rpc", "stream", "--seconds", "1", "--pairs", "1"], {
      timeoutMs: RUN_TIMEOUT_MS,
    });
    expect(code, stderr).toBe(0);
    expect(stdout).toContain("## rpc");
    expect(stdout).toContain("## stream");

    const h2loadThere = typeof findGrpcLoadTools() !== "string";
    const rpcRows = readRows("rpc", started);
    expect(rpcRows).toHaveLength(2);
    for (const row of rpcRows) {
      if (!h2loadThere) {
        expect(row).toHaveProperty("skipped");
        continue;
      }
      expectMeasured(row);
      expect(row.subjectP99Ms).toBeGreaterThan(0);
      expect(row.baselineP99Ms).toBeGreaterThan(0);
    }

    const streamRows = readRows("stream", started);
    expect(streamRows.map((row) => row.row)).toEqual([
      "decisions, gRPC port (grpc-js)",
      "outcomes, gRPC port (grpc-js)",
      "decisions, web port (connect-node, gRPC over h2c)",
      "outcomes, web port (connect-node, gRPC over h2c)",
    ]);
    for (const row of streamRows) expectMeasured(row);

    const pids = [...stderr.matchAll(/server \(pid (\d+)\) stopped/g)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(h2loadThere ? 2 : 1);
    for (const pid of pids) expect(isAlive(pid)).toBe(false);
  }, 90_000);
});
