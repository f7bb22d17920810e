/**
 * `memory`: what 10,000 backends and 100,000 pinned sessions cost in resident memory. A real
 * server in its own process (`fulcrum serve`, in memory); its RSS (VmRSS of /proc/<pid>/status)
 * is read at four points. A reading waits a short settle period, forces a full garbage
 * collection, reads the JS heap in use (`nodejs_heap_size_used_bytes` from /metrics), then
 * samples RSS once a second until it has held still (5 samples within 1 MiB) and at least
 * 20 s have passed (at most 60 s): RSS goes on falling for many seconds after activity and
 * after a collection. The reading is the median of the last 5 samples.
 *
 * 0. fresh: the process just started (informational; startup garbage is returned late).
 * 1. empty: after a warm-up service (10 backends, Selects with and without sessions, their
 *    Reports, EndSession) has been registered, used and deregistered, so one-off costs (code
 *    compiled for Register and Select, the HTTP/2 connection's buffers) fall in the baseline
 *    rather than in the first per-item figure.
 * 2. backends: one HYBRID service with 10,000 backends (max_connections 0: no pin limit),
 *    registered in chunks of 2,500 (REPLACE, then MERGE; about 66 KB per message, far below
 *    max_message_bytes), then one Select without a session per backend (round robin visits
 *    each once) and its Report, so per-backend state created on first use is counted here.
 * 3. sessions: 100,000 Selects with session_id s-<i> and command "GROUP x" (stateful in the
 *    NNTP set: each pins its session), 64 in flight over one HTTP/2 connection; every ticket
 *    is Reported (batches of 500), so what remains is the pins, not the 60 s ticket leases.
 *    GetService then confirms 100,000 pins and nothing in flight.
 *
 * Bytes per backend = (2 - 1) / 10,000; bytes per session = (3 - 2) / 100,000; the heap the
 * same way. The collection is forced over the V8 inspector: the server is started with
 * `--inspect=127.0.0.1:<free port>` in NODE_OPTIONS and sent `HeapProfiler.collectGarbage`;
 * if that fails the readings are taken without it and the row's note says so. One fresh
 * server per run, `--pairs` runs (median, min-max); `--seconds` and `--warmup` do not apply.
 * FULCRUM_BENCH_MEMORY_SCALE=0.01 scales both counts (100 backends, 1,000 sessions) and
 * shortens the settle periods, for the smoke run. Absolute, no target: in the table the
 * "rate" is the bytes per item, the "baseline" the RSS it is measured from, and the ratio
 * RSS after over RSS before.
 */
import { on, once } from "node:events";
import { readFileSync } from "node:fs";
import { create, toBinary } from "@bufbuild/protobuf";
import { WebSocket } from "ws";
import { RegisterMode, RegisterRequestSchema } from "../gen/fulcrum/v1/registry_pb.js";
import { CallResult, RoutingMode, SessionMode, Strategy } from "../gen/fulcrum/v1/types_pb.js";
import { freePort } from "../test/support/free-port.js";
import { benchClients } from "./fulcrum-client.js";
import { type FulcrumProcess, startFulcrumProcess } from "./fulcrum-process.js";
import { type Bench, type BenchOptions, type ResultRow, type Spread, spread } from "./harness.js";

const NAME = "memory";
const SERVICE = "memory";
const WARMUP_SERVICE = "memory-warmup";
const FULL_BACKENDS = 10_000;
const FULL_SESSIONS = 100_000;
/** Selects in flight at once, over one HTTP/2 connection. */
const IN_FLIGHT = 64;
/** Backends per Register call: about 66 KB encoded, far below max_message_bytes (4 MiB). */
const REGISTER_CHUNK = 2_500;
/** Tickets per Report call (max_report_batch is 1,000). */
const REPORT_BATCH = 500;
const WARMUP_BACKENDS = 10;
const WARMUP_SELECTS = 2_000;
const WARMUP_SESSIONS = 500;
/**
 * How long a reading waits. RSS keeps falling for a while after activity and after a
 * collection (freed memory is returned to the system late: 15 s and more after a collection
 * on the dev machine), so after the collection RSS is sampled until it has held still over
 * `STABLE_SAMPLES` samples (within `STABLE_BYTES`) and `minForcedSettleMs` has passed, or
 * `maxForcedSettleMs` has. A scale below 1 (the smoke run) uses the quick timing.
 */
