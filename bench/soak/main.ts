/**
 * `npm run soak -- --minutes N`: two Fulcrum replicas (`fulcrum serve --redis`, own processes)
 * on one redis-server on a free loopback port, under a mixed load for N minutes: Select +
 * Report, MERGE Registers on a bounded set of backend ids, sessions pinned and ended (idle TTL
 * 60 s, so pins reach a steady state), quota-limited Selects, and Watch streams open on every
 * replica, some of them slow readers. Every 10 s each replica's RSS, JS heap in use,
 * event-loop delay (p99) and open handles are read from its /metrics. At the end it prints
 * the growth of each against the bound (samples.ts SOAK_BOUND), writes everything to
 * bench/results/soak-<N>m.json, and exits 1 if a bound did not hold.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { startRedis } from "../../test/support/redis.js";
import { startFulcrumProcess } from "../fulcrum-process.js";
import {
  LOAD_SERVICES,
  newTally,
  type ReplicaClients,
  registerLoadServices,
  replicaClients,
  runMixedLoad,
} from "./mixed-load.js";
import { growthOf, overBound, type Sample, SOAK_BOUND, sampleReplica } from "./samples.js";
import { openWatchers, type WatchTally } from "./watchers.js";

const SAMPLE_EVERY_MS = 10_000;
const REPLICAS = 2;
/** Operations per second at most, over all workers: the load is bounded in rate as well as time. */
const MAX_CALLS_PER_SECOND = 1_500;

function parse(): { minutes: number } {
  const { values } = parseArgs({ options: { minutes: { type: "string", default: "10" } } });
  const minutes = Number(values.minutes);
  if (!(minutes > 0 && minutes <= 24 * 60))
    throw new Error(`--minutes must be in (0, 1440], got ${values.minutes}`);
  return { minutes };
}

async function main(): Promise<void> {
  const { minutes } = parse();
  const redis = await startRedis();
  process.env.FULCRUM_QUOTA_REPLICAS = String(REPLICAS);
  const servers = await Promise.all(
    Array.from({ length: REPLICAS }, () => startFulcrumProcess(["--redis", redis.url])),
  );
  const clients: ReplicaClients[] = servers.map((s) => replicaClients(s.grpcPort));
  const stops: (() => void)[] = [];
  try {
    await registerLoadServices(clients[0]!, 60);
    const watchTally: WatchTally = { messages: 0, resets: 0, reopened: 0, failures: 0 };
    for (const c of clients) {
      stops.push(
        openWatchers(
          c,
          { fast: 20, slow: 10, slowReadMs: 2_000, services: Object.values(LOAD_SERVICES) },
          watchTally,
        ),
      );
    }
    const started = Date.now();
    const untilMs = started + minutes * 60_000;
    const samples: Sample[][] = servers.map(() => []);
    const sampler = setInterval(() => {
      const at = (Date.now() - started) / 1000;
      servers.forEach((s, i) => {
        sampleReplica(s.webPort, at)
          .then((sample) => samples[i]!.push(sample))
          .catch((error: unknown) => console.error(`sample of replica ${i} failed: ${String(error)}`));
      });
      const last = samples[0]!.at(-1);
      if (last)
        console.log(`soak ${at.toFixed(0)} s: replica 0 RSS ${(last.rssBytes / 2 ** 20).toFixed(0)} MiB`);
    }, SAMPLE_EVERY_MS);
    const tally = newTally();
    await runMixedLoad({
      replicas: clients,
      tally,
      workers: 8,
      untilMs,
      maxCalls: minutes * 60 * MAX_CALLS_PER_SECOND,
      pauseMs: 2,
      mergeIds: 400,
    });
    clearInterval(sampler);
    report(minutes, samples, tally, watchTally);
  } finally {
    for (const stop of stops) stop();
    for (const c of clients) c.close();
    await Promise.all(servers.map((s) => s.stop()));
    await redis.stop();
  }
}

function report(
  minutes: number,
  samples: Sample[][],
  tally: ReturnType<typeof newTally>,
  watchTally: WatchTally,
): void {
  const growth = samples.map((s) => growthOf(s));
  const over = growth.flatMap((g, i) => overBound(g).map((why) => `replica ${i}: ${why}`));
  const calls = Object.values(tally.ok).reduce((a, b) => a + b, 0);
  const result = {
    command: `npm run soak -- --minutes ${minutes}`,
    date: new Date().toISOString(),
    node: process.version,
    minutes,
    bound: SOAK_BOUND,
    held: over.length === 0,
    over,
    calls: { ok: tally.ok, failed: tally.failed, failureMessages: tally.failureMessages, total: calls },
    watch: watchTally,
    growth,
    samples,
  };
  mkdirSync("bench/results", { recursive: true });
  writeFileSync(`bench/results/soak-${minutes}m.json`, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ ...result, samples: undefined }, null, 2));
  if (over.length > 0) process.exitCode = 1;
}

await main();
