/**
 * `npm run bench [-- <name>...] [--seconds N] [--pairs N] [--warmup N]`: runs the named
 * benches (all when none is named) one after another, prints each one's table, writes
 * bench/results/<name>.json, and ends with one table of every row. A new bench is one file
 * in bench/ added to {@link BENCHES}.
 */
import { parseArgs } from "node:util";
import { cacheBench } from "./cache.js";
import { type Bench, type BenchOptions, type BenchRow, formatTable, writeResults } from "./harness.js";
import { llmPoolBench } from "./llm-pool.js";
import { memoryBench } from "./memory.js";
import { pickBench } from "./pick.js";
import { quotaBench } from "./quota.js";
import { rpcBench } from "./rpc.js";
import { rpcRedisBench } from "./rpc-redis.js";
import { streamBench } from "./stream.js";
import { watchBench } from "./watch.js";

/** Every bench, in the order `npm run bench` runs them. */
export const BENCHES: readonly Bench[] = [
  rpcBench,
  rpcRedisBench,
  streamBench,
  pickBench,
  cacheBench,
  quotaBench,
  llmPoolBench,
  watchBench,
  memoryBench,
];

const DEFAULT_SECONDS = 5;
const DEFAULT_PAIRS = 3;
const MAX_WARMUP_SECONDS = 2;

function usage(): string {
  const names = BENCHES.map((b) => `  ${b.name.padEnd(10)} ${b.description}`).join("\n");
  return (
    "usage: npm run bench -- [name...] [--seconds N] [--pairs N] [--warmup N]\n" +
    `  --seconds  length of one measurement (default ${DEFAULT_SECONDS})\n` +
    `  --pairs    alternating subject/baseline pairs per row (default ${DEFAULT_PAIRS})\n` +
    `  --warmup   unmeasured warm-up of each side, seconds (default min(${MAX_WARMUP_SECONDS}, seconds / 2))\n` +
    `benches:\n${names}\n`
  );
}

function positive(flag: string, value: string | undefined, fallback: number, integer: boolean): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)) || (flag !== "warmup" && n === 0))
    throw new Error(`--${flag} must be a ${integer ? "whole " : ""}number > 0, got ${JSON.stringify(value)}`);
  return n;
}

function parse(argv: readonly string[]): { benches: Bench[]; options: BenchOptions } | undefined {
  const { values, positionals } = parseArgs({
    args: [...argv],
    allowPositionals: true,
    options: {
      seconds: { type: "string" },
      pairs: { type: "string" },
      warmup: { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  if (values.help) return undefined;
  const unknown = positionals.filter((name) => !BENCHES.some((b) => b.name === name));
  if (unknown.length > 0) throw new Error(`unknown bench: ${unknown.join(", ")}`);
  const benches =
    positionals.length === 0 ? [...BENCHES] : BENCHES.filter((b) => positionals.includes(b.name));
  const seconds = positive("seconds", values.seconds, DEFAULT_SECONDS, false);
  const options: BenchOptions = {
    seconds,
    pairs: positive("pairs", values.pairs, DEFAULT_PAIRS, true),
    warmupSeconds: positive("warmup", values.warmup, Math.min(MAX_WARMUP_SECONDS, seconds / 2), false),
    progress: (line) => process.stderr.write(`${line}\n`),
  };
  return { benches, options };
}

async function main(): Promise<void> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`bench: ${(error as Error).message}\n${usage()}`);
    process.exitCode = 2;
    return;
  }
  if (!parsed) {
    process.stdout.write(usage());
    return;
  }
  const { benches, options } = parsed;
  const all: BenchRow[] = [];
  let failed = false;
  for (const bench of benches) {
    try {
      const rows = await bench.run(options);
      const path = writeResults(bench.name, rows, options);
      process.stdout.write(`\n## ${bench.name}\n\n${formatTable(rows)}\n\nwrote ${path}\n`);
      all.push(...rows);
    } catch (error) {
      failed = true;
      process.stderr.write(`bench ${bench.name} failed: ${(error as Error).stack ?? error}\n`);
    }
  }
  if (benches.length > 1 && all.length > 0) process.stdout.write(`\n## all\n\n${formatTable(all)}\n`);
  process.exitCode = failed ? 1 : 0;
}

await main();
// Client sessions and timers must not keep a finished run alive.
process.exit(process.exitCode ?? 0);
