/**
 * `rpc-redis`: the `rpc` bench's unary Select (10 backends, round robin) with the state in
 * Redis: one redis-server on a free loopback port and two Fulcrum replicas (`serve --redis`)
 * sharing it, against a Fulcrum with in-memory state in the same run (alternating pairs).
 * h2load drives the gRPC port; the Redis side alternates between the two replicas from one
 * measurement to the next, so both serve. Around every Redis-side measurement the
 * redis-server's counters are reset (CONFIG RESETSTAT) and read back (INFO commandstats), and
 * the commands issued during the run are divided by the Selects the replica answered (its
 * /metrics counter): in steady state a round-robin Select should cost no Redis command at all.
 * Target: >= 0.85 x the in-memory Select (docs/performance.md).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SelectRequestSchema } from "../gen/fulcrum/v1/balancer_pb.js";
import { type RedisProcess, startRedis } from "../test/support/redis.js";
import { BENCH_SERVICE, registerBenchService } from "./fulcrum-client.js";
import { type FulcrumProcess, processCpuSeconds, startFulcrumProcess } from "./fulcrum-process.js";
import {
  expectGrpcOk,
  findExecutable,
  findGrpcLoadTools,
  grpcStatusOf,
  h2loadMeasure,
  writeGrpcBody,
} from "./h2load.js";
import {
  type Bench,
  comparePairs,
  type Measure,
  median,
  type ResultRow,
  type Sample,
  withServerCores,
} from "./harness.js";

const NAME = "rpc-redis";
const ROW = "Select, gRPC port (grpc-js), state in Redis (2 replicas) vs in memory";
/** h2load -c and -m, as in the `rpc` bench: 100 requests in flight. */
const CONNECTIONS = 10;
const STREAMS_PER_CONNECTION = 10;
const TARGET_RATIO = 0.85;
const SELECT_PATH = "/fulcrum.v1.BalancerService/Select";
/** How long the second replica may take to hear of the service registered on the first. */
const PROPAGATION_TIMEOUT_MS = 10_000;
/** Our own commands around a measurement, not counted against the Selects. */
const OWN_COMMANDS = new Set(["config|resetstat", "config", "info"]);
const METRICS_TIMEOUT_MS = 5_000;

/** Redis commands counted over one Redis-side measurement. */
interface CommandCount {
  readonly replica: number;
  readonly selects: number;
  readonly commands: number;
  readonly perSelect: number;
  readonly byCommand: Record<string, number>;
}

/** The extra figures this bench adds to its row (kept in the JSON). */
export interface RpcRedisRow extends ResultRow {
  readonly redis: {
    /** Median over the measured pairs of Redis commands per Select answered. */
    readonly commandsPerSelect: number;
    /** Commands per second the redis-server saw with both replicas idle (background). */
    readonly idleCommandsPerSecond: number;
    readonly idleByCommand: Record<string, number>;
    readonly perMeasurement: readonly CommandCount[];
    /** Median server CPU per Select answered, microseconds, per side. */
    readonly serverCpuUsPerSelect: { readonly redis: number | null; readonly memory: number | null };
    /** Median redis-server CPU over the Redis-side measurements, in cores. */
    readonly redisServerCores: number | null;
  };
}

/** `cmdstat_get:calls=12,usec=...` lines of INFO commandstats, as name -> calls, ours left out. */
export function parseCommandstats(info: string): Record<string, number> {
  const calls: Record<string, number> = {};
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    const name = match[1]!;
    if (!OWN_COMMANDS.has(name)) calls[name] = Number(match[2]);
  }
  return calls;
}

function total(counts: Record<string, number>): number {
  return Object.values(counts).reduce((sum, n) => sum + n, 0);
}

/** Selects a server has answered so far (every status), from its /metrics on the web port. */
async function selectsAnswered(server: FulcrumProcess): Promise<number> {
  const response = await fetch(`http://127.0.0.1:${server.webPort}/metrics`, {
    signal: AbortSignal.timeout(METRICS_TIMEOUT_MS),
  });
  const text = await response.text();
  let count = 0;
  for (const match of text.matchAll(/^fulcrum_rpc_requests_total\{([^}]*)\} (\d+)/gm))
    if (/method="(?:[\w.]+\/)?Select"/.test(match[1]!)) count += Number(match[2]);
  return count;
}

