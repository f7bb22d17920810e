/**
 * `llm-pool`: how much of a pool of rate-limited provider keys a gateway gets through
 * Fulcrum, and how many 429s it still eats (docs/behaviour.md Q9).
 *
 * Fake providers (bench/fake-provider.ts) enforce true sliding windows on requests and
 * tokens, answer 429 with Retry-After and report remaining units. A gateway of many workers
 * sends calls whose real token count it only estimates (noisy): with Fulcrum it Selects a key
 * by MOST_AVAILABLE with the estimate as cost, calls the key, and Reports the real usage and
 * the provider's remaining headers (or RATE_LIMITED with retry_after); refused by Fulcrum, it
 * waits the RetryInfo delay. The naive baseline, what most gateways do, goes round robin over
 * the keys and on a 429 waits the Retry-After and moves to the next key.
 *
 * Figures: the share of the pool's capacity served (admitted units of the binding dimension
 * over keys x limit x duration / window; a run lasts a whole number of windows, so 100% is
 * reachable) and the share of provider calls that got a 429. Setups: one Fulcrum in memory,
 * and two replicas sharing one redis-server with the workers split between them.
 * Target: >= 95% of capacity with <= 0.5% 429s on both setups.
 */
import { Agent, request } from "node:http";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import { CallResult, QuotaAlgorithm, Strategy } from "../gen/fulcrum/v1/types_pb.js";
import { RetryInfoSchema } from "../gen/google/rpc/error_details_pb.js";
import { type RedisProcess, startRedis } from "../test/support/redis.js";
import { type FakeProviders, type ProviderLimits, startFakeProviders } from "./fake-provider.js";
import { benchClients } from "./fulcrum-client.js";
import { type FulcrumProcess, startFulcrumProcess } from "./fulcrum-process.js";
import type { Bench, BenchOptions, BenchRow, ResultRow, Sample } from "./harness.js";
import { spread } from "./harness.js";

const NAME = "llm-pool";
const KEYS = 3;
const LIMITS: ProviderLimits = { windowMs: 3_000, requests: 60, tokens: 6_000 };
const WORKERS = 24;
/** Buckets of each key's sliding windows: 50 ms each, so a unit is held at most 50 ms past the upstream. */
const BUCKETS = 60;
const PROVIDER_LATENCY_MS = [20, 80] as const;
/** Real tokens per call: uniform in this range (mean 100: both dimensions bind alike). */
const TOKENS = [50, 150] as const;
/** A worker's estimate is the real count times a factor uniform in this range. */
const ESTIMATE_NOISE = [0.6, 1.4] as const;
/** Longest a worker waits on one refusal, so a run ends on time. */
const MAX_WAIT_MS = 1_000;
const TARGET_CAPACITY = 0.95;
const TARGET_429 = 0.005;

function uniform([lo, hi]: readonly [number, number]): number {
  return lo + Math.random() * (hi - lo);
}

/** Waits `ms`, but at most MAX_WAIT_MS and never past `deadline`, so a run ends on time. */
const waitAtMost = (ms: number, deadline: number) =>
  new Promise((resolve) =>
    setTimeout(resolve, Math.min(ms, MAX_WAIT_MS, Math.max(0, deadline - performance.now()))),
  );

interface CallAnswer {
  readonly status: number;
  readonly retryAfterMs: number;
  readonly remaining: { requests: number; tokens: number };
}

/** One provider call over a keep-alive connection. */
function callProvider(agent: Agent, port: number, key: string, tokens: number): Promise<CallAnswer> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: "127.0.0.1",
        port,
        path: `/${key}`,
        method: "POST",
        agent,
        headers: { "x-tokens": String(tokens) },
      },
      (res) => {
        res.resume();
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            retryAfterMs: Number(res.headers["retry-after-ms"] ?? 0),
            remaining: {
              requests: Number(res.headers["x-ratelimit-remaining-requests"]),
              tokens: Number(res.headers["x-ratelimit-remaining-tokens"]),
            },
          }),
        );
      },
    );
    req.on("error", reject);
    req.end();
  });
}

/** A run's counts: provider calls made and 429s among them. */
interface RunCounts {
  calls: number;
  refused429: number;
}

type Clients = ReturnType<typeof benchClients>;

