/**
 * `quota`: the Redis quota limiter from 2 replicas (2 ioredis connections, 32 operations in
 * flight each) beside rate-limiter-flexible's RateLimiterRedis.consume on the same
 * redis-server in the same run (docs/performance.md: >= 1.0 x, over-admission measured).
 * One operation is one request's quota decision and settlement:
 * - row "requests": Fulcrum reserve + true-up of a requests-only limit (Report carries no
 *   requests usage, so the true-up is a no-op without a Redis call) vs one consume;
 * - row "requests + tokens": Fulcrum reserve on both dimensions (one script) + true-up of
 *   the token estimate to the actual (a second script) vs the same work with the peer:
 *   consume on a requests limiter and a tokens limiter at once, then reward the unused tokens.
 * Throughput runs over 100 backends with limits far above the load (nothing refused).
 * Accuracy runs after the pairs: both sides hammer one backend with 100 requests per second
 * for 3 s (at most --seconds); over-admission is the worst window's excess over the limit (Fulcrum: any 6
 * consecutive buckets of its sliding window; the peer: each fixed window of its key).
 */
import { RateLimiterRedis, type RateLimiterRes } from "rate-limiter-flexible";
import type { QuotaLimitSpec } from "../src/model/specs.js";
import { systemClock } from "../src/shared/clock.js";
import { connectRedis, type RedisClient } from "../src/store/redis/redis-client.js";
import { RedisQuotaLimiter } from "../src/store/redis/redis-quota-limiter.js";
import { type RedisProcess, startRedis } from "../test/support/redis.js";
import { processCpuSeconds } from "./fulcrum-process.js";
import {
  type Bench,
  type BenchOptions,
  type BenchRow,
  comparePairs,
  type Measure,
  median,
  percentile,
  withServerCores,
} from "./harness.js";

const NAME = "quota";
const REPLICAS = 2;
const IN_FLIGHT_PER_REPLICA = 32;
const BACKENDS = 100;
/** Hard cap on operations per measured second, so every loop is bounded in count as well as time. */
const MAX_OPS_PER_SECOND = 1_000_000;
const TARGET_RATIO = 1;
const TOKEN_ESTIMATE = 1_000;
const HIGH_LIMIT = 1_000_000_000;
const THROUGHPUT_WINDOW_MS = 60_000;
const ACCURACY_LIMIT = 100;
const ACCURACY_WINDOW_MS = 1_000;
/** Length of the accuracy run, capped by --seconds so a smoke run stays short. */
const ACCURACY_SECONDS = 3;
const SLIDING_BUCKETS = 6;

/** One replica's way of handling one request; resolves with whether it was admitted. */
type Operation = (backend: number) => Promise<{ admitted: boolean; at: number; windowEndsAt?: number }>;

/** A side of a row: how to build one replica's operation for a given limit. */
interface Side {
  readonly label: string;
  build(client: RedisClient, limit: number, windowMs: number, run: string): Operation;
}

function spec(dimension: string, limit: number, windowMs: number): QuotaLimitSpec {
  return { dimension, limit, windowMs, algorithm: "sliding_window", buckets: SLIDING_BUCKETS };
}

function actualTokens(backend: number): number {
  return 100 + ((backend * 37) % (TOKEN_ESTIMATE - 100));
}

function fulcrumSide(tokens: boolean): Side {
  return {
    label: tokens ? "reserve (requests + tokens) + true-up tokens" : "reserve (requests) + true-up",
    build(client, limit, windowMs, run) {
      const limiter = new RedisQuotaLimiter({ client, prefix: `bench-${run}` });
      const limits = tokens
        ? [spec("requests", limit, windowMs), spec("tokens", limit * TOKEN_ESTIMATE, windowMs)]
        : [spec("requests", limit, windowMs)];
      const cost: Record<string, number> = tokens ? { tokens: TOKEN_ESTIMATE } : {};
      return async (backend) => {
        const key = { service: "bench", backendId: `b${backend}` };
        const at = systemClock.now();
        const r = await limiter.reserve(key, limits, cost, at);
        if (!r.ok) return { admitted: false, at };
        await limiter.trueUp(
          r.reservation,
          tokens ? { tokens: actualTokens(backend) } : {},
          systemClock.now(),
        );
        return { admitted: true, at };
      };
    },
  };
}

function peer(client: RedisClient, prefix: string, points: number, windowMs: number): RateLimiterRedis {
  return new RateLimiterRedis({ storeClient: client, keyPrefix: prefix, points, duration: windowMs / 1_000 });
}

