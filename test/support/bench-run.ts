/**
 * What the bench smoke tests share: run `bin/bench.mjs` as its own process, read the result
 * file it wrote, and tell whether a process it started is still alive.
 */
import { execFile } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "vitest";
import type { BenchRow } from "../../bench/harness.js";

const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** Runs `bin/bench.mjs args` with extra environment; resolves with its exit code and output. */
export function runBench(
  args: string[],
  options: { timeoutMs: number; env?: Record<string, string> },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ["bin/bench.mjs", ...args],
      {
        cwd: ROOT,
        env: { ...process.env, ...options.env },
        timeout: options.timeoutMs,
        killSignal: "SIGTERM",
        maxBuffer: 4 * 1024 * 1024,
      },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** The rows of bench/results/<name>.json, checking it was written after `notBefore` by that bench. */
export function readRows(name: string, notBefore: number): BenchRow[] {
  const path = `${ROOT}/bench/results/${name}.json`;
  expect(statSync(path).mtimeMs).toBeGreaterThanOrEqual(notBefore);
  const document = JSON.parse(readFileSync(path, "utf8")) as { bench: string; rows: BenchRow[] };
  expect(document.bench).toBe(name);
  return document.rows;
}

/** True while process `pid` exists. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