/** A Fulcrum gateway worker: Select, call, Report, until the deadline. */
async function fulcrumWorker(
  clients: Clients,
  service: string,
  providers: FakeProviders,
  agent: Agent,
  deadline: number,
  counts: RunCounts,
): Promise<void> {
  while (performance.now() < deadline) {
    const tokens = Math.round(uniform(TOKENS));
    const estimate = Math.round(tokens * uniform(ESTIMATE_NOISE));
    let selected: Awaited<ReturnType<Clients["balancer"]["select"]>>;
    try {
      selected = await clients.balancer.select({ service, cost: { tokens: estimate } });
    } catch (error) {
      const refusal = error as ConnectError;
      if (refusal.code !== Code.ResourceExhausted && refusal.code !== Code.Unavailable) throw error;
      const delay = refusal.findDetails(RetryInfoSchema)[0]?.retryDelay;
      const waitMs = delay ? Number(delay.seconds) * 1000 + delay.nanos / 1e6 : 50;
      await waitAtMost(Math.max(1, waitMs), deadline);
      continue;
    }
    const backend = selected.backends[0]!;
    const answer = await callProvider(agent, providers.port, backend.id, tokens);
    counts.calls++;
    const remaining: Record<string, number> = {
      requests: answer.remaining.requests,
      tokens: answer.remaining.tokens,
    };
    if (answer.status === 429) {
      counts.refused429++;
      await clients.balancer.report({
        outcomes: [
          {
            ticket: selected.ticket,
            result: CallResult.RATE_LIMITED,
            retryAfter: durationFromMs(answer.retryAfterMs),
            // The provider admitted nothing: neither the request nor its tokens count.
            usage: { requests: 0, tokens: 0 },
            remaining,
          },
        ],
      });
      continue;
    }
    await clients.balancer.report({
      outcomes: [{ ticket: selected.ticket, result: CallResult.SUCCESS, usage: { tokens }, remaining }],
    });
  }
}

/** A naive gateway worker: round robin over the keys; on a 429 wait Retry-After, next key. */
async function naiveWorker(
  keys: readonly string[],
  next: () => number,
  providers: FakeProviders,
  agent: Agent,
  deadline: number,
  counts: RunCounts,
): Promise<void> {
  while (performance.now() < deadline) {
    const tokens = Math.round(uniform(TOKENS));
    const answer = await callProvider(agent, providers.port, keys[next() % keys.length]!, tokens);
    counts.calls++;
    if (answer.status !== 429) continue;
    counts.refused429++;
    await waitAtMost(answer.retryAfterMs, deadline);
  }
}

/** What one run measured. */
interface PoolSample {
  readonly capacityShare: number;
  readonly share429: number;
}

function poolSample(providers: FakeProviders, counts: RunCounts, durationMs: number): PoolSample {
  const windows = durationMs / LIMITS.windowMs;
  const requestShare = providers.counts.admittedRequests / (KEYS * LIMITS.requests * windows);
  const tokenShare = providers.counts.admittedTokens / (KEYS * LIMITS.tokens * windows);
  return {
    capacityShare: Math.max(requestShare, tokenShare),
    share429: counts.calls === 0 ? 0 : counts.refused429 / counts.calls,
  };
}

let runId = 0;

/** One run of the Fulcrum gateway over fresh keys, workers spread over `grpcPorts`. */
async function runFulcrum(
  grpcPorts: readonly number[],
  providers: FakeProviders,
  durationMs: number,
): Promise<PoolSample> {
  const run = ++runId;
  const service = `llm-${run}`;
  const keyIds = Array.from({ length: KEYS }, (_, i) => `key-${run}-${i}`);
  const quota = (dimension: string, limit: number) => ({
    dimension,
    limit,
    window: durationFromMs(LIMITS.windowMs),
    algorithm: QuotaAlgorithm.SLIDING_WINDOW,
    buckets: BUCKETS,
  });
  const clients = grpcPorts.map((port) => benchClients(port));
  const agent = new Agent({ keepAlive: true, maxSockets: WORKERS });
  try {
    await clients[0]!.registry.register({
      service,
      config: { strategy: { strategy: Strategy.MOST_AVAILABLE } },
      backends: keyIds.map((id, i) => ({
        id,
        address: `10.9.0.${i + 1}:443`,
        quotas: [quota("requests", LIMITS.requests), quota("tokens", LIMITS.tokens)],
      })),
    });
    providers.reset();
    const counts: RunCounts = { calls: 0, refused429: 0 };
    const start = performance.now();
    const deadline = start + durationMs;
    await Promise.all(
      Array.from({ length: WORKERS }, (_, w) =>
        fulcrumWorker(clients[w % clients.length]!, service, providers, agent, deadline, counts),
      ),
    );
    return poolSample(providers, counts, durationMs);
  } finally {
    agent.destroy();
    for (const c of clients) c.close();
  }
}