function peerSide(tokens: boolean): Side {
  return {
    label: tokens ? "consume requests + consume tokens, reward unused tokens" : "consume",
    build(client, limit, windowMs, run) {
      const requests = peer(client, `rlf-${run}-r`, limit, windowMs);
      const tokenLimiter = peer(client, `rlf-${run}-t`, limit * TOKEN_ESTIMATE, windowMs);
      return async (backend) => {
        const key = `b${backend}`;
        const at = Date.now();
        try {
          const [res] = await Promise.all([
            requests.consume(key, 1),
            tokens ? tokenLimiter.consume(key, TOKEN_ESTIMATE) : undefined,
          ]);
          if (tokens) await tokenLimiter.reward(key, TOKEN_ESTIMATE - actualTokens(backend));
          return { admitted: true, at, windowEndsAt: at + res.msBeforeNext };
        } catch (error) {
          if (error instanceof Error) throw error;
          return { admitted: false, at, windowEndsAt: at + (error as RateLimiterRes).msBeforeNext };
        }
      };
    },
  };
}

type Admission = { at: number; windowEndsAt?: number };

/** Runs every operation with IN_FLIGHT_PER_REPLICA loops for `seconds`; returns the sample and admissions. */
async function drive(operations: readonly Operation[], seconds: number, backends: number) {
  const latencies: number[] = [];
  const admissions: Admission[] = [];
  const endAt = performance.now() + seconds * 1_000;
  const cap = Math.ceil(seconds * MAX_OPS_PER_SECOND);
  let ops = 0;
  const loop = async (operation: Operation, seed: number) => {
    for (let i = seed; performance.now() < endAt && ops < cap; i += IN_FLIGHT_PER_REPLICA) {
      ops++;
      const start = performance.now();
      const outcome = await operation(i % backends);
      latencies.push(performance.now() - start);
      if (outcome.admitted) admissions.push(outcome);
    }
  };
  const start = performance.now();
  await Promise.all(
    operations.flatMap((op) => Array.from({ length: IN_FLIGHT_PER_REPLICA }, (_, i) => loop(op, i))),
  );
  const elapsed = (performance.now() - start) / 1_000;
  const sample = { rate: ops / elapsed, p50Ms: percentile(latencies, 50), p99Ms: percentile(latencies, 99) };
  return { sample, admissions };
}

/** Worst excess over ACCURACY_LIMIT of any SLIDING_BUCKETS consecutive buckets (Fulcrum's window). */
function slidingOverAdmission(admissions: readonly Admission[]): number {
  const perBucket = new Map<number, number>();
  for (const { at } of admissions) {
    const index = Math.floor((at * SLIDING_BUCKETS) / ACCURACY_WINDOW_MS);
    perBucket.set(index, (perBucket.get(index) ?? 0) + 1);
  }
  let worst = 0;
  for (const index of perBucket.keys()) {
    let sum = 0;
    for (let i = index; i < index + SLIDING_BUCKETS; i++) sum += perBucket.get(i) ?? 0;
    worst = Math.max(worst, sum);
  }
  return Math.max(0, worst - ACCURACY_LIMIT) / ACCURACY_LIMIT;
}

/** Worst excess over ACCURACY_LIMIT of one fixed window of the peer (grouped by when it ends). */
function fixedOverAdmission(admissions: readonly Admission[]): number {
  const ends = admissions.map((a) => a.windowEndsAt ?? a.at).sort((a, b) => a - b);
  let worst = 0;
  let groupStart = Number.NEGATIVE_INFINITY;
  let count = 0;
  for (const end of ends) {
    if (end > groupStart + ACCURACY_WINDOW_MS / 2) {
      groupStart = end;
      count = 0;
    }
    worst = Math.max(worst, ++count);
  }
  return Math.max(0, worst - ACCURACY_LIMIT) / ACCURACY_LIMIT;
}

interface Setup {
  readonly redis: RedisProcess;
  readonly clients: RedisClient[];
  readonly cpuSeconds: () => number | undefined;
}

async function setUp(): Promise<Setup> {
  const redis = await startRedis();
  const clients = await Promise.all(
    Array.from({ length: REPLICAS * 2 }, () => connectRedis({ kind: "single", url: redis.url })),
  );
  const info = await clients[0]!.info("server");
  const pid = Number(/process_id:(\d+)/.exec(info)?.[1]);
  return { redis, clients, cpuSeconds: () => (pid ? processCpuSeconds(pid) : undefined) };
}

let runs = 0;

/** CPU per operation of one measurement: this process (both replicas) and the redis-server, in us. */
interface CpuPerOp {
  readonly client: number[];
  readonly redis: number[];
}