export interface Timing {
  /** Quiet time before the forced collection. */
  readonly settleMs: number;
  readonly minForcedSettleMs: number;
  readonly maxForcedSettleMs: number;
  readonly sampleGapMs: number;
}
const FULL_TIMING: Timing = {
  settleMs: 2_000,
  minForcedSettleMs: 20_000,
  maxForcedSettleMs: 60_000,
  sampleGapMs: 1_000,
};
const QUICK_TIMING: Timing = {
  settleMs: 300,
  minForcedSettleMs: 1_000,
  maxForcedSettleMs: 5_000,
  sampleGapMs: 200,
};
const STABLE_SAMPLES = 5;
const STABLE_BYTES = 1024 * 1024;
/** Bounds: the Selects of one phase, one inspector call. */
const PHASE_TIMEOUT_MS = 600_000;
const INSPECTOR_TIMEOUT_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Backend and session counts, from FULCRUM_BENCH_MEMORY_SCALE (0 < scale <= 1, default 1). */
export function memoryCounts(env: string | undefined = process.env.FULCRUM_BENCH_MEMORY_SCALE): {
  backends: number;
  sessions: number;
  timing: Timing;
} {
  const scale = env === undefined || env.trim() === "" ? 1 : Number(env);
  if (!Number.isFinite(scale) || scale <= 0 || scale > 1)
    throw new Error(`FULCRUM_BENCH_MEMORY_SCALE must be a number in (0, 1], got ${env}`);
  return {
    backends: Math.max(1, Math.round(FULL_BACKENDS * scale)),
    sessions: Math.max(1, Math.round(FULL_SESSIONS * scale)),
    timing: scale < 1 ? QUICK_TIMING : FULL_TIMING,
  };
}

/** One reading of the server's memory. */
export interface MemoryReading {
  /** Resident set size, bytes (median of the samples). */
  readonly rssBytes: number;
  /** JS heap in use, bytes, from /metrics. */
  readonly heapUsedBytes: number;
  /** Whether a full collection was forced before it. */
  readonly gcForced: boolean;
  /** Seconds RSS was sampled after the collection, and whether it held still at the end. */
  readonly settledSeconds: number;
  readonly stable: boolean;
  /** Every RSS sample after the collection, MiB. */
  readonly rssSamplesMiB: readonly number[];
}

/** One run: a fresh server taken from empty to backends to sessions. */
export interface MemoryRun {
  readonly backends: number;
  readonly sessions: number;
  /** The fresh process, before the warm-up service. */
  readonly fresh: MemoryReading;
  readonly empty: MemoryReading;
  readonly withBackends: MemoryReading;
  readonly withSessions: MemoryReading;
  readonly rssPerBackend: number;
  readonly rssPerSession: number;
  readonly heapPerBackend: number;
  readonly heapPerSession: number;
  /** Largest Register message sent, bytes. */
  readonly registerMessageBytes: number;
  /** Pinning Selects per second (with their Reports). */
  readonly pinRate: number;
  /** Server CPU over the pinning phase, in cores. */
  readonly pinServerCores: number | null;
}

/** A memory row: the shared row shape plus every run's readings. */
export interface MemoryRow extends ResultRow {
  readonly memory: {
    readonly perItem: Spread;
    readonly heapPerItem: Spread;
    readonly runs: readonly MemoryRun[];
  };
}

// --- the V8 inspector, just enough to force a collection -------------------------------------