/** One run of the naive gateway over fresh keys. */
async function runNaive(providers: FakeProviders, durationMs: number): Promise<PoolSample> {
  const run = ++runId;
  const keys = Array.from({ length: KEYS }, (_, i) => `naive-${run}-${i}`);
  const agent = new Agent({ keepAlive: true, maxSockets: WORKERS });
  let turn = 0;
  providers.reset();
  const counts: RunCounts = { calls: 0, refused429: 0 };
  const deadline = performance.now() + durationMs;
  await Promise.all(
    Array.from({ length: WORKERS }, () =>
      naiveWorker(keys, () => turn++, providers, agent, deadline, counts),
    ),
  );
  agent.destroy();
  return poolSample(providers, counts, durationMs);
}

function row(
  setup: string,
  metric: "capacity" | "429",
  subject: PoolSample[],
  baseline: PoolSample[],
): ResultRow {
  const pick = (s: PoolSample) => (metric === "capacity" ? s.capacityShare : s.share429) * 100;
  const pairs = subject.map((s, i) => {
    const a: Sample = { rate: pick(s) };
    const b: Sample = { rate: pick(baseline[i]!) };
    return { subject: a, baseline: b, ratio: b.rate > 0 ? a.rate / b.rate : Number.NaN };
  });
  const subjectRate = spread(pairs.map((p) => p.subject.rate));
  const met =
    metric === "capacity"
      ? subjectRate.median >= TARGET_CAPACITY * 100
      : subjectRate.median <= TARGET_429 * 100;
  return {
    bench: NAME,
    row: `${setup}: ${metric === "capacity" ? "% of pool capacity served" : "% of provider calls answered 429"}`,
    subject: "Fulcrum MOST_AVAILABLE, Select cost + Report usage/remaining",
    baseline: "naive round robin, wait Retry-After on 429",
    unit: "%",
    target: null,
    subjectRate,
    baselineRate: spread(pairs.map((p) => p.baseline.rate)),
    ratio: spread(pairs.map((p) => p.ratio)),
    subjectP99Ms: null,
    baselineP99Ms: null,
    subjectServerCores: null,
    baselineServerCores: null,
    meetsTarget: null,
    pairs,
    note:
      `${metric === "capacity" ? `target >= ${TARGET_CAPACITY * 100}%` : `target <= ${TARGET_429 * 100}%`}: ` +
      `${met ? "met" : "MISSED"} (median ${subjectRate.median.toFixed(2)}%)`,
  };
}

async function measureSetup(
  setup: string,
  grpcPorts: readonly number[],
  providers: FakeProviders,
  options: BenchOptions,
): Promise<BenchRow[]> {
  const windows = Math.max(3, Math.round((options.seconds * 1000) / LIMITS.windowMs));
  const durationMs = windows * LIMITS.windowMs;
  const subject: PoolSample[] = [];
  const baseline: PoolSample[] = [];
  // One discarded window per setup: the servers' JIT and connections warm up outside the pairs.
  await runFulcrum(grpcPorts, providers, LIMITS.windowMs);
  for (let i = 0; i < options.pairs; i++) {
    subject.push(await runFulcrum(grpcPorts, providers, durationMs));
    baseline.push(await runNaive(providers, durationMs));
    const s = subject.at(-1)!;
    const b = baseline.at(-1)!;
    options.progress(
      `${NAME}: ${setup}: pair ${i + 1}/${options.pairs}: capacity ${(s.capacityShare * 100).toFixed(1)}% vs ` +
        `${(b.capacityShare * 100).toFixed(1)}%, 429s ${(s.share429 * 100).toFixed(2)}% vs ${(b.share429 * 100).toFixed(2)}%`,
    );
  }
  return [row(setup, "capacity", subject, baseline), row(setup, "429", subject, baseline)];
}

/** The bench. */
export const llmPoolBench: Bench = {
  name: NAME,
  description: "share of a rate-limited key pool served and upstream 429s, Fulcrum vs naive round robin",
  async run(options) {
    const providers = await startFakeProviders(LIMITS, () => uniform(PROVIDER_LATENCY_MS));
    const rows: BenchRow[] = [];
    let single: FulcrumProcess | undefined;
    let redis: RedisProcess | undefined;
    const replicas: FulcrumProcess[] = [];
    try {
      single = await startFulcrumProcess();
      rows.push(...(await measureSetup("1 replica, in memory", [single.grpcPort], providers, options)));
      await single.stop();
      single = undefined;
      redis = await startRedis();
      for (let i = 0; i < 2; i++)
        replicas.push(await startFulcrumProcess(["--redis", `redis://127.0.0.1:${redis.port}`]));
      rows.push(
        ...(await measureSetup(
          "2 replicas, one Redis",
          replicas.map((r) => r.grpcPort),
          providers,
          options,
        )),
      );
    } finally {
      await single?.stop();
      for (const r of replicas) await r.stop();
      await redis?.stop();
      await providers.close();
    }
    return rows;
  },
};
