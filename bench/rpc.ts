/**
 * `rpc`: unary Select (10 backends, round robin, in-memory state) driven by h2load with a
 * pre-encoded gRPC body, against the cost of the transport alone on the same port and process:
 * grpc.health.v1.Health/Check on the gRPC port (grpc-js). connect-node on the web port does not
 * serve grpc.health.v1, so there the baseline is the cheapest Fulcrum RPC instead: ListServices
 * with a prefix that matches nothing (same transport, interceptor and codec as Select).
 * Target: Select >= 0.90 x baseline; p99 reported (docs/performance.md).
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SelectRequestSchema } from "../gen/fulcrum/v1/balancer_pb.js";
import { ListServicesRequestSchema } from "../gen/fulcrum/v1/registry_pb.js";
import { BENCH_SERVICE, registerBenchService } from "./fulcrum-client.js";
import { type FulcrumProcess, startFulcrumProcess } from "./fulcrum-process.js";
import {
  expectGrpcOk,
  findGrpcLoadTools,
  type GrpcLoadTools,
  grpcFrame,
  grpcStatusOf,
  h2loadMeasure,
  writeGrpcBody,
} from "./h2load.js";
import {
  type Bench,
  type BenchOptions,
  type BenchRow,
  comparePairs,
  type Measure,
  withServerCores,
} from "./harness.js";

const NAME = "rpc";
/** h2load -c and -m: 10 connections x 10 streams = 100 requests in flight. */
const CONNECTIONS = 10;
const STREAMS_PER_CONNECTION = 10;
const TARGET_RATIO = 0.9;
const SELECT_PATH = "/fulcrum.v1.BalancerService/Select";
const CHECK_PATH = "/grpc.health.v1.Health/Check";
const LIST_PATH = "/fulcrum.v1.RegistryService/ListServices";
const NO_MATCH_PREFIX = "zz-no-such-service-";
const ROWS = ["gRPC port (grpc-js)", "web port (connect-node, gRPC over h2c)"] as const;

interface Bodies {
  readonly select: string;
  readonly check: string;
  readonly list: string;
}

function writeBodies(dir: string): Bodies {
  const check = join(dir, "health-check.bin");
  // HealthCheckRequest{service: ""} encodes to zero bytes: the body is the 5-byte header alone.
  writeFileSync(check, grpcFrame(new Uint8Array(0)));
  return {
    select: writeGrpcBody(join(dir, "select.bin"), SelectRequestSchema, { service: BENCH_SERVICE }),
    check,
    list: writeGrpcBody(join(dir, "list-services.bin"), ListServicesRequestSchema, {
      prefix: NO_MATCH_PREFIX,
    }),
  };
}

/** True when `url` answers the health check with grpc-status 0 (false on a 404, say). */
async function servesHealth(curl: string, url: string, body: string): Promise<boolean> {
  try {
    return (await grpcStatusOf(curl, url, body)) === 0;
  } catch {
    return false;
  }
}

async function measureRows(
  server: FulcrumProcess,
  tools: GrpcLoadTools,
  dir: string,
  options: BenchOptions,
): Promise<BenchRow[]> {
  const bodies = writeBodies(dir);
  const grpcBase = `http://127.0.0.1:${server.grpcPort}`;
  const webBase = `http://127.0.0.1:${server.webPort}`;
  await expectGrpcOk(tools.curl, grpcBase + SELECT_PATH, bodies.select);
  await expectGrpcOk(tools.curl, grpcBase + CHECK_PATH, bodies.check);
  await expectGrpcOk(tools.curl, webBase + SELECT_PATH, bodies.select);
  const webHasHealth = await servesHealth(tools.curl, webBase + CHECK_PATH, bodies.check);
  if (!webHasHealth) await expectGrpcOk(tools.curl, webBase + LIST_PATH, bodies.list);

  const h2load = (url: string, bodyFile: string, tag: string): Measure =>
    withServerCores(
      h2loadMeasure({
        h2load: tools.h2load,
        url,
        bodyFile,
        clients: CONNECTIONS,
        streams: STREAMS_PER_CONNECTION,
        logFile: join(dir, `${tag}.log`),
      }),
      () => server.cpuSeconds(),
    );
  const load = `h2load -c ${CONNECTIONS} -m ${STREAMS_PER_CONNECTION}; grpc-status 0 checked with curl first`;
  const grpcRow = await comparePairs(
    {
      bench: NAME,
      row: ROWS[0],
      subject: "Select",
      baseline: "Health/Check",
      unit: "req/s",
      target: TARGET_RATIO,
      measureSubject: h2load(grpcBase + SELECT_PATH, bodies.select, "grpc-select"),
      measureBaseline: h2load(grpcBase + CHECK_PATH, bodies.check, "grpc-check"),
      note: load,
    },
    options,
  );
  const webRow = await comparePairs(
    {
      bench: NAME,
      row: ROWS[1],
      subject: "Select",
      baseline: webHasHealth ? "Health/Check" : "ListServices (no match)",
      unit: "req/s",
      target: TARGET_RATIO,
      measureSubject: h2load(webBase + SELECT_PATH, bodies.select, "web-select"),
      measureBaseline: webHasHealth
        ? h2load(webBase + CHECK_PATH, bodies.check, "web-check")
        : h2load(webBase + LIST_PATH, bodies.list, "web-list"),
      note: webHasHealth
        ? load
        : `${load}; connect-node does not serve grpc.health.v1 (404), so the baseline is ` +
          `ListServices with prefix "${NO_MATCH_PREFIX}" (same transport, interceptor and codec)`,
    },
    options,
  );
  return [grpcRow, webRow];
}

/** The `rpc` bench. */
export const rpcBench: Bench = {
  name: NAME,
  description: "unary Select vs Health/Check (gRPC port) and vs ListServices (web port), driven by h2load",
  async run(options) {
    const tools = findGrpcLoadTools();
    if (typeof tools === "string") {
      options.progress(`${NAME}: ${tools}; skipping`);
      return ROWS.map((row) => ({ bench: NAME, row, skipped: tools }));
    }
    const dir = mkdtempSync(join(tmpdir(), "fulcrum-bench-rpc-"));
    const server = await startFulcrumProcess();
    try {
      await registerBenchService(server.grpcPort);
      return await measureRows(server, tools, dir, options);
    } finally {
      await server.stop();
      options.progress(`${NAME}: server (pid ${server.pid}) stopped`);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
