/**
 * `watch`: one change fanned out to many Watch streams. A real server in its own process
 * (in memory, the bench service: 10 backends); client processes (bench/watch-client.ts)
 * open N Watch streams on that service over the gRPC port, 100 streams multiplexed per HTTP/2
 * connection, and wait until every stream has its snapshot. Then, one at a time, a Register
 * (mode MERGE) adds a backend, and every stream notes when the backend_added arrived: the
 * delivery time is that receive time minus the time just before the Register call (one
 * machine, one clock). Per N: p50, p99 and max over the streams, per change, and how many
 * streams got it. N is 1,000 and 10,000 (FULCRUM_BENCH_WATCHERS="200,500" overrides it, for
 * the smoke run). There is no baseline: the figures are absolute, the target is p99 < 250 ms
 * at 10,000 streams (docs/performance.md). To fit the shared table, a row's "rate" is the p99 in
 * ms, its "baseline" the 250 ms target and its ratio 250 / p99 (>= 1 meets it).
 */
import { type ChildProcess, fork } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { RegisterMode } from "../gen/fulcrum/v1/registry_pb.js";
import { BENCH_SERVICE, benchClients, registerBenchService } from "./fulcrum-client.js";
import { startFulcrumProcess } from "./fulcrum-process.js";
import {
  type Bench,
  type BenchOptions,
  median,
  percentile,
  type ResultRow,
  type Sample,
  spread,
} from "./harness.js";
import type { WatchClientCommand, WatchClientReply } from "./watch-client.js";

const NAME = "watch";
const CLIENT = fileURLToPath(new URL("./watch-client.ts", import.meta.url));
const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const DEFAULT_WATCHERS = [1_000, 10_000];
const MAX_WATCHERS = 20_000;
/** Watch streams multiplexed on one HTTP/2 connection. */
const STREAMS_PER_CONNECTION = 100;
/** Streams per client process: 10,000 streams are read by two processes. */
const STREAMS_PER_CLIENT = 5_000;
/** Measured changes per N, at least (more with a larger --pairs). */
const MIN_CHANGES = 5;
const TARGET_P99_MS = 250;
/** The N the target is for; smaller N are reported without a target. */
const TARGET_WATCHERS = 10_000;
/** Bounds: opening all streams, one change reaching all of them, any IPC answer. */
const OPEN_TIMEOUT_MS = 120_000;
const DELIVERY_TIMEOUT_MS = 15_000;
const WITNESS_TIMEOUT_MS = 10_000;
const REPLY_SLACK_MS = 10_000;
/** Quiet time between changes, so one change's tail is not the next one's head. */
const SETTLE_MS = 300;
const now = () => performance.timeOrigin + performance.now();

/** One change's delivery over every stream. */
interface ChangeDelivery {
  readonly backendId: string;
  readonly delivered: number;
  readonly streams: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
  /** The first stream's delivery time, ms (another process: scheduling skews it against registerMs). */
  readonly firstMs: number;
  /**
   * The Register's answer came before the change on the witness stream: a Watch on the
   * Register's own HTTP/2 connection, opened before all others so the first fan-out slice
   * holds it. One connection keeps the server's write order, so this says the server answered
   * the Register before it fanned the change out.
   */
  readonly answeredBeforeFanOut: boolean;
  /** Register call, from just before it to its answer. */
  readonly registerMs: number;
  /** CPU the server used from the Register call until the last client answered, ms. */
  readonly serverCpuMs: number | null;
  /** serverCpuMs per delivered message, in microseconds. */
  readonly serverUsPerMessage: number | null;
  readonly clientCpuMs: number;
}

/** A watch row: the shared row shape plus the absolute figures. */
export interface WatchRow extends ResultRow {
  readonly watch: {
    readonly streams: number;
    readonly connections: number;
    readonly clientProcesses: number;
    readonly p50Ms: ReturnType<typeof spread>;
    readonly p99Ms: ReturnType<typeof spread>;
    readonly maxMs: ReturnType<typeof spread>;
    /** Fewest streams any one change reached. */
    readonly minDelivered: number;
    /** 1-minute load average of the machine just before the changes. */
    readonly loadAverage: number;
    readonly changes: readonly ChangeDelivery[];
  };
}