/**
 * A Measure of `side` over REPLICAS of `clients`, fresh keys per measurement; records the
 * CPU each operation cost this process and the redis-server into `cpu` (steadier than rates
 * on a busy machine).
 */
function measureOf(side: Side, clients: readonly RedisClient[], setup: Setup, cpu: CpuPerOp): Measure {
  return async (seconds) => {
    const run = `${process.pid}-${++runs}`;
    const ops = clients.map((c) => side.build(c, HIGH_LIMIT, THROUGHPUT_WINDOW_MS, run));
    const redisBefore = setup.cpuSeconds();
    const clientBefore = process.cpuUsage();
    const { sample } = await drive(ops, seconds, BACKENDS);
    const client = process.cpuUsage(clientBefore);
    const redisAfter = setup.cpuSeconds();
    const count = sample.rate * seconds;
    cpu.client.push((client.user + client.system) / count);
    if (redisBefore !== undefined && redisAfter !== undefined)
      cpu.redis.push(((redisAfter - redisBefore) * 1e6) / count);
    return sample;
  };
}

function perOp(values: readonly number[]): string {
  return values.length > 0 ? `${median(values).toFixed(1)} us` : "-";
}

async function overAdmission(
  side: Side,
  clients: readonly RedisClient[],
  sliding: boolean,
  seconds: number,
): Promise<string> {
  const run = `acc-${process.pid}-${++runs}`;
  const ops = clients.map((c) => side.build(c, ACCURACY_LIMIT, ACCURACY_WINDOW_MS, run));
  const { admissions } = await drive(ops, seconds, 1);
  const over = sliding ? slidingOverAdmission(admissions) : fixedOverAdmission(admissions);
  return `${(over * 100).toFixed(2)}% (${admissions.length} admitted)`;
}

async function row(tokens: boolean, setup: Setup, options: BenchOptions): Promise<BenchRow> {
  const fulcrum = fulcrumSide(tokens);
  const baseline = peerSide(tokens);
  const fulcrumClients = setup.clients.slice(0, REPLICAS);
  const peerClients = setup.clients.slice(REPLICAS);
  const subjectCpu: CpuPerOp = { client: [], redis: [] };
  const baselineCpu: CpuPerOp = { client: [], redis: [] };
  const result = await comparePairs(
    {
      bench: NAME,
      row: tokens ? "requests + tokens (LLM pool)" : "requests",
      subject: `Fulcrum ${fulcrum.label}`,
      baseline: `rate-limiter-flexible ${baseline.label}`,
      unit: "ops/s",
      target: TARGET_RATIO,
      measureSubject: withServerCores(
        measureOf(fulcrum, fulcrumClients, setup, subjectCpu),
        setup.cpuSeconds,
      ),
      measureBaseline: withServerCores(
        measureOf(baseline, peerClients, setup, baselineCpu),
        setup.cpuSeconds,
      ),
    },
    options,
  );
  const seconds = Math.min(ACCURACY_SECONDS, Math.max(1, options.seconds));
  options.progress(
    `${NAME}: accuracy: ${ACCURACY_LIMIT} requests per ${ACCURACY_WINDOW_MS} ms, ${seconds} s`,
  );
  // The first measurement of each side was the warm-up.
  if (options.warmupSeconds > 0) {
    for (const cpu of [subjectCpu, baselineCpu]) {
      cpu.client.shift();
      cpu.redis.shift();
    }
  }
  const subjectOver = await overAdmission(fulcrum, fulcrumClients, true, seconds);
  const baselineOver = await overAdmission(baseline, peerClients, false, seconds);
  const note =
    `over-admission at ${ACCURACY_LIMIT} requests/s from ${REPLICAS} replicas x ${IN_FLIGHT_PER_REPLICA} ` +
    `in flight, ${seconds} s: Fulcrum ${subjectOver}, rate-limiter-flexible ${baselineOver}; ` +
    `CPU per op (median of the pairs), client / redis-server: Fulcrum ${perOp(subjectCpu.client)} / ` +
    `${perOp(subjectCpu.redis)}, rate-limiter-flexible ${perOp(baselineCpu.client)} / ${perOp(baselineCpu.redis)}`;
  options.progress(`${NAME}: ${note}`);
  return { ...result, note };
}

/** The `quota` bench. */
export const quotaBench: Bench = {
  name: NAME,
  description: "Redis quota reserve + true-up from 2 replicas vs rate-limiter-flexible consume",
  async run(options) {
    const setup = await setUp();
    try {
      return [await row(false, setup, options), await row(true, setup, options)];
    } finally {
      for (const client of setup.clients) client.disconnect();
      await setup.redis.stop();
    }
  },
};