/** Sends one Chrome DevTools Protocol command to `wsUrl` (over the `ws` client); resolves with its answer. */
async function cdpCall(wsUrl: string, method: string): Promise<unknown> {
  const socket = new WebSocket(wsUrl, { handshakeTimeout: INSPECTOR_TIMEOUT_MS });
  try {
    await once(socket, "open", { signal: AbortSignal.timeout(INSPECTOR_TIMEOUT_MS) });
    socket.send(JSON.stringify({ id: 1, method }));
    for await (const [data] of on(socket, "message", { signal: AbortSignal.timeout(INSPECTOR_TIMEOUT_MS) })) {
      const message = JSON.parse(String(data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      if (message.id !== 1) continue;
      if (message.error) throw new Error(`inspector: ${method}: ${message.error.message}`);
      return message.result;
    }
    throw new Error(`inspector: no answer to ${method}`);
  } finally {
    socket.terminate();
  }
}

/** The server process plus its inspector port. */
interface Server {
  readonly process: FulcrumProcess;
  readonly inspectorPort: number;
}

/**
 * Starts `fulcrum serve` with the inspector on a free loopback port. NODE_OPTIONS is set only
 * for the synchronous spawn inside startFulcrumProcess and restored at once.
 */
async function startServer(): Promise<Server> {
  const inspectorPort = await freePort();
  const saved = process.env.NODE_OPTIONS;
  process.env.NODE_OPTIONS = `${saved ?? ""} --inspect=127.0.0.1:${inspectorPort}`.trim();
  let started: Promise<FulcrumProcess>;
  try {
    started = startFulcrumProcess();
  } finally {
    if (saved === undefined) delete process.env.NODE_OPTIONS;
    else process.env.NODE_OPTIONS = saved;
  }
  return { process: await started, inspectorPort };
}

/** Forces a full collection in the server (twice: the first may leave finalized objects); false when the inspector cannot be reached. */
async function forceGc(server: Server, progress: (line: string) => void): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${server.inspectorPort}/json/list`, {
      signal: AbortSignal.timeout(INSPECTOR_TIMEOUT_MS),
    });
    const targets = (await response.json()) as { webSocketDebuggerUrl?: string }[];
    const wsUrl = targets.find((t) => t.webSocketDebuggerUrl)?.webSocketDebuggerUrl;
    if (!wsUrl) throw new Error("inspector: no debuggable target");
    await cdpCall(wsUrl, "HeapProfiler.collectGarbage");
    await cdpCall(wsUrl, "HeapProfiler.collectGarbage");
    return true;
  } catch (error) {
    progress(`${NAME}: could not force a collection (${(error as Error).message}); reading without it`);
    return false;
  }
}

// --- readings -----------------------------------------------------------------------------------

async function scrape(webPort: number): Promise<Map<string, number>> {
  const response = await fetch(`http://127.0.0.1:${webPort}/metrics`, {
    signal: AbortSignal.timeout(INSPECTOR_TIMEOUT_MS),
  });
  const values = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    const match = /^([a-z_]+) ([0-9.e+-]+)$/.exec(line);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

