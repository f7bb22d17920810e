/**
 * A real Fulcrum in a separate process (its own process group), as an operator would run it:
 * `fulcrum serve --grpc-port 0 --web-port 0 --log-level silent` (from src/, as the tests run it,
 * so a bench never measures a stale build). The ports are
 * read from the line the server prints. Stopping signals the whole group and waits for it to
 * go; a bench that dies on the way out still takes the group with it.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { FULCRUM_BIN, SERVE_ON_FREE_PORTS } from "../test/support/cli-process.js";

const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
const START_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
/** USER_HZ on Linux when getconf is not there to ask. */
const DEFAULT_CLOCK_TICKS = 100;
const LISTENING = /fulcrum listening: gRPC 127\.0\.0\.1:(\d+), web .*http:\/\/127\.0\.0\.1:(\d+)/;

/** A running server process. */
export interface FulcrumProcess {
  readonly grpcPort: number;
  readonly webPort: number;
  readonly pid: number;
  /** CPU time (user + system) the server has used so far, in seconds; undefined off Linux. */
  cpuSeconds(): number | undefined;
  /** SIGTERM to the process group, SIGKILL after a grace period; resolves once it has exited. */
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
let clockTicks: number | undefined;

/** utime + stime of `pid` from /proc, in seconds; undefined where there is no /proc. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which sits in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    clockTicks ??= ticksPerSecond();
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return undefined;
  }
}

function ticksPerSecond(): number {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || DEFAULT_CLOCK_TICKS;
  } catch {
    return DEFAULT_CLOCK_TICKS;
  }
}
process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});
// Interrupted (Ctrl-C, a timeout): exit, which runs the handler above.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => process.exit(code));
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once("exit", () => resolve()));
}

/**
 * With FULCRUM_BENCH_CPU_PROF=<dir>, every server writes a V8 CPU profile there when it exits
 * (summarise one with `node scripts/cpuprofile-summary.mjs <file>`); the sampling interval is
 * finer than node's default so a few seconds of load give enough samples.
 */
function profilingArgs(dir = process.env.FULCRUM_BENCH_CPU_PROF): string[] {
  if (!dir) return [];
  return ["--cpu-prof", "--cpu-prof-dir", dir, "--cpu-prof-interval", "250"];
}

/** Starts `fulcrum serve` on free loopback ports; rejects if it does not listen in time. */
export async function startFulcrumProcess(extraArgs: readonly string[] = []): Promise<FulcrumProcess> {
  const child = spawn(
    process.execPath,
    [
      ...profilingArgs(),
      FULCRUM_BIN,
      ...SERVE_ON_FREE_PORTS,
      "--host",
      "127.0.0.1",
      "--log-level",
      "silent",
      ...extraArgs,
    ],
    { cwd: REPO_ROOT, detached: true, stdio: ["ignore", "pipe", "pipe"] },
  );
  running.add(child);
  child.once("exit", () => running.delete(child));
  let output = "";
  const ports = await new Promise<[number, number]>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error("did not print its ports in time")), START_TIMEOUT_MS);
    const fail = (error: Error) => {
      clearTimeout(timer);
      killGroup(child, "SIGKILL");
      reject(new Error(`fulcrum serve: ${error.message}\n${output}`));
    };
    child.once("error", fail);
    child.once("exit", (code, signal) => fail(new Error(`exited (${code ?? signal}) before listening`)));
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (!match) return;
      clearTimeout(timer);
      child.removeAllListeners("exit");
      child.once("exit", () => running.delete(child));
      resolve([Number(match[1]), Number(match[2])]);
    });
  });
  return {
    grpcPort: ports[0],
    webPort: ports[1],
    pid: child.pid!,
    cpuSeconds: () => processCpuSeconds(child.pid!),
    async stop() {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), STOP_GRACE_MS);
      await exited(child);
      clearTimeout(timer);
      // Anything the server started in its group goes too.
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // The group is empty.
      }
      running.delete(child);
    },
  };
}
