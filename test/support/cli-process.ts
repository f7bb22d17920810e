/**
 * The real `fulcrum` command as a child process, its output collected, killed after each test
 * (call `killCliProcesses` from afterEach).
 */
import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { fileURLToPath } from "node:url";
import { until as untilHolds } from "./eventually.js";

/**
 * bin/fulcrum-dev.mjs of this checkout: the `fulcrum` command from src/ through tsx, so a test
 * never runs a stale dist/ (the packed build has its own test, test/integration/package.test.ts).
 */
export const FULCRUM_BIN = fileURLToPath(new URL("../../bin/fulcrum-dev.mjs", import.meta.url));

/** `serve` on free ports for every listener (gRPC, web, xDS), so runs never collide. */
export const SERVE_ON_FREE_PORTS: readonly string[] = [
  "serve",
  "--grpc-port",
  "0",
  "--web-port",
  "0",
  "--xds-port",
  "0",
];

const children: ChildProcess[] = [];

/** A running `fulcrum` process. */
export interface CliProcess {
  readonly child: ChildProcess;
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
  out(): string;
  err(): string;
}

/** Runs `node <bin> ...args` with extra environment variables. */
export function runCli(args: string[], env: Record<string, string> = {}, bin = FULCRUM_BIN): CliProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk) => {
    stdout += chunk;
  });
  child.stderr!.on("data", (chunk) => {
    stderr += chunk;
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  return { child, exited, out: () => stdout, err: () => stderr };
}

/** SIGKILLs every process runCli started and has not yet exited. */
export function killCliProcesses(): void {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill("SIGKILL");
}

/** Waits until `predicate` holds (a process printed something), at most `ms` (eventually.ts polling). */
export function until(predicate: () => boolean, ms = 60_000): Promise<void> {
  return untilHolds(predicate, ms);
}

/** The ports `fulcrum serve` printed in its "listening" line. */
export function listeningPorts(stdout: string): { grpc: number; web: number } {
  const match = /gRPC [^\s,]+:(\d+), web .*? https?:\/\/[^\s,]+:(\d+)/.exec(stdout);
  if (!match) throw new Error(`no listening line in: ${stdout}`);
  return { grpc: Number(match[1]), web: Number(match[2]) };
}
