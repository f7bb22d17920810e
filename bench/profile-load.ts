/**
 * `node --import tsx bench/profile-load.ts <load> [--seconds N] [--dir D]`: one kind of load on
 * a server that writes a V8 CPU profile, so a profile shows one path only (the benches mix a
 * subject with its baseline). Loads: `select` and `check` (h2load on the gRPC port),
 * `web-select` and `web-list` (h2load on the web port), `select-stream` (the stream bench's
 * raw HTTP/2 SelectStream driver). Prints the profile's path and the server CPU per call;
 * `node scripts/cpuprofile-summary.mjs <path>` names the frames.
 */
import { mkdirSync, mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { SelectRequestSchema, SelectStreamRequestSchema } from "../gen/fulcrum/v1/balancer_pb.js";
import { ListServicesRequestSchema } from "../gen/fulcrum/v1/registry_pb.js";
import { BENCH_SERVICE, registerBenchService } from "./fulcrum-client.js";
import { startFulcrumProcess } from "./fulcrum-process.js";
import { closeH2c, connectH2c, pipelineBidi } from "./grpc-stream-driver.js";
import { findGrpcLoadTools, grpcFrame, runH2load, writeGrpcBody } from "./h2load.js";

const LOADS = ["select", "check", "web-select", "web-list", "select-stream"] as const;
type Load = (typeof LOADS)[number];
const MAX_SECONDS = 60;

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { seconds: { type: "string", default: "5" }, dir: { type: "string" } },
});
const load = positionals[0] as Load;
const seconds = Number(values.seconds);
if (!LOADS.includes(load) || !(seconds > 0 && seconds <= MAX_SECONDS)) {
  process.stderr.write(
    `usage: profile-load.ts <${LOADS.join("|")}> [--seconds 1-${MAX_SECONDS}] [--dir D]\n`,
  );
  process.exit(2);
}
const dir = values.dir ?? mkdtempSync(join(tmpdir(), "fulcrum-profile-"));
mkdirSync(dir, { recursive: true });
process.env.FULCRUM_BENCH_CPU_PROF = dir;

async function unary(port: number, path: string, body: string): Promise<number> {
  const tools = findGrpcLoadTools();
  if (typeof tools === "string") throw new Error(tools);
  const sample = await runH2load({
    h2load: tools.h2load,
    url: `http://127.0.0.1:${port}${path}`,
    bodyFile: body,
    seconds,
    clients: 10,
    streams: 10,
    logFile: join(dir, "h2load.log"),
  });
  return sample.rate * seconds;
}

async function selectStream(port: number): Promise<number> {
  const frame = grpcFrame(
    toBinary(
      SelectStreamRequestSchema,
      create(SelectStreamRequestSchema, { requestId: 1n, select: { service: BENCH_SERVICE } }),
    ),
  );
  const sessions = await Promise.all([connectH2c(port), connectH2c(port)]);
  const deadline = performance.now() + seconds * 1000;
  try {
    const counts = await Promise.all(
      sessions.map((session) =>
        pipelineBidi({
          session,
          path: "/fulcrum.v1.BalancerService/SelectStream",
          frame,
          window: 200,
          chunk: 20,
          deadline,
          cap: seconds * 5_000_000,
          drainMs: 10_000,
          check: () => {},
        }),
      ),
    );
    return counts[0]! + counts[1]!;
  } finally {
    await Promise.all(sessions.map(closeH2c));
  }
}

const server = await startFulcrumProcess();
/** The load phase on the monotonic clock (us), which the profile's timestamps share on Linux. */
const window = { from: 0n, to: 0n };
let calls = 0;
let cpu = 0;
try {
  await registerBenchService(server.grpcPort);
  const select = writeGrpcBody(join(dir, "select.bin"), SelectRequestSchema, { service: BENCH_SERVICE });
  const check = join(dir, "check.bin");
  // HealthCheckRequest{service: ""} encodes to zero bytes: the frame header alone.
  writeFileSync(check, grpcFrame(new Uint8Array(0)));
  const list = writeGrpcBody(join(dir, "list.bin"), ListServicesRequestSchema, { prefix: "zz-none-" });
  const before = server.cpuSeconds() ?? 0;
  window.from = process.hrtime.bigint() / 1000n;
  if (load === "select") calls = await unary(server.grpcPort, "/fulcrum.v1.BalancerService/Select", select);
  if (load === "check") calls = await unary(server.grpcPort, "/grpc.health.v1.Health/Check", check);
  if (load === "web-select")
    calls = await unary(server.webPort, "/fulcrum.v1.BalancerService/Select", select);
  if (load === "web-list")
    calls = await unary(server.webPort, "/fulcrum.v1.RegistryService/ListServices", list);
  if (load === "select-stream") calls = await selectStream(server.grpcPort);
  cpu = (server.cpuSeconds() ?? 0) - before;
  window.to = process.hrtime.bigint() / 1000n;
} finally {
  await server.stop();
}
// The main thread's profile (the loader's worker thread writes a second one, of the startup).
const profile = readdirSync(dir).find((f) => f.endsWith(`.${server.pid}.0.001.cpuprofile`));
process.stdout.write(
  `${load}: ${calls.toFixed(0)} calls in ${seconds} s, server CPU ${(cpu * 1000).toFixed(0)} ms = ` +
    `${((cpu * 1e6) / calls).toFixed(1)} us per call\n` +
    (profile
      ? `node scripts/cpuprofile-summary.mjs ${join(dir, profile)} --from-us ${window.from} --to-us ${window.to}\n`
      : "no profile written\n"),
);
process.exit(0);
