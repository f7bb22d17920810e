/**
 * `stream`: what the streaming RPCs buy over their unary twins on the same port and process.
 * Decisions/s over SelectStream (bidi, a bounded window of requests in flight) against unary
 * Select; outcomes/s over StreamReports (batches of outcomes named by service + backend_id)
 * against unary Report of one outcome per call. Targets: decisions >= 5x unary Select,
 * outcomes >= 10x unary Report (docs/performance.md). Both sides use the cheapest client there is,
 * so the server is the limit, not the client: the streams a raw HTTP/2 driver with
 * pre-encoded frames (grpc-stream-driver.ts), the unary calls h2load with 50 calls in flight
 * (or a connect client with 50 in flight when h2load is missing). The server runs in its own
 * process; the CPU it used is reported beside each rate.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import {
  ReportRequestSchema,
  SelectRequestSchema,
  SelectStreamRequestSchema,
  SelectStreamResponseSchema,
  StreamReportsRequestSchema,
  StreamReportsResponseSchema,
} from "../gen/fulcrum/v1/balancer_pb.js";
import { CallResult } from "../gen/fulcrum/v1/types_pb.js";
import { BENCH_BACKENDS, BENCH_SERVICE, benchClients, registerBenchService } from "./fulcrum-client.js";
import { type FulcrumProcess, startFulcrumProcess } from "./fulcrum-process.js";
import { clientStream, closeH2c, connectH2c, pipelineBidi } from "./grpc-stream-driver.js";
import {
  expectGrpcOk,
  findGrpcLoadTools,
  type GrpcLoadTools,
  grpcFrame,
  h2loadMeasure,
  writeGrpcBody,
} from "./h2load.js";
import {
  type Bench,
  type BenchOptions,
  type BenchRow,
  closedLoop,
  comparePairs,
  type Measure,
  type ResultRow,
  type Sample,
  withServerCores,
} from "./harness.js";

const NAME = "stream";
/** Unary calls in flight at once, for both unary baselines: h2load -c 5 -m 10, or 50 JS loops. */
const UNARY_CONNECTIONS = 5;
const UNARY_STREAMS_PER_CONNECTION = 10;
const UNARY_IN_FLIGHT = UNARY_CONNECTIONS * UNARY_STREAMS_PER_CONNECTION;
/** SelectStream: streams (one connection each), requests in flight on each, requests per write. */
const SELECT_STREAMS = 2;
const SELECT_WINDOW = 200;
const SELECT_CHUNK = 20;
/** StreamReports: streams (one connection each), outcomes per message, messages per write. */
const REPORT_STREAMS = 2;
const OUTCOMES_PER_MESSAGE = 100;
const REPORT_CHUNK = 10;
/** Hard cap on operations per measured second, so every loop is bounded in count as well as time. */
const MAX_OPS_PER_SECOND = 5_000_000;
/** How long a stream may take past its deadline to answer what is in flight. */
const DRAIN_TIMEOUT_MS = 10_000;
const DECISIONS_TARGET = 5;
/** docs/performance.md: server CPU per SelectStream decision, at most. */
const CPU_PER_DECISION_TARGET_US = 15;
const OUTCOMES_TARGET = 10;
const SELECT_REQUEST = { service: BENCH_SERVICE };
const SELECT_PATH = "/fulcrum.v1.BalancerService/Select";
const REPORT_PATH = "/fulcrum.v1.BalancerService/Report";
const SELECT_STREAM_PATH = "/fulcrum.v1.BalancerService/SelectStream";
const STREAM_REPORTS_PATH = "/fulcrum.v1.BalancerService/StreamReports";

type Clients = ReturnType<typeof benchClients>;

function outcome(i: number) {
  return {
    service: BENCH_SERVICE,
    backendId: `b${(i % BENCH_BACKENDS) + 1}`,
    result: CallResult.SUCCESS,
    latency: { seconds: 0n, nanos: 1_000_000 },
  };
}

const SELECT_STREAM_FRAME = grpcFrame(
  toBinary(
    SelectStreamRequestSchema,
    create(SelectStreamRequestSchema, { requestId: 1n, select: SELECT_REQUEST }),
  ),
);
const STREAM_REPORTS_FRAME = grpcFrame(
  toBinary(
    StreamReportsRequestSchema,
    create(StreamReportsRequestSchema, {
      outcomes: Array.from({ length: OUTCOMES_PER_MESSAGE }, (_, i) => outcome(i)),
    }),
  ),
);

