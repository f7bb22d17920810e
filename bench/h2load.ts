/**
 * Drives unary gRPC with h2load (Debian nghttp2-client) and a pre-encoded request body.
 * h2load checks only the HTTP status, so each body is verified once with curl (grpc-status
 * must be 0) before its numbers are trusted. Latency percentiles come from h2load's
 * per-request log (`--log-file`), since its summary has only min/max/mean/sd.
 */
import { execFile } from "node:child_process";
import { accessSync, constants, readFileSync, rmSync, writeFileSync } from "node:fs";
import { delimiter, join } from "node:path";
import { create, type DescMessage, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { type Measure, percentile, type Sample } from "./harness.js";

/** Extra time an h2load or curl run may take past its nominal duration before it is killed. */
const RUN_SLACK_MS = 30_000;
const CURL_TIMEOUT_S = 10;

/** The absolute path of an executable on PATH, or undefined. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  return undefined;
}

/** The executables an h2load-driven row needs. */
export interface GrpcLoadTools {
  readonly h2load: string;
  readonly curl: string;
}

/** h2load and curl from PATH, or a line saying which is missing. */
export function findGrpcLoadTools(): GrpcLoadTools | string {
  const h2load = findExecutable("h2load");
  const curl = findExecutable("curl");
  if (!h2load) return "h2load not found (apt-get install nghttp2-client)";
  if (!curl) return "curl not found (needed to check grpc-status before trusting h2load)";
  return { h2load, curl };
}

/** Writes `init` as a gRPC-framed `schema` message to `path`; returns `path`. */
export function writeGrpcBody<Desc extends DescMessage>(
  path: string,
  schema: Desc,
  init: MessageInitShape<Desc>,
): string {
  writeFileSync(path, grpcFrame(toBinary(schema, create(schema, init))));
  return path;
}

/** A gRPC length-prefixed message: flag byte 0 (uncompressed), 4-byte big-endian length, bytes. */
export function grpcFrame(message: Uint8Array): Buffer {
  const frame = Buffer.alloc(5 + message.length);
  frame.writeUInt32BE(message.length, 1);
  frame.set(message, 5);
  return frame;
}

function run(file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { timeout: timeoutMs, killSignal: "SIGKILL", maxBuffer: 16 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`${file} ${args.join(" ")}: ${error.message}\n${stdout}${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

const GRPC_HEADERS = ["-H", "content-type: application/grpc", "-H", "te: trailers"];

/**
 * Posts `bodyFile` once with curl over h2c and returns the grpc-status it got (from headers
 * or trailers), or throws naming what came back.
 */
export async function grpcStatusOf(curl: string, url: string, bodyFile: string): Promise<number> {
  const out = await run(
    curl,
    [
      "-s",
      "--http2-prior-knowledge",
      "--max-time",
      String(CURL_TIMEOUT_S),
      ...GRPC_HEADERS,
      "--data-binary",
      `@${bodyFile}`,
      "-D",
      "-",
      "-o",
      "/dev/null",
      url,
    ],
    (CURL_TIMEOUT_S + 5) * 1000,
  );
  const match = /^grpc-status:\s*(\d+)/im.exec(out);
  if (!match) throw new Error(`no grpc-status from ${url}:\n${out}`);
  return Number(match[1]);
}

/** Throws unless posting `bodyFile` to `url` answers grpc-status 0. */
export async function expectGrpcOk(curl: string, url: string, bodyFile: string): Promise<void> {
  const status = await grpcStatusOf(curl, url, bodyFile);
  if (status !== 0) throw new Error(`${url} answered grpc-status ${status}, expected 0`);
}

/** What one h2load run is asked to do. */
export interface H2loadRun {
  readonly h2load: string;
  readonly url: string;
  readonly bodyFile: string;
  readonly seconds: number;
  /** Connections (-c). */
  readonly clients: number;
  /** Concurrent streams per connection (-m). */
  readonly streams: number;
  /** Per-request log, overwritten (h2load appends). */
  readonly logFile: string;
}

/** Runs h2load for `seconds`; the sample is its req/s with p50/p99 from the request log. */
export async function runH2load(spec: H2loadRun): Promise<Sample> {
  rmSync(spec.logFile, { force: true });
  const out = await run(
    spec.h2load,
    [
      "-c",
      String(spec.clients),
      "-m",
      String(spec.streams),
      "-D",
      `${Math.max(1, Math.round(spec.seconds * 1000))}ms`,
      "-d",
      spec.bodyFile,
      ...GRPC_HEADERS,
      `--log-file=${spec.logFile}`,
      spec.url,
    ],
    spec.seconds * 1000 + RUN_SLACK_MS,
  );
  const summary = parseH2loadSummary(out);
  const latenciesMs = readLatenciesMs(spec.logFile);
  rmSync(spec.logFile, { force: true });
  return { rate: summary.rate, p50Ms: percentile(latenciesMs, 50), p99Ms: percentile(latenciesMs, 99) };
}

/** A {@link Measure} that runs h2load with everything but the duration fixed. */
export function h2loadMeasure(spec: Omit<H2loadRun, "seconds">): Measure {
  return (seconds) => runH2load({ ...spec, seconds });
}

/** The parts of h2load's summary a bench uses; throws when any request failed. */
export function parseH2loadSummary(out: string): { rate: number; succeeded: number } {
  const finished = /finished in [\d.]+m?s, ([\d.]+) req\/s/.exec(out);
  const requests =
    /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored/.exec(out);
  const codes = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(out);
  if (!finished || !requests || !codes) throw new Error(`cannot parse h2load output:\n${out}`);
  const [failed, errored] = [Number(requests[2]), Number(requests[3])];
  const non2xx = Number(codes[2]) + Number(codes[3]) + Number(codes[4]);
  if (failed > 0 || errored > 0 || non2xx > 0)
    throw new Error(`h2load saw ${failed} failed, ${errored} errored, ${non2xx} non-2xx requests:\n${out}`);
  const succeeded = Number(requests[1]);
  if (succeeded === 0) throw new Error(`h2load completed no request:\n${out}`);
  return { rate: Number(finished[1]), succeeded };
}

function readLatenciesMs(logFile: string): number[] {
  let text: string;
  try {
    text = readFileSync(logFile, "utf8");
  } catch {
    return [];
  }
  const latencies: number[] = [];
  for (const line of text.split("\n")) {
    const micros = Number(line.split("\t")[2]);
    if (line && Number.isFinite(micros)) latencies.push(micros / 1000);
  }
  return latencies;
}