/** Waits (bounded) until `url` answers Select with grpc-status 0. */
async function waitForSelectOk(curl: string, url: string, body: string): Promise<void> {
  const deadline = Date.now() + PROPAGATION_TIMEOUT_MS;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const status = await grpcStatusOf(curl, url, body);
      if (status === 0) return;
      last = `grpc-status ${status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${url} did not answer Select with grpc-status 0 in time (${last})`);
}

async function redisPid(redis: RedisProcess): Promise<number | undefined> {
  const pid = Number(/process_id:(\d+)/.exec(await redis.cli("INFO", "server"))?.[1]);
  return Number.isInteger(pid) ? pid : undefined;
}

/** The `rpc-redis` bench. */
export const rpcRedisBench: Bench = {
  name: NAME,
  description:
    "unary Select with state in Redis (2 replicas) vs in memory, h2load; Redis commands per Select",
  async run(options) {
    const tools = findGrpcLoadTools();
    if (typeof tools === "string") {
      options.progress(`${NAME}: ${tools}; skipping`);
      return [{ bench: NAME, row: ROW, skipped: tools }];
    }
    if (!findExecutable("redis-server") || !findExecutable("redis-cli")) {
      const why = "redis-server or redis-cli not found (apt-get install redis-server)";
      options.progress(`${NAME}: ${why}; skipping`);
      return [{ bench: NAME, row: ROW, skipped: why }];
    }
    const dir = mkdtempSync(join(tmpdir(), "fulcrum-bench-rpc-redis-"));
    const servers: FulcrumProcess[] = [];
    let redis: RedisProcess | undefined;
    try {
      redis = await startRedis();
      options.progress(`${NAME}: redis-server on 127.0.0.1:${redis.port}`);
      const redisArgs = ["--redis", redis.url];
      const started = await Promise.allSettled([
        startFulcrumProcess(redisArgs),
        startFulcrumProcess(redisArgs),
        startFulcrumProcess(),
      ]);
      for (const result of started) if (result.status === "fulfilled") servers.push(result.value);
      for (const result of started) if (result.status === "rejected") throw result.reason;
      const [replicaA, replicaB, memory] = servers as [FulcrumProcess, FulcrumProcess, FulcrumProcess];
      return [await measure(redis, [replicaA, replicaB], memory, tools, dir, options)];
    } finally {
      await Promise.all(servers.map((s) => s.stop()));
      for (const s of servers) options.progress(`${NAME}: server (pid ${s.pid}) stopped`);
      if (redis) {
        await redis.stop();
        options.progress(`${NAME}: redis-server on ${redis.port} stopped`);
      }
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

async function measure(
  redis: RedisProcess,
  replicas: readonly [FulcrumProcess, FulcrumProcess],
  memory: FulcrumProcess,
  tools: { h2load: string; curl: string },
  dir: string,
  options: Parameters<Bench["run"]>[0],
): Promise<RpcRedisRow> {
  // Registered once, on replica A: B learns it through Redis, as a second replica would.
  await registerBenchService(replicas[0].grpcPort);
  await registerBenchService(memory.grpcPort);
  const body = writeGrpcBody(join(dir, "select.bin"), SelectRequestSchema, { service: BENCH_SERVICE });
  const url = (server: FulcrumProcess) => `http://127.0.0.1:${server.grpcPort}${SELECT_PATH}`;
  await expectGrpcOk(tools.curl, url(replicas[0]), body);
  await waitForSelectOk(tools.curl, url(replicas[1]), body);
  await expectGrpcOk(tools.curl, url(memory), body);

  const pid = await redisPid(redis);
  const h2load = (server: FulcrumProcess, tag: string): Measure =>
    h2loadMeasure({
      h2load: tools.h2load,
      url: url(server),
      bodyFile: body,
      clients: CONNECTIONS,
      streams: STREAMS_PER_CONNECTION,
      logFile: join(dir, `${tag}.log`),
    });
  const onReplica = replicas.map((replica, i) =>
    withServerCores(h2load(replica, `replica-${i}`), () => replica.cpuSeconds()),
  );
  const counts: CommandCount[] = [];
  const redisCores: number[] = [];
  // comparePairs' warm-up is the first Redis-side run: it is not counted.
  let uncounted = options.warmupSeconds > 0 ? 1 : 0;
  let turn = 0;
  // Each Redis-side run goes to the other replica than the last, and counts Redis commands.
  const measureSubject: Measure = async (seconds) => {
    const index = turn++ % replicas.length;
    const replica = replicas[index]!;
    const selectsBefore = await selectsAnswered(replica);
    await redis.cli("CONFIG", "RESETSTAT");
    const cpuBefore = pid === undefined ? undefined : processCpuSeconds(pid);
    const start = performance.now();
    const sample: Sample = await onReplica[index]!(seconds);
    const wall = (performance.now() - start) / 1000;
    const cpuAfter = pid === undefined ? undefined : processCpuSeconds(pid);
    const byCommand = parseCommandstats(await redis.cli("INFO", "commandstats"));
    const selects = (await selectsAnswered(replica)) - selectsBefore;
    if (uncounted-- <= 0) {
      const commands = total(byCommand);
      counts.push({
        replica: index,
        selects,
        commands,
        perSelect: selects > 0 ? commands / selects : Number.NaN,
        byCommand,
      });
      if (cpuBefore !== undefined && cpuAfter !== undefined) redisCores.push((cpuAfter - cpuBefore) / wall);
      options.progress(
        `${NAME}: replica ${"AB"[index]}: ${selects} Selects, ${commands} Redis commands` +
          (commands > 0 ? ` (${JSON.stringify(byCommand)})` : ""),
      );
    }
    return sample;
  };
  // Both replicas warm, whatever the warm-up setting; then count only the measured runs.
  if (options.warmupSeconds > 0) {
    options.progress(`${NAME}: warm-up of replica B`);
    await onReplica[1]!(options.warmupSeconds);
  }
  const row = await comparePairs(
    {
      bench: NAME,
      row: ROW,
      subject: "Select, Redis state",
      baseline: "Select, in memory",
      unit: "req/s",
      target: TARGET_RATIO,
      measureSubject,
      measureBaseline: withServerCores(h2load(memory, "memory"), () => memory.cpuSeconds()),
    },
    options,
  );

  // Background: what the two replicas send Redis when nobody calls them.
  const idleSeconds = Math.min(options.seconds, 5);
  await redis.cli("CONFIG", "RESETSTAT");
  await new Promise((resolve) => setTimeout(resolve, idleSeconds * 1000));
  const idleByCommand = parseCommandstats(await redis.cli("INFO", "commandstats"));
  const idleCommandsPerSecond = total(idleByCommand) / idleSeconds;

  const perSelect = counts.map((c) => c.perSelect).filter((n) => Number.isFinite(n));
  const commandsPerSelect = perSelect.length > 0 ? median(perSelect) : Number.NaN;
  const redisServerCores = redisCores.length > 0 ? median(redisCores) : null;
  // Server CPU per Select: steadier than req/s when other jobs share the machine.
  const cpuPerSelect = (side: "subject" | "baseline") => {
    const values = row.pairs
      .map((p) =>
        p[side].serverCores === undefined ? Number.NaN : (p[side].serverCores! / p[side].rate) * 1e6,
      )
      .filter((n) => Number.isFinite(n));
    return values.length > 0 ? median(values) : null;
  };
  const cpuUs = { redis: cpuPerSelect("subject"), memory: cpuPerSelect("baseline") };
  options.progress(
    `${NAME}: Redis commands per Select (median) ${commandsPerSelect.toFixed(4)}; ` +
      `idle ${idleCommandsPerSecond.toFixed(1)} commands/s`,
  );
  return {
    ...row,
    note:
      `h2load -c ${CONNECTIONS} -m ${STREAMS_PER_CONNECTION} on the gRPC port; Redis side alternates replica A/B ` +
      `(service registered on A only); Redis commands per Select ${commandsPerSelect.toFixed(4)} ` +
      `(median over ${counts.length} runs, INFO commandstats after CONFIG RESETSTAT / Selects from /metrics); ` +
      `idle background ${idleCommandsPerSecond.toFixed(1)} commands/s; redis-server ` +
      `${redisServerCores === null ? "-" : redisServerCores.toFixed(2)} cores during the Redis runs; ` +
      `server CPU per Select (median): Redis ${cpuUs.redis?.toFixed(0) ?? "-"} us, memory ${cpuUs.memory?.toFixed(0) ?? "-"} us`,
    redis: {
      serverCpuUsPerSelect: cpuUs,
      commandsPerSelect,
      idleCommandsPerSecond,
      idleByCommand,
      perMeasurement: counts,
      redisServerCores,
    },
  };
}
