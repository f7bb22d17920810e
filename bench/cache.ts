/**
 * `cache`: the tiered cache (src/cache, cases from bench/cache-cases.ts) with a Redis L2
 * (RedisL2Store), against bentocache 1.6 with a memory L1 and its Redis driver as L2, on the
 * same redis-server (started here on a free loopback port and killed at the end), with the
 * same keys, values and client settings (ioredis, auto-pipelining, no offline queue).
 * Rows (docs/performance.md, target >= 1.0 x on every row):
 *
 * - L1 hit: `get` of a key held in L1 (1,000 keys cycled).
 * - L2 hit: `get` answered by Redis. Fulcrum reads through a cache with an empty L1 and
 *   refill `never`; bentocache always copies an L2 hit into its L1, so its side is a store
 *   with the Redis layer only (its L2 read path without the L1 copy, the same work).
 * - miss with loader: `getOrLoad` / `getOrSet` of a new key each call: both tiers miss, the
 *   loader runs, both tiers are written (TTL 60 s). These keys live in Redis db 1, flushed
 *   after each measurement so the run's memory stays bounded.
 * - L2 write: `set` of a held key, written to L1 and Redis (no expiry on either side).
 *
 * Both L1s keep values as objects (bentocache `serialize: false`, as Fulcrum's L1 does).
 * Neither side has a bus. "Server cores" is the redis-server's CPU during a measurement. Each measurement is a closed loop from this process, bounded by
 * time and by a call count.
 */
import { randomUUID } from "node:crypto";
import { pathToFileURL } from "node:url";
import { BentoCache, bentostore } from "bentocache";
import { memoryDriver } from "bentocache/drivers/memory";
import { redisDriver } from "bentocache/drivers/redis";
import { connectRedis, type RedisClient } from "../src/store/redis/redis-client.js";
import { RedisL2Store } from "../src/store/redis/redis-l2-store.js";
import { type RedisProcess, startRedis } from "../test/support/redis.js";
import {
  type CacheBenchCase,
  type CacheBenchCaseName,
  createCacheBench,
  DEFAULT_BENCH_KEYS,
  DEFAULT_BENCH_VALUE,
} from "./cache-cases.js";
import { processCpuSeconds } from "./fulcrum-process.js";
import {
  type Bench,
  type BenchOptions,
  type BenchRow,
  closedLoop,
  comparePairs,
  formatTable,
  type Measure,
  median,
  withServerCores,
  writeResults,
} from "./harness.js";

const NAME = "cache";
const TARGET_RATIO = 1.0;
const KEYS = DEFAULT_BENCH_KEYS;
const VALUE = DEFAULT_BENCH_VALUE;
const MISS_TTL_MS = 60_000;
/** Redis database of the miss rows' keys (flushed after each measurement). */
const MISS_DB = 1;
/** Calls in flight per row: L1 hits are measured one at a time, Redis rows with pipelining. */
const IN_FLIGHT: Record<CacheBenchCaseName, number> = {
  "l1-hit": 1,
  "l2-hit": 32,
  "miss-with-loader": 32,
  "l2-write": 32,
};
/** Upper bound on the calls of one measurement (the time bound usually ends it first). */
const MAX_CALLS: Record<CacheBenchCaseName, number> = {
  "l1-hit": 50_000_000,
  "l2-hit": 2_000_000,
  "miss-with-loader": 1_000_000,
  "l2-write": 2_000_000,
};
const ROWS: readonly { name: CacheBenchCaseName; row: string; baseline: string }[] = [
  { name: "l1-hit", row: "tiered get, L1 hit", baseline: "bentocache get (memory L1 hit)" },
  { name: "l2-hit", row: "tiered get, L2 hit", baseline: "bentocache get (Redis layer hit)" },
  {
    name: "miss-with-loader",
    row: "miss with loader",
    baseline: "bentocache getOrSet (miss, factory, L1 + Redis write)",
  },
  { name: "l2-write", row: "L2 write (L1 + Redis)", baseline: "bentocache setForever (L1 + Redis)" },
];

/** One side's operations, by row. */
type Operations = Record<CacheBenchCaseName, (i: number) => Promise<unknown>>;

interface Side {
  readonly operations: Operations;
  close(): Promise<void>;
}

async function fulcrumSide(main: RedisClient, misses: RedisClient): Promise<Side> {
  const run = randomUUID().slice(0, 8);
  const hits = await createCacheBench({
    l2: new RedisL2Store({ client: main }),
    namespace: `fulcrum-${run}`,
    keys: KEYS,
    value: VALUE,
  });
  const loads = await createCacheBench({
    l2: new RedisL2Store({ client: misses }),
    namespace: `fulcrum-${run}-loads`,
    keys: 1,
    value: VALUE,
  });
  const pick = (cases: readonly CacheBenchCase[], name: CacheBenchCaseName) => {
    const found = cases.find((c) => c.name === name);
    if (!found) throw new Error(`cache-cases has no ${name}`);
    return (i: number) => found.run(i);
  };
  return {
    operations: {
      "l1-hit": pick(hits.cases, "l1-hit"),
      "l2-hit": pick(hits.cases, "l2-hit"),
      "miss-with-loader": pick(loads.cases, "miss-with-loader"),
      "l2-write": pick(hits.cases, "l2-write"),
    },
    close: async () => {
      hits.close();
      loads.close();
    },
  };
}