/** N from FULCRUM_BENCH_WATCHERS (comma-separated), else 1,000 and 10,000. */
export function watcherCounts(env: string | undefined = process.env.FULCRUM_BENCH_WATCHERS): number[] {
  if (env === undefined || env.trim() === "") return DEFAULT_WATCHERS;
  const counts = env.split(",").map((part) => Number(part.trim()));
  if (counts.some((n) => !Number.isInteger(n) || n <= 0 || n > MAX_WATCHERS))
    throw new Error(`FULCRUM_BENCH_WATCHERS must be whole numbers from 1 to ${MAX_WATCHERS}, got ${env}`);
  return counts;
}

/** A forked client process and a way to ask it things, each answer awaited with a bound. */
class ClientProcess {
  private readonly child: ChildProcess;
  private readonly waiting: ((reply: WatchClientReply) => void)[] = [];
  private exit: Promise<void>;

  constructor() {
    this.child = fork(CLIENT, [], {
      cwd: REPO_ROOT,
      execArgv: ["--import", "tsx"],
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (reply: WatchClientReply) => this.waiting.shift()?.(reply));
    this.exit = new Promise((resolve) => this.child.once("exit", () => resolve()));
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  ask<T extends WatchClientReply["type"]>(
    command: WatchClientCommand,
    expect: T,
    timeoutMs: number,
  ): Promise<Extract<WatchClientReply, { type: T }>> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`watch client ${this.pid}: no "${expect}" in ${timeoutMs} ms`)),
        timeoutMs,
      );
      this.waiting.push((reply) => {
        clearTimeout(timer);
        if (reply.type === expect) resolve(reply as Extract<WatchClientReply, { type: T }>);
        else reject(new Error(`watch client ${this.pid}: expected "${expect}", got "${reply.type}"`));
      });
      void this.exit.then(() => reject(new Error(`watch client ${this.pid} exited`)));
      this.child.send(command);
    });
  }

  /** Asks it to close its streams and exit; kills it if it does not in time. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      if (this.child.connected) this.child.send({ type: "close" } satisfies WatchClientCommand);
      const timer = setTimeout(() => this.child.kill("SIGKILL"), 5_000);
      await this.exit;
      clearTimeout(timer);
    }
  }
}

function distribute(total: number, parts: number): number[] {
  // Whole connections per process, the remainder on the last.
  const perPart = Math.ceil(total / parts / STREAMS_PER_CONNECTION) * STREAMS_PER_CONNECTION;
  return Array.from({ length: parts }, (_, i) => Math.max(0, Math.min(perPart, total - i * perPart))).filter(
    (n) => n > 0,
  );
}

async function measureN(streams: number, options: BenchOptions): Promise<WatchRow> {
  const server = await startFulcrumProcess();
  const clients: ClientProcess[] = [];
  const api = benchClients(server.grpcPort);
  try {
    await registerBenchService(server.grpcPort);
    const witness = await openWitness(api);
    const shares = distribute(streams, Math.ceil(streams / STREAMS_PER_CLIENT));
    for (const _ of shares) clients.push(new ClientProcess());
    const opened = await Promise.all(
      clients.map((client, i) =>
        client.ask(
          {
            type: "open",
            port: server.grpcPort,
            service: BENCH_SERVICE,
            streams: shares[i]!,
            perConnection: STREAMS_PER_CONNECTION,
            timeoutMs: OPEN_TIMEOUT_MS,
          },
          "opened",
          OPEN_TIMEOUT_MS + REPLY_SLACK_MS,
        ),
      ),
    );
    const snapshots = opened.reduce((n, o) => n + o.snapshots, 0);
    const connections = opened.reduce((n, o) => n + o.connections, 0);
    const failure = opened.find((o) => o.firstError)?.firstError;
    options.progress(
      `${NAME}: ${streams} streams over ${connections} connections from ${clients.length} client process(es): ` +
        `${snapshots} snapshots${failure ? `; first failure: ${failure}` : ""}`,
    );
    if (snapshots < streams)
      throw new Error(`only ${snapshots} of ${streams} Watch streams got their snapshot`);

    const changes: ChangeDelivery[] = [];
    const loadAverage = loadavg()[0]!;
    const count = Math.max(MIN_CHANGES, options.pairs);
    const warmups = options.warmupSeconds > 0 ? 1 : 0;
    for (let i = 0; i < warmups + count; i++) {
      const backendId = `watch-${streams}-${i + 1}`;
      await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
      const cpuBefore = server.cpuSeconds();
      const start = now();
      await api.registry.register({
        service: BENCH_SERVICE,
        mode: RegisterMode.MERGE,
        backends: [{ id: backendId, address: `10.0.1.${(i % 250) + 1}:8080` }],
      });
      const registerMs = now() - start;
      const answeredBeforeFanOut = !witness.seen.has(backendId);
      const replies = await Promise.all(
        clients.map((client) =>
          client.ask(
            { type: "collect", backendId, timeoutMs: DELIVERY_TIMEOUT_MS },
            "collected",
            DELIVERY_TIMEOUT_MS + REPLY_SLACK_MS,
          ),
        ),
      );
      const cpuAfter = server.cpuSeconds();
      const delays = replies.flatMap((r) => r.times.map((t) => t - start));
      const serverCpuMs =
        cpuBefore === undefined || cpuAfter === undefined ? null : (cpuAfter - cpuBefore) * 1000;
      const change: ChangeDelivery = {
        backendId,
        delivered: delays.length,
        streams,
        p50Ms: percentile(delays, 50),
        p99Ms: percentile(delays, 99),
        maxMs: delays.length > 0 ? Math.max(...delays) : Number.NaN,
        firstMs: delays.length > 0 ? Math.min(...delays) : Number.NaN,
        registerMs,
        answeredBeforeFanOut,
        serverCpuMs,
        serverUsPerMessage:
          serverCpuMs === null || delays.length === 0 ? null : (serverCpuMs * 1000) / delays.length,
        clientCpuMs: replies.reduce((n, r) => n + r.cpuMs, 0),
      };
      const label = i < warmups ? "warm-up change" : `change ${i + 1 - warmups}/${count}`;
      options.progress(
        `${NAME}: ${streams} streams: ${label}: delivered ${change.delivered}/${streams}, ` +
          `p50 ${change.p50Ms.toFixed(1)} ms, p99 ${change.p99Ms.toFixed(1)} ms, max ${change.maxMs.toFixed(1)} ms ` +
          `(Register answered at ${registerMs.toFixed(1)} ms, ` +
          `${answeredBeforeFanOut ? "before" : "AFTER"} the fan-out reached its connection; ` +
          `first delivery at ${change.firstMs.toFixed(1)} ms; ` +
          `server CPU ${change.serverCpuMs?.toFixed(0) ?? "-"} ms, ` +
          `${change.serverUsPerMessage?.toFixed(1) ?? "-"} us per delivered message; ` +
          `client CPU ${change.clientCpuMs.toFixed(0)} ms)`,
      );
      if (i >= warmups) changes.push(change);
    }
    return toRow(streams, connections, clients.length, changes, loadAverage);
  } finally {
    api.close();
    await Promise.all(clients.map((client) => client.stop()));
    for (const client of clients) options.progress(`${NAME}: watch client (pid ${client.pid}) stopped`);
    await server.stop();
    options.progress(`${NAME}: server (pid ${server.pid}) stopped`);
  }
}

/** The witness Watch (see ChangeDelivery): when each added backend reached it. */
async function openWitness(api: ReturnType<typeof benchClients>): Promise<{ seen: Map<string, number> }> {
  const seen = new Map<string, number>();
  let opened!: () => void;
  const snapshot = new Promise<void>((resolve) => {
    opened = resolve;
  });
  const read = async () => {
    for await (const message of api.balancer.watch({ services: [BENCH_SERVICE] })) {
      if (message.event.case === "snapshot") opened();
      else if (message.event.case === "backendAdded") seen.set(message.event.value.backend?.id ?? "", now());
    }
  };
  // It ends when the bench closes the connection.
  read().catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    snapshot,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error("witness Watch: no snapshot")), WITNESS_TIMEOUT_MS);
    }),
  ]).finally(() => clearTimeout(timer));
  return { seen };
}

