/**
 * The shared shape of every benchmark: options, result rows, alternating pairs, ratio
 * statistics, the printed table and the JSON file. Benchmarks are not tests: on small, noisy
 * machines an absolute rate means little, so every figure is measured beside a baseline in the
 * same run, alternating, and the ratio (median, min, max over the pairs) is what matters
 * (docs/performance.md).
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** Where each bench writes `<name>.json` (gitignored). */
export const RESULTS_DIR = fileURLToPath(new URL("./results", import.meta.url));

/** Options every bench receives, resolved once by main.ts. */
export interface BenchOptions {
  /** Length of one measurement, in seconds. */
  readonly seconds: number;
  /** Alternating subject/baseline pairs per row; the ratio is their median. */
  readonly pairs: number;
  /** Unmeasured warm-up of each side before the pairs, in seconds. */
  readonly warmupSeconds: number;
  /** Progress lines go here (stderr), tables to stdout. */
  readonly progress: (line: string) => void;
}

/** One measurement of one side: a rate plus optional latency percentiles. */
export interface Sample {
  /** Operations per second (requests, decisions or outcomes). */
  readonly rate: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  /** CPU the server used during the measurement, in cores (1 = one core busy throughout). */
  readonly serverCores?: number;
}

/** Median, min and max of a series. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
}

/** One row of a bench's table and JSON file. */
export interface ResultRow {
  readonly bench: string;
  /** What this row compares, e.g. "Select vs Check, gRPC port (grpc-js)". */
  readonly row: string;
  readonly subject: string;
  readonly baseline: string;
  /** Unit of the rates, e.g. "req/s". */
  readonly unit: string;
  /** The ratio subject/baseline the design asks for, e.g. 0.9 or 5; null when none. */
  readonly target: number | null;
  readonly subjectRate: Spread;
  readonly baselineRate: Spread;
  readonly ratio: Spread;
  /** Median p99 latency of each side, when the driver measures it. */
  readonly subjectP99Ms: number | null;
  readonly baselineP99Ms: number | null;
  /** Median server CPU of each side, in cores (see {@link withServerCores}). */
  readonly subjectServerCores: number | null;
  readonly baselineServerCores: number | null;
  readonly meetsTarget: boolean | null;
  readonly pairs: readonly { subject: Sample; baseline: Sample; ratio: number }[];
  readonly note?: string;
}

/** A row that could not be measured (a missing tool, say), printed and kept in the JSON. */
export interface SkippedRow {
  readonly bench: string;
  readonly row: string;
  readonly skipped: string;
}

/** What a bench returns. */
export type BenchRow = ResultRow | SkippedRow;

/** A benchmark: one file in bench/, registered by name in bench/main.ts. */
export interface Bench {
  readonly name: string;
  /** One line for `npm run bench -- --help`. */
  readonly description: string;
  run(options: BenchOptions): Promise<BenchRow[]>;
}

/** A side of a comparison: runs one measurement of `seconds` and reports it. */
export type Measure = (seconds: number) => Promise<Sample>;

/** What {@link comparePairs} needs to produce one row. */
export interface Comparison {
  readonly bench: string;
  readonly row: string;
  readonly subject: string;
  readonly baseline: string;
  readonly unit: string;
  readonly target: number | null;
  readonly measureSubject: Measure;
  readonly measureBaseline: Measure;
  readonly note?: string;
}

/**
 * Wraps a measurement so its sample also says how busy the server was: CPU seconds it used
 * over the wall-clock seconds of the run. A side whose server is far from saturated was
 * limited by its client, which the reader should know before trusting a ratio.
 */
export function withServerCores(measure: Measure, cpuSeconds: () => number | undefined): Measure {
  return async (seconds) => {
    const cpuBefore = cpuSeconds();
    const start = performance.now();
    const sample = await measure(seconds);
    const cpuAfter = cpuSeconds();
    const wall = (performance.now() - start) / 1000;
    if (cpuBefore === undefined || cpuAfter === undefined || wall <= 0) return sample;
    return { ...sample, serverCores: (cpuAfter - cpuBefore) / wall };
  };
}

/**
 * Closed-loop load from this process: `inFlight` loops each awaiting `call` until the deadline
 * or until `maxCalls` calls have started; the rate is completed calls over elapsed time.
 */
export async function closedLoop(
  seconds: number,
  inFlight: number,
  maxCalls: number,
  call: () => Promise<unknown>,
): Promise<Sample> {
  const start = performance.now();
  const deadline = start + seconds * 1000;
  let started = 0;
  let done = 0;
  const loop = async () => {
    while (performance.now() < deadline && started < maxCalls) {
      started++;
      await call();
      done++;
    }
  };
  await Promise.all(Array.from({ length: inFlight }, loop));
  return { rate: done / ((performance.now() - start) / 1000) };
}

/** Median of a non-empty series (mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  if (values.length === 0) throw new Error("median of an empty series");
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

/** Median, min and max of a non-empty series. */
export function spread(values: readonly number[]): Spread {
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** The p-th percentile (0..100, nearest rank) of a series; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}