async function bentoSide(main: RedisClient, misses: RedisClient): Promise<Side> {
  const prefix = `bento-${randomUUID().slice(0, 8)}`;
  const l1 = () => memoryDriver({ maxItems: 10_000, serialize: false });
  const bento = new BentoCache({
    default: "tiered",
    prefix,
    stores: {
      tiered: bentostore()
        .useL1Layer(l1())
        .useL2Layer(redisDriver({ connection: main })),
      redisOnly: bentostore().useL2Layer(redisDriver({ connection: main })),
      loads: bentostore()
        .useL1Layer(l1())
        .useL2Layer(redisDriver({ connection: misses })),
    },
  });
  const tiered = bento.use("tiered");
  const redisOnly = bento.use("redisOnly");
  const loads = bento.use("loads");
  const names = Array.from({ length: KEYS }, (_, i) => `k${i}`);
  await Promise.all(names.map((key) => tiered.setForever({ key, value: VALUE })));
  const key = (i: number) => names[i % KEYS]!;
  const factory = async () => VALUE;
  let missed = 0;
  return {
    operations: {
      "l1-hit": (i) => tiered.get({ key: key(i) }),
      "l2-hit": (i) => redisOnly.get({ key: key(i) }),
      "miss-with-loader": () => loads.getOrSet({ key: `m${missed++}`, factory, ttl: MISS_TTL_MS }),
      "l2-write": (i) => tiered.setForever({ key: key(i), value: VALUE }),
    },
    // The Redis connections are ours; closing them is the caller's job.
    close: async () => {},
  };
}

/** Checks both sides answer every row with the bench value before anything is timed. */
async function verify(side: Side, label: string): Promise<void> {
  for (const name of ["l1-hit", "l2-hit", "miss-with-loader"] as const) {
    const got = await side.operations[name](7);
    if (JSON.stringify(got) !== JSON.stringify(VALUE)) {
      throw new Error(`${label} ${name} returned ${JSON.stringify(got)}, not the bench value`);
    }
  }
}

async function measureRows(redis: RedisProcess, options: BenchOptions): Promise<BenchRow[]> {
  const clients: RedisClient[] = [];
  const connect = async (db: number) => {
    const client = await connectRedis({ kind: "single", url: `${redis.url}/${db}` });
    clients.push(client);
    return client;
  };
  try {
    const mainF = await connect(0);
    const missF = await connect(MISS_DB);
    const mainB = await connect(0);
    const missB = await connect(MISS_DB);
    const fulcrum = await fulcrumSide(mainF, missF);
    const bento = await bentoSide(mainB, missB);
    const pid = Number(/process_id:(\d+)/.exec(await redis.cli("INFO", "server"))?.[1]);
    const redisCpu = () => (Number.isInteger(pid) ? processCpuSeconds(pid) : undefined);
    await verify(fulcrum, "fulcrum");
    await verify(bento, "bentocache");
    const rows: BenchRow[] = [];
    for (const { name, row, baseline } of ROWS) {
      const cpuPerOp = { fulcrum: [] as number[], bento: [] as number[] };
      const measure = (side: Side, cpu: number[]): Measure => {
        let i = 0;
        const loop: Measure = (seconds) =>
          closedLoop(seconds, IN_FLIGHT[name], MAX_CALLS[name], () => side.operations[name](i++));
        const timed = withServerCores(loop, redisCpu);
        return async (seconds) => {
          const before = process.cpuUsage();
          const sample = await timed(seconds);
          const used = process.cpuUsage(before);
          cpu.push((used.user + used.system) / (sample.rate * seconds));
          if (name === "miss-with-loader") await missF.flushdb();
          return sample;
        };
      };
      const measured = await comparePairs(
        {
          bench: NAME,
          row,
          subject: `Fulcrum tiered cache (${name})`,
          baseline,
          unit: "ops/s",
          target: TARGET_RATIO,
          measureSubject: measure(fulcrum, cpuPerOp.fulcrum),
          measureBaseline: measure(bento, cpuPerOp.bento),
          note:
            `${IN_FLIGHT[name]} in flight, ${KEYS} keys, one redis-server on loopback` +
            (name === "l2-hit" ? "; bentocache side: Redis layer only (it always refills L1)" : ""),
        },
        options,
      );
      // CPU this process spent per operation (pairs only, not warm-up): steadier than rates on a busy machine.
      const perOp = (values: number[]) => median(values.slice(-options.pairs)).toFixed(2);
      rows.push({
        ...measured,
        note: `${measured.note}; client CPU per op (median): Fulcrum ${perOp(cpuPerOp.fulcrum)} us, bentocache ${perOp(cpuPerOp.bento)} us`,
      });
    }
    await Promise.all([fulcrum.close(), bento.close()]);
    return rows;
  } finally {
    for (const client of clients) client.disconnect();
  }
}

/** The `cache` bench. */
export const cacheBench: Bench = {
  name: NAME,
  description: "tiered cache (L1 hit, L2 hit, miss with loader, L2 write) vs bentocache, same redis-server",
  async run(options) {
    const redis = await startRedis();
    options.progress(`${NAME}: redis-server on 127.0.0.1:${redis.port}`);
    try {
      return await measureRows(redis, options);
    } finally {
      await redis.stop();
      options.progress(`${NAME}: redis-server on ${redis.port} stopped`);
    }
  },
};

// Standalone: `node --import tsx bench/cache.ts [seconds] [pairs]`.
if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const seconds = Number(process.argv[2] ?? 3);
  const options: BenchOptions = {
    seconds,
    pairs: Number(process.argv[3] ?? 3),
    warmupSeconds: Math.min(2, seconds / 2),
    progress: (line) => process.stderr.write(`${line}\n`),
  };
  const rows = await cacheBench.run(options);
  process.stdout.write(`${formatTable(rows)}\n\nwrote ${writeResults(NAME, rows, options)}\n`);
  process.exit(0);
}