function vmRss(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

async function read(
  server: Server,
  label: string,
  timing: Timing,
  progress: (line: string) => void,
): Promise<MemoryReading> {
  const { pid, webPort } = server.process;
  await sleep(timing.settleMs);
  const gcForced = await forceGc(server, progress);
  // The heap right after the collection; RSS once it has settled.
  const metrics = await scrape(webPort);
  const start = performance.now();
  const samples: number[] = [];
  let stable = false;
  let elapsed = 0;
  while (elapsed < timing.maxForcedSettleMs) {
    await sleep(timing.sampleGapMs);
    // Off Linux, the figure prom-client reports (also from /proc there, so the same thing).
    samples.push(vmRss(pid) ?? (await scrape(webPort)).get("process_resident_memory_bytes") ?? Number.NaN);
    elapsed = performance.now() - start;
    const window = samples.slice(-STABLE_SAMPLES);
    stable = window.length === STABLE_SAMPLES && Math.max(...window) - Math.min(...window) <= STABLE_BYTES;
    if (stable && elapsed >= timing.minForcedSettleMs) break;
  }
  const reading: MemoryReading = {
    rssBytes: spread(samples.slice(-STABLE_SAMPLES)).median,
    heapUsedBytes: metrics.get("nodejs_heap_size_used_bytes") ?? Number.NaN,
    gcForced,
    settledSeconds: elapsed / 1000,
    stable,
    rssSamplesMiB: samples.map((b) => Math.round((b / 1024 / 1024) * 10) / 10),
  };
  progress(
    `${NAME}: ${label}: RSS ${mib(reading.rssBytes)} MiB${stable ? "" : " (NOT settled)"} after ` +
      `${reading.settledSeconds.toFixed(0)} s, heap used ${mib(reading.heapUsedBytes)} MiB` +
      `${gcForced ? " (after a forced collection)" : ""}`,
  );
  return reading;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}

// --- load ---------------------------------------------------------------------------------------

type Clients = ReturnType<typeof benchClients>;

function backendList(count: number, prefix: string) {
  return Array.from({ length: count }, (_, i) => ({
    id: `${prefix}${i}`,
    address: `10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}:8080`,
    maxConnections: 0,
  }));
}

/** Registers `service` (HYBRID, round robin) with `count` backends in chunks; returns the largest message's size. */
async function register(clients: Clients, service: string, count: number, prefix: string): Promise<number> {
  const backends = backendList(count, prefix);
  let largest = 0;
  for (let start = 0; start < count; start += REGISTER_CHUNK) {
    const request = create(RegisterRequestSchema, {
      service,
      mode: start === 0 ? RegisterMode.REPLACE : RegisterMode.MERGE,
      backends: backends.slice(start, start + REGISTER_CHUNK),
      ...(start === 0 && {
        config: {
          strategy: { strategy: Strategy.ROUND_ROBIN },
          session: { routingMode: RoutingMode.HYBRID },
        },
      }),
    });
    largest = Math.max(largest, toBinary(RegisterRequestSchema, request).length);
    await clients.registry.register(request);
  }
  const listed = await clients.registry.listServices({ prefix: service });
  const summary = listed.services.find((s) => s.name === service);
  if (summary?.backends !== count)
    throw new Error(`${service}: registered ${count} backends, ListServices says ${summary?.backends}`);
  return largest;
}

/**
 * `count` Selects, `IN_FLIGHT` at once; every ticket is Reported in batches. `sessionOf(i)`
 * gives the i-th Select's session (undefined: none). Returns Selects per second.
 */
async function selectAll(
  clients: Clients,
  service: string,
  count: number,
  sessionOf: (i: number) => string | undefined,
): Promise<number> {
  const start = performance.now();
  const deadline = start + PHASE_TIMEOUT_MS;
  let next = 0;
  let pending: string[] = [];
  const flush = async () => {
    const tickets = pending;
    pending = [];
    if (tickets.length === 0) return;
    const answer = await clients.balancer.report({
      outcomes: tickets.map((ticket) => ({ ticket, result: CallResult.SUCCESS })),
    });
    if (answer.applied !== tickets.length)
      throw new Error(`Report applied ${answer.applied} of ${tickets.length} outcomes`);
  };
  const worker = async () => {
    while (next < count) {
      if (performance.now() > deadline)
        throw new Error(`${service}: Selects did not finish in ${PHASE_TIMEOUT_MS} ms`);
      const i = next++;
      const sessionId = sessionOf(i);
      const response = await clients.balancer.select(
        sessionId === undefined ? { service } : { service, sessionId, command: "GROUP x" },
      );
      if (response.backends.length !== 1) throw new Error(`${service}: Select ${i} returned no backend`);
      if (sessionId !== undefined && response.sessionMode !== SessionMode.STATEFUL)
        throw new Error(
          `${service}: session ${sessionId} was not pinned (session_mode ${response.sessionMode})`,
        );
      pending.push(response.ticket);
      if (pending.length >= REPORT_BATCH) await flush();
    }
  };
  await Promise.all(Array.from({ length: Math.min(IN_FLIGHT, count) }, worker));
  await flush();
  return count / ((performance.now() - start) / 1000);
}

/** Registers, uses and removes a small service, so one-off costs land before the empty reading. */
async function warmUp(clients: Clients): Promise<void> {
  await register(clients, WARMUP_SERVICE, WARMUP_BACKENDS, "w");
  await selectAll(clients, WARMUP_SERVICE, WARMUP_SELECTS, () => undefined);
  await selectAll(clients, WARMUP_SERVICE, WARMUP_SESSIONS, (i) => `w-${i}`);
  for (let i = 0; i < WARMUP_SESSIONS; i++)
    await clients.balancer.endSession({ service: WARMUP_SERVICE, sessionId: `w-${i}` });
  await clients.registry.deregister({ service: WARMUP_SERVICE });
  const listed = await clients.registry.listServices({});
  if (listed.services.length > 0)
    throw new Error(
      `the server is not empty after the warm-up: ${listed.services.map((s) => s.name).join(", ")}`,
    );
}

async function measureRun(run: number, runs: number, options: BenchOptions): Promise<MemoryRun> {
  const { backends, sessions, timing } = memoryCounts();
  const progress = (line: string) =>
    options.progress(line.replace(`${NAME}: `, `${NAME}: run ${run}/${runs}: `));
  const server = await startServer();
  const clients = benchClients(server.process.grpcPort);
  try {
    const fresh = await read(server, "fresh process", timing, progress);
    await warmUp(clients);
    const empty = await read(server, "empty (after the warm-up service)", timing, progress);

    const registerMessageBytes = await register(clients, SERVICE, backends, "b");
    await selectAll(clients, SERVICE, backends, () => undefined);
    const withBackends = await read(server, `${backends} backends`, timing, progress);

    const cpuBefore = server.process.cpuSeconds();
    const pinStart = performance.now();
    const pinRate = await selectAll(clients, SERVICE, sessions, (i) => `s-${i}`);
    const cpuAfter = server.process.cpuSeconds();
    const pinServerCores =
      cpuBefore === undefined || cpuAfter === undefined
        ? null
        : (cpuAfter - cpuBefore) / ((performance.now() - pinStart) / 1000);
    progress(`${NAME}: ${sessions} sessions pinned at ${Math.round(pinRate)} Selects/s`);
    const status = await clients.registry.getService({ service: SERVICE });
    const states = status.service?.backends ?? [];
    const pinned = states.reduce((n, b) => n + b.pinnedSessions, 0);
    const inFlight = states.reduce((n, b) => n + b.inFlight, 0);
    if (pinned !== sessions || inFlight !== 0)
      throw new Error(
        `GetService: ${pinned} pinned sessions (want ${sessions}), ${inFlight} in flight (want 0)`,
      );
    const withSessions = await read(
      server,
      `${backends} backends, ${sessions} pinned sessions`,
      timing,
      progress,
    );

    return {
      backends,
      sessions,
      fresh,
      empty,
      withBackends,
      withSessions,
      rssPerBackend: (withBackends.rssBytes - empty.rssBytes) / backends,
      rssPerSession: (withSessions.rssBytes - withBackends.rssBytes) / sessions,
      heapPerBackend: (withBackends.heapUsedBytes - empty.heapUsedBytes) / backends,
      heapPerSession: (withSessions.heapUsedBytes - withBackends.heapUsedBytes) / sessions,
      registerMessageBytes,
      pinRate,
      pinServerCores,
    };
  } catch (error) {
    // Say whether the server was still there: a failed call may be the server going away.
    let alive = true;
    try {
      process.kill(server.process.pid, 0);
    } catch {
      alive = false;
    }
    throw new Error(
      `${(error as Error).message} (the server, pid ${server.process.pid}, had ${alive ? "not " : ""}exited)`,
      { cause: error },
    );
  } finally {
    clients.close();
    await server.process.stop();
    options.progress(`${NAME}: server (pid ${server.process.pid}) stopped`);
  }
}

function row(runs: readonly MemoryRun[], kind: "backend" | "session"): MemoryRow {
  const first = runs[0]!;
  const perItem = spread(runs.map((r) => (kind === "backend" ? r.rssPerBackend : r.rssPerSession)));
  const heapPerItem = spread(runs.map((r) => (kind === "backend" ? r.heapPerBackend : r.heapPerSession)));
  const before = (r: MemoryRun) => (kind === "backend" ? r.empty : r.withBackends).rssBytes;
  const after = (r: MemoryRun) => (kind === "backend" ? r.withBackends : r.withSessions).rssBytes;
  const pairs = runs.map((r) => ({
    subject: { rate: kind === "backend" ? r.rssPerBackend : r.rssPerSession },
    baseline: { rate: before(r) },
    ratio: after(r) / before(r),
  }));
  const count = (n: number) => n.toLocaleString("en-US");
  const mibSpread = (pick: (r: MemoryRun) => number) => {
    const s = spread(runs.map(pick));
    return `${mib(s.median)} (${mib(s.min)}-${mib(s.max)})`;
  };
  const forced = runs.every((r) =>
    [r.fresh, r.empty, r.withBackends, r.withSessions].every((m) => m.gcForced),
  );
  const cores = runs.map((r) => r.pinServerCores).filter((n): n is number => n !== null);
  return {
    bench: NAME,
    row:
      kind === "backend"
        ? `RSS per backend, ${count(first.backends)} backends in one service`
        : `RSS per pinned session, ${count(first.sessions)} sessions on ${count(first.backends)} backends`,
    subject: kind === "backend" ? "bytes per backend" : "bytes per pinned session",
    baseline: kind === "backend" ? "empty server RSS" : `RSS with ${count(first.backends)} backends`,
    unit: "B",
    target: null,
    subjectRate: perItem,
    baselineRate: spread(pairs.map((p) => p.baseline.rate)),
    ratio: spread(pairs.map((p) => p.ratio)),
    subjectP99Ms: null,
    baselineP99Ms: null,
    subjectServerCores: kind === "session" && cores.length > 0 ? spread(cores).median : null,
    baselineServerCores: null,
    meetsTarget: null,
    pairs,
    note:
      `absolute, median (min-max) over ${runs.length} run(s), one fresh server each; ` +
      `RSS MiB: fresh ${mibSpread((r) => r.fresh.rssBytes)}, empty ${mibSpread((r) => r.empty.rssBytes)}, ` +
      `${count(first.backends)} backends ${mibSpread((r) => r.withBackends.rssBytes)}, ` +
      `+ ${count(first.sessions)} sessions ${mibSpread((r) => r.withSessions.rssBytes)}; ` +
      `JS heap used per ${kind} ${heapPerItem.median.toFixed(0)} (${heapPerItem.min.toFixed(0)}-${heapPerItem.max.toFixed(0)}) B; ` +
      (kind === "session"
        ? `pinned at ${Math.round(spread(runs.map((r) => r.pinRate)).median)} Selects/s (${IN_FLIGHT} in flight, ` +
          `Reports in batches of ${REPORT_BATCH}); `
        : `Register in chunks of ${count(REGISTER_CHUNK)}, largest message ${count(Math.max(...runs.map((r) => r.registerMessageBytes)))} B; `) +
      `${forced ? "every reading after a forced full collection" : "NOT every reading after a forced collection (inspector unreachable)"}; ` +
      "ratio = RSS after / RSS before",
    memory: { perItem, heapPerItem, runs },
  };
}

/** The `memory` bench. */
export const memoryBench: Bench = {
  name: NAME,
  description:
    "RSS of 10,000 backends and 100,000 pinned sessions over an empty server: bytes per backend and per session",
  async run(options) {
    const runs: MemoryRun[] = [];
    for (let i = 1; i <= options.pairs; i++) runs.push(await measureRun(i, options.pairs, options));
    return [row(runs, "backend"), row(runs, "session")];
  },
};