/** Throws unless a SelectStreamResponse carries a response (field 2), not an error (field 3). */
function checkDecision(answer: Buffer): void {
  let offset = 0;
  // request_id (field 1, varint) comes first when set; skip it.
  if (answer[offset] === 0x08) {
    offset++;
    while (offset < answer.length && (answer[offset]! & 0x80) !== 0) offset++;
    offset++;
  }
  if (answer[offset] === 0x12) return;
  const decoded = fromBinary(SelectStreamResponseSchema, answer);
  throw new Error(
    `SelectStream answered ${JSON.stringify(decoded.result.case === "error" ? decoded.result.value.message : decoded.result.case)}`,
  );
}

async function measureSelectStream(port: number, seconds: number): Promise<Sample> {
  const sessions = await Promise.all(Array.from({ length: SELECT_STREAMS }, () => connectH2c(port)));
  try {
    const start = performance.now();
    const deadline = start + seconds * 1000;
    const cap = Math.ceil((seconds * MAX_OPS_PER_SECOND) / SELECT_STREAMS);
    const counts = await Promise.all(
      sessions.map((session) =>
        pipelineBidi({
          session,
          path: SELECT_STREAM_PATH,
          frame: SELECT_STREAM_FRAME,
          window: SELECT_WINDOW,
          chunk: SELECT_CHUNK,
          deadline,
          cap,
          drainMs: DRAIN_TIMEOUT_MS,
          check: checkDecision,
        }),
      ),
    );
    const decisions = counts.reduce((a, b) => a + b, 0);
    return { rate: decisions / ((performance.now() - start) / 1000) };
  } finally {
    await Promise.all(sessions.map(closeH2c));
  }
}

async function measureStreamReports(port: number, seconds: number): Promise<Sample> {
  const sessions = await Promise.all(Array.from({ length: REPORT_STREAMS }, () => connectH2c(port)));
  try {
    const start = performance.now();
    const deadline = start + seconds * 1000;
    const cap = Math.ceil((seconds * MAX_OPS_PER_SECOND) / OUTCOMES_PER_MESSAGE / REPORT_STREAMS);
    const results = await Promise.all(
      sessions.map((session) =>
        clientStream({
          session,
          path: STREAM_REPORTS_PATH,
          frame: STREAM_REPORTS_FRAME,
          chunk: REPORT_CHUNK,
          deadline,
          cap,
          drainMs: DRAIN_TIMEOUT_MS,
        }),
      ),
    );
    let outcomes = 0;
    for (const { answer, sent } of results) {
      const response = fromBinary(StreamReportsResponseSchema, answer);
      const expected = sent * OUTCOMES_PER_MESSAGE;
      if (response.rejected > 0 || response.applied !== expected)
        throw new Error(
          `StreamReports applied ${response.applied} of ${expected}, rejected ${response.rejected}: ` +
            JSON.stringify(response.errors.map((e) => e.message)),
        );
      outcomes += response.applied;
    }
    // Elapsed runs to the server's answer, so batches still queued at the deadline are paid for.
    return { rate: outcomes / ((performance.now() - start) / 1000) };
  } finally {
    await Promise.all(sessions.map(closeH2c));
  }
}

/** The unary baselines of one port: h2load when it is there, the JS client otherwise. */
async function unaryMeasures(
  base: string,
  clients: Clients,
  h2load: { tools: GrpcLoadTools; dir: string; tag: string } | undefined,
): Promise<{ select: Measure; report: Measure; driver: string; caveat: string }> {
  const reportRequest = { outcomes: [outcome(0)] };
  if (!h2load) {
    return {
      select: (seconds) =>
        closedLoop(seconds, UNARY_IN_FLIGHT, seconds * MAX_OPS_PER_SECOND, () =>
          clients.balancer.select(SELECT_REQUEST),
        ),
      report: (seconds) =>
        closedLoop(seconds, UNARY_IN_FLIGHT, seconds * MAX_OPS_PER_SECOND, () =>
          clients.balancer.report(reportRequest),
        ),
      driver: `connect client, ${UNARY_IN_FLIGHT} in flight`,
      caveat:
        "; h2load missing: the JS client, not the server, limits the unary side, so the ratio is overstated",
    };
  }
  const { tools, dir, tag } = h2load;
  const selectBody = writeGrpcBody(join(dir, "select.bin"), SelectRequestSchema, SELECT_REQUEST);
  const reportBody = writeGrpcBody(join(dir, "report.bin"), ReportRequestSchema, reportRequest);
  await expectGrpcOk(tools.curl, base + SELECT_PATH, selectBody);
  await expectGrpcOk(tools.curl, base + REPORT_PATH, reportBody);
  const measure = (path: string, bodyFile: string, what: string) =>
    h2loadMeasure({
      h2load: tools.h2load,
      url: base + path,
      bodyFile,
      clients: UNARY_CONNECTIONS,
      streams: UNARY_STREAMS_PER_CONNECTION,
      logFile: join(dir, `${tag}-${what}.log`),
    });
  return {
    select: measure(SELECT_PATH, selectBody, "select"),
    report: measure(REPORT_PATH, reportBody, "report"),
    driver: `h2load -c ${UNARY_CONNECTIONS} -m ${UNARY_STREAMS_PER_CONNECTION}`,
    caveat: "",
  };
}