function toRow(
  streams: number,
  connections: number,
  clientProcesses: number,
  changes: ChangeDelivery[],
  loadAverage: number,
): WatchRow {
  const target = streams >= TARGET_WATCHERS ? 1 : null;
  const pairs = changes.map((c) => {
    const subject: Sample = { rate: c.p99Ms, p50Ms: c.p50Ms, p99Ms: c.p99Ms };
    if (c.serverCpuMs !== null && c.maxMs > 0)
      Object.assign(subject, { serverCores: c.serverCpuMs / Math.max(c.maxMs, 1) });
    return { subject, baseline: { rate: TARGET_P99_MS }, ratio: TARGET_P99_MS / c.p99Ms };
  });
  const ratio = spread(pairs.map((p) => p.ratio));
  const p50Ms = spread(changes.map((c) => c.p50Ms));
  const p99Ms = spread(changes.map((c) => c.p99Ms));
  const maxMs = spread(changes.map((c) => c.maxMs));
  const minDelivered = Math.min(...changes.map((c) => c.delivered));
  const cores = pairs.map((p) => p.subject.serverCores).filter((n): n is number => n !== undefined);
  const serverCpu = changes.map((c) => c.serverCpuMs).filter((n): n is number => n !== null);
  const perMessage = changes.map((c) => c.serverUsPerMessage).filter((n): n is number => n !== null);
  const answeredFirst = changes.filter((c) => c.answeredBeforeFanOut).length;
  return {
    bench: NAME,
    row: `one change to ${streams.toLocaleString("en-US")} Watch streams, gRPC port (grpc-js)`,
    subject: "p99 delivery",
    baseline: `target ${TARGET_P99_MS} ms (absolute, no baseline)`,
    unit: "ms",
    target,
    subjectRate: p99Ms,
    baselineRate: { median: TARGET_P99_MS, min: TARGET_P99_MS, max: TARGET_P99_MS },
    ratio,
    subjectP99Ms: p99Ms.median,
    baselineP99Ms: null,
    subjectServerCores: cores.length > 0 ? median(cores) : null,
    baselineServerCores: null,
    meetsTarget: target === null ? null : p99Ms.median < TARGET_P99_MS,
    pairs,
    note:
      `absolute, median (min-max) over ${changes.length} changes: p50 ${fmt(p50Ms)} ms, p99 ${fmt(p99Ms)} ms, ` +
      `max ${fmt(maxMs)} ms; delivered to at least ${minDelivered}/${streams} streams per change; ` +
      `${connections} connections (${STREAMS_PER_CONNECTION} streams each), ${clientProcesses} client process(es); ` +
      `per change (median): server CPU ${serverCpu.length > 0 ? median(serverCpu).toFixed(0) : "-"} ms ` +
      `(${perMessage.length > 0 ? median(perMessage).toFixed(1) : "-"} us per delivered message), ` +
      `client CPU ${median(changes.map((c) => c.clientCpuMs)).toFixed(0)} ms, ` +
      `Register answered in ${median(changes.map((c) => c.registerMs)).toFixed(0)} ms, ` +
      `first delivery at ${median(changes.map((c) => c.firstMs)).toFixed(0)} ms ` +
      `(Register answered before the fan-out in ${answeredFirst}/${changes.length} changes, ` +
      `seen on a witness Watch on its connection); ` +
      `load average ${loadAverage.toFixed(1)} before the changes; ` +
      `ratio = ${TARGET_P99_MS} ms / p99`,
    watch: { streams, connections, clientProcesses, p50Ms, p99Ms, maxMs, minDelivered, loadAverage, changes },
  };
}

function fmt(s: ReturnType<typeof spread>): string {
  return `${s.median.toFixed(1)} (${s.min.toFixed(1)}-${s.max.toFixed(1)})`;
}

/** The `watch` bench. */
export const watchBench: Bench = {
  name: NAME,
  description: "one Register fanned out to 1,000 and 10,000 Watch streams: p50/p99/max delivery (absolute)",
  async run(options) {
    const rows: WatchRow[] = [];
    for (const streams of watcherCounts()) rows.push(await measureN(streams, options));
    return rows;
  },
};
