/**
 * A short run of the `quota` bench (one 1-second pair per row, 1-second accuracy runs) so it
 * cannot rot: it writes bench/results/quota.json with positive rates and an over-admission
 * note per row, and leaves no redis-server behind. Figures are never asserted against targets.
 */
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";
import type { ResultRow } from "../../bench/harness.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

it("npm run bench -- quota runs both rows and reports over-admission", async () => {
  const started = Date.now() - 1_000;
  const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
    execFile(
      process.execPath,
      ["bin/bench.mjs", "quota", "--seconds", "1", "--pairs", "1", "--warmup", "0"],
      { cwd: ROOT, timeout: 90_000, killSignal: "SIGTERM" },
      (error, _stdout, err) => resolve({ code: error ? Number(error.code ?? 1) : 0, stderr: err }),
    );
  });
  expect(code, stderr).toBe(0);
  const document = JSON.parse(readFileSync(`${ROOT}/bench/results/quota.json`, "utf8")) as {
    finishedAt: string;
    rows: ResultRow[];
  };
  expect(Date.parse(document.finishedAt)).toBeGreaterThanOrEqual(started);
  expect(document.rows).toHaveLength(2);
  for (const row of document.rows) {
    expect(row.subjectRate.median).toBeGreaterThan(0);
    expect(row.baselineRate.median).toBeGreaterThan(0);
    expect(row.note).toMatch(
      /Fulcrum \d+\.\d+% \([1-9]\d* admitted\), rate-limiter-flexible \d+\.\d+% \([1-9]\d* admitted\)/,
    );
    expect(row.note).toMatch(/client \/ redis-server: Fulcrum \d+\.\d us \/ \d+\.\d us/);
  }
}, 120_000);