interface Port {
  readonly label: string;
  readonly tag: string;
  readonly port: number;
}

async function portRows(
  server: FulcrumProcess,
  port: Port,
  tools: GrpcLoadTools | undefined,
  dir: string,
  options: BenchOptions,
): Promise<BenchRow[]> {
  const clients = benchClients(port.port);
  const cores = (measure: Measure) => withServerCores(measure, () => server.cpuSeconds());
  try {
    const base = `http://127.0.0.1:${port.port}`;
    const unary = await unaryMeasures(base, clients, tools && { tools, dir, tag: port.tag });
    const decisions = await comparePairs(
      {
        bench: NAME,
        row: `decisions, ${port.label}`,
        subject: `SelectStream (${SELECT_STREAMS} streams x ${SELECT_WINDOW} in flight)`,
        baseline: `unary Select (${unary.driver})`,
        unit: "decisions/s",
        target: DECISIONS_TARGET,
        measureSubject: cores((seconds) => measureSelectStream(port.port, seconds)),
        measureBaseline: cores(unary.select),
        note:
          "SelectStream driven by raw HTTP/2 with pre-encoded frames; every answer checked, then the call " +
          `is cancelled${unary.caveat}`,
      },
      options,
    );
    const outcomes = await comparePairs(
      {
        bench: NAME,
        row: `outcomes, ${port.label}`,
        subject: `StreamReports (${REPORT_STREAMS} streams, ${OUTCOMES_PER_MESSAGE} outcomes/message)`,
        baseline: `unary Report of 1 outcome (${unary.driver})`,
        unit: "outcomes/s",
        target: OUTCOMES_TARGET,
        measureSubject: cores((seconds) => measureStreamReports(port.port, seconds)),
        measureBaseline: cores(unary.report),
        note:
          "outcomes name service + backend_id with CALL_RESULT_SUCCESS; StreamReports driven by raw HTTP/2, " +
          `rate up to the server's answer, applied count checked${unary.caveat}`,
      },
      options,
    );
    return [withCpuPerDecision(decisions), outcomes];
  } finally {
    clients.close();
  }
}

/** Server CPU per message in us (cores / rate), for a row whose server CPU was read; the target is 15 us. */
function cpuPerMessageUs(cores: number | null, rate: number): string {
  return cores === null || rate <= 0 ? "-" : ((cores * 1e6) / rate).toFixed(1);
}

/** The decisions row with the server CPU per decision (median cores / median rate) in its note. */
function withCpuPerDecision(row: ResultRow): ResultRow {
  const stream = cpuPerMessageUs(row.subjectServerCores, row.subjectRate.median);
  const unary = cpuPerMessageUs(row.baselineServerCores, row.baselineRate.median);
  const cost = `server CPU per decision: SelectStream ${stream} us, unary Select ${unary} us (target <= ${CPU_PER_DECISION_TARGET_US} us)`;
  return { ...row, note: row.note ? `${row.note}; ${cost}` : cost };
}

/** The `stream` bench. */
export const streamBench: Bench = {
  name: NAME,
  description: "SelectStream vs unary Select (decisions/s), StreamReports vs unary Report (outcomes/s)",
  async run(options) {
    const found = findGrpcLoadTools();
    const tools = typeof found === "string" ? undefined : found;
    if (typeof found === "string") options.progress(`${NAME}: ${found}; unary baselines use the JS client`);
    const dir = mkdtempSync(join(tmpdir(), "fulcrum-bench-stream-"));
    const server = await startFulcrumProcess();
    try {
      await registerBenchService(server.grpcPort);
      const ports: Port[] = [
        { label: "gRPC port (grpc-js)", tag: "grpc", port: server.grpcPort },
        { label: "web port (connect-node, gRPC over h2c)", tag: "web", port: server.webPort },
      ];
      const rows: BenchRow[] = [];
      for (const port of ports) rows.push(...(await portRows(server, port, tools, dir, options)));
      return rows;
    } finally {
      await server.stop();
      options.progress(`${NAME}: server (pid ${server.pid}) stopped`);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
