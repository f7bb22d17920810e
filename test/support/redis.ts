/**
 * Real redis-server processes for tests, on free loopback ports, never the machine's own
 * 127.0.0.1:6379. A single server can be stopped and restarted on the same port mid-test;
 * a cluster is three masters made with `redis-cli --cluster create`.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { freePort } from "./free-port.js";

const run = promisify(execFile);

async function ping(port: number, cliArgs: readonly string[] = [], deadlineMs = 10_000): Promise<void> {
  const deadline = Date.now() + deadlineMs;
  for (;;) {
    try {
      const { stdout } = await run("redis-cli", ["-p", String(port), ...cliArgs, "ping"], { timeout: 2_000 });
      if (stdout.trim() === "PONG") return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not answer PING`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A running redis-server. */
export interface RedisProcess {
  readonly port: number;
  readonly url: string;
  /** Kills the server (SIGKILL: nothing is saved). */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty. */
  start(): Promise<void>;
  /** Sends `signal` to the server (SIGSTOP pauses it, SIGCONT resumes it). */
  signal(signal: NodeJS.Signals): void;
  /** redis-cli against this server; resolves with stdout. */
  cli(...args: string[]): Promise<string>;
}

function spawnRedis(port: number, dir: string, extra: string[]): ChildProcess {
  return spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...extra,
    ],
    { stdio: "ignore" },
  );
}

/**
 * Starts a single redis-server on a free port. `extra` are server arguments (later ones win,
 * so `--port 0 --tls-port <port>` moves it to TLS); `cliArgs` are what redis-cli then needs
 * to reach it (`-a <password>`, `--tls --cacert <file>`).
 */
export async function startRedis(extra: string[] = [], cliArgs: string[] = []): Promise<RedisProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "fulcrum-redis-"));
  let child: ChildProcess | undefined;
  const handle: RedisProcess = {
    port,
    url: `redis://127.0.0.1:${port}`,
    async start() {
      child = spawnRedis(
        port,
        dir,
        extra.map((arg) => arg.replace("{port}", String(port))),
      );
      await ping(port, cliArgs);
    },
    async stop() {
      if (!child || child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGKILL");
      await exited;
    },
    signal(signal) {
      if (!child || child.exitCode !== null) throw new Error("redis-server is not running");
      child.kill(signal);
    },
    async cli(...args) {
      return (await run("redis-cli", ["-p", String(port), ...cliArgs, ...args], { timeout: 5_000 })).stdout;
    },
  };
  await handle.start();
  return handle;
}

/** A running three-master Redis Cluster. */
export interface RedisClusterProcess {
  readonly nodes: readonly { host: string; port: number }[];
  stop(): Promise<void>;
}

/** Starts three cluster-enabled servers and joins them into one cluster (no replicas). */
export async function startRedisCluster(): Promise<RedisClusterProcess> {
  const dir = mkdtempSync(join(tmpdir(), "fulcrum-cluster-"));
  const ports: number[] = [];
  while (ports.length < 3) {
    const port = await freePort(10_000);
    if (!ports.includes(port)) ports.push(port);
  }
  const children = ports.map((port) =>
    spawnRedis(port, dir, [
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      `nodes-${port}.conf`,
      "--cluster-node-timeout",
      "2000",
    ]),
  );
  await Promise.all(ports.map((port) => ping(port)));
  await run(
    "redis-cli",
    [
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      "0",
      "--cluster-yes",
    ],
    {
      timeout: 30_000,
    },
  );
  const deadline = Date.now() + 20_000;
  for (;;) {
    const states = await Promise.all(
      ports.map((p) =>
        run("redis-cli", ["-p", String(p), "cluster", "info"]).then((r) =>
          r.stdout.includes("cluster_state:ok"),
        ),
      ),
    );
    if (states.every(Boolean)) break;
    if (Date.now() > deadline) throw new Error("redis cluster did not reach cluster_state:ok");
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return {
    nodes: ports.map((port) => ({ host: "127.0.0.1", port })),
    async stop() {
      await Promise.all(
        children.map((child) => {
          if (child.exitCode !== null) return Promise.resolve();
          const exited = new Promise((resolve) => child.once("exit", resolve));
          child.kill("SIGKILL");
          return exited;
        }),
      );
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