function medianOf(samples: readonly Sample[], key: "p99Ms" | "serverCores"): number | null {
  const values = samples.map((s) => s[key]).filter((v): v is number => typeof v === "number");
  return values.length > 0 ? median(values) : null;
}

/**
 * Warms both sides up (unmeasured), then runs `options.pairs` pairs, alternating which side
 * goes first (AB, BA, AB, ...) so drift over the run falls on both; returns the row.
 */
export async function comparePairs(comparison: Comparison, options: BenchOptions): Promise<ResultRow> {
  const { measureSubject, measureBaseline } = comparison;
  if (options.warmupSeconds > 0) {
    options.progress(`${comparison.bench}: ${comparison.row}: warm-up`);
    await measureSubject(options.warmupSeconds);
    await measureBaseline(options.warmupSeconds);
  }
  const pairs: { subject: Sample; baseline: Sample; ratio: number }[] = [];
  for (let i = 0; i < options.pairs; i++) {
    let subject: Sample;
    let baseline: Sample;
    if (i % 2 === 0) {
      subject = await measureSubject(options.seconds);
      baseline = await measureBaseline(options.seconds);
    } else {
      baseline = await measureBaseline(options.seconds);
      subject = await measureSubject(options.seconds);
    }
    const ratio = baseline.rate > 0 ? subject.rate / baseline.rate : Number.NaN;
    pairs.push({ subject, baseline, ratio });
    options.progress(
      `${comparison.bench}: ${comparison.row}: pair ${i + 1}/${options.pairs}: ` +
        `${formatRate(subject.rate)} vs ${formatRate(baseline.rate)} ${comparison.unit} = ${ratio.toFixed(2)}x`,
    );
  }
  const ratio = spread(pairs.map((p) => p.ratio));
  return {
    bench: comparison.bench,
    row: comparison.row,
    subject: comparison.subject,
    baseline: comparison.baseline,
    unit: comparison.unit,
    target: comparison.target,
    subjectRate: spread(pairs.map((p) => p.subject.rate)),
    baselineRate: spread(pairs.map((p) => p.baseline.rate)),
    ratio,
    subjectP99Ms: medianOf(
      pairs.map((p) => p.subject),
      "p99Ms",
    ),
    baselineP99Ms: medianOf(
      pairs.map((p) => p.baseline),
      "p99Ms",
    ),
    subjectServerCores: medianOf(
      pairs.map((p) => p.subject),
      "serverCores",
    ),
    baselineServerCores: medianOf(
      pairs.map((p) => p.baseline),
      "serverCores",
    ),
    meetsTarget: comparison.target === null ? null : ratio.median >= comparison.target,
    pairs,
    ...(comparison.note && { note: comparison.note }),
  };
}

/** Type guard: a row that was skipped. */
export function isSkipped(row: BenchRow): row is SkippedRow {
  return "skipped" in row;
}

function formatRate(rate: number): string {
  return Math.round(rate).toLocaleString("en-US");
}

function formatMs(ms: number | null): string {
  return ms === null ? "-" : ms < 10 ? ms.toFixed(2) : ms.toFixed(1);
}

function formatCores(cores: number | null): string {
  return cores === null ? "-" : cores.toFixed(2);
}

function formatSpread(s: Spread, digits: number): string {
  return `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})`;
}

/** Renders rows as a Markdown table (the same text goes to the terminal and the README). */
export function formatTable(rows: readonly BenchRow[]): string {
  const header = [
    "bench",
    "row",
    "subject",
    "baseline",
    "subject rate",
    "baseline rate",
    "ratio median (min-max)",
    "target",
    "p99 ms subject / baseline",
    "server cores subject / baseline",
  ];
  const lines = [header, header.map(() => "---")];
  for (const row of rows) {
    if (isSkipped(row)) {
      lines.push([row.bench, row.row, `skipped: ${row.skipped}`, "", "", "", "", "", "", ""]);
      continue;
    }
    const verdict = row.meetsTarget === null ? "" : row.meetsTarget ? " ok" : " MISSED";
    lines.push([
      row.bench,
      row.row,
      row.subject,
      row.baseline,
      `${formatRate(row.subjectRate.median)} ${row.unit}`,
      `${formatRate(row.baselineRate.median)} ${row.unit}`,
      `${formatSpread(row.ratio, 2)}x`,
      row.target === null ? "-" : `>= ${row.target}x${verdict}`,
      `${formatMs(row.subjectP99Ms)} / ${formatMs(row.baselineP99Ms)}`,
      `${formatCores(row.subjectServerCores)} / ${formatCores(row.baselineServerCores)}`,
    ]);
  }
  return lines.map((cells) => `| ${cells.join(" | ")} |`).join("\n");
}

/** Writes a bench's rows to bench/results/<name>.json; returns the path. */
export function writeResults(name: string, rows: readonly BenchRow[], options: BenchOptions): string {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const path = `${RESULTS_DIR}/${name}.json`;
  const document = {
    bench: name,
    finishedAt: new Date().toISOString(),
    options: { seconds: options.seconds, pairs: options.pairs, warmupSeconds: options.warmupSeconds },
    rows,
  };
  writeFileSync(path, `${JSON.stringify(document, null, 2)}\n`);
  return path;
}
