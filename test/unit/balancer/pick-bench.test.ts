/** A very short run of the `pick` bench so it cannot rot (benchmarks never gate on their figures). */
import { describe, expect, it } from "vitest";
import { isSkipped } from "../../../bench/harness.js";
import { pickBench } from "../../../bench/pick.js";

describe("pick bench (smoke)", () => {
  it("measures every strategy at 10, 1k and 10k backends beside the loop, plus flatness", async () => {
    const rows = await pickBench.run({ seconds: 0.01, pairs: 1, warmupSeconds: 0, progress: () => {} });
    expect(rows).toHaveLength(11 * 3 + 3 + 5);
    for (const row of rows) {
      if (isSkipped(row)) throw new Error(`skipped: ${row.row}`);
      expect(row.subjectRate.median, row.row).toBeGreaterThan(0);
      expect(row.baselineRate.median, row.row).toBeGreaterThan(0);
    }
    expect(rows.map((r) => r.row)).toContain("maglev flatness, 10,000 vs 1,000 backends");
    expect(rows.map((r) => r.row)).toContain("least_load flatness, 10,000 vs 1,000 backends");
    expect(rows.map((r) => r.row)).toContain("most_available flatness, 10,000 vs 1,000 backends");
  }, 60_000);
});
