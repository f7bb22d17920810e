/**
 * O7: a server that cannot start says why in one line naming the setting, exits non-zero and
 * prints no stack trace. Each case runs the real CLI.
 */
import * as net from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type CliProcess, killCliProcesses, runCli } from "../support/cli-process.js";

const servers: net.Server[] = [];
const sockets: net.Socket[] = [];
afterEach(async () => {
  killCliProcesses();
  for (const socket of sockets.splice(0)) socket.destroy();
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/** A loopback port held by a plain TCP listener that accepts and never answers. */
async function heldPort(): Promise<number> {
  const server = net.createServer((socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return (server.address() as net.AddressInfo).port;
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The run's exit code and its one stderr line, after checking there is nothing else. */
async function oneLineFailure(run: CliProcess): Promise<{ code: number | null; line: string }> {
  const code = await run.exited;
  const lines = run.err().trimEnd().split("\n");
  expect(run.err()).not.toMatch(/^ {4}at /m);
  expect(lines).toHaveLength(1);
  return { code, line: lines[0] as string };
}

const FREE_PORTS = ["--grpc-port", "0", "--web-port", "0", "--xds-port", "0"];

describe("startup failures (O7)", { timeout: 60_000 }, () => {
  it("a gRPC port in use names the address and grpc.port", async () => {
    const port = await heldPort();
    const run = runCli(["serve", "--grpc-port", String(port), "--web-port", "0"]);
    const { code, line } = await oneLineFailure(run);
    expect(code).toBe(1);
    expect(line).toBe(`fulcrum: gRPC port 127.0.0.1:${port} is already in use (grpc.port, grpc.host)`);
  });

  it("a web port in use names the address and web.port", async () => {
    const port = await heldPort();
    const run = runCli(["serve", "--grpc-port", "0", "--web-port", String(port)]);
    const { code, line } = await oneLineFailure(run);
    expect(code).toBe(1);
    expect(line).toBe(`fulcrum: web port 127.0.0.1:${port} is already in use (web.port, web.host)`);
  });

  it("an xDS port in use names the address and xds.port", async () => {
    const port = await heldPort();
    const run = runCli(["serve", "--grpc-port", "0", "--web-port", "0", "--xds-port", String(port)]);
    const { code, line } = await oneLineFailure(run);
    expect(code).toBe(1);
    expect(line).toBe(`fulcrum: xDS port 127.0.0.1:${port} is already in use (xds.port, xds.host)`);
  });

  it("Redis refusing names the endpoint and redis.url, never the password", async () => {
    const port = await closedPort();
    const run = runCli(["serve", ...FREE_PORTS, "--redis", `redis://:hunter2secret@127.0.0.1:${port}`], {
      FULCRUM_REDIS_CONNECT_TIMEOUT_MS: "300",
    });
    const { code, line } = await oneLineFailure(run);
    expect(code).toBe(2);
    expect(line).toBe(
      `fulcrum: cannot connect to Redis redis://:***@127.0.0.1:${port}: connect ECONNREFUSED 127.0.0.1:${port} (redis.url)`,
    );
    expect(run.out() + run.err()).not.toContain("hunter2secret");
  });

  it("Redis that never answers times out after redis.connectTimeoutMs", async () => {
    const port = await heldPort();
    const run = runCli(["serve", ...FREE_PORTS, "--redis", `redis://127.0.0.1:${port}`], {
      FULCRUM_REDIS_CONNECT_TIMEOUT_MS: "400",
    });
    const { code, line } = await oneLineFailure(run);
    expect(code).toBe(2);
    expect(line).toBe(
      `fulcrum: cannot connect to Redis redis://127.0.0.1:${port}: no answer within 400 ms (redis.connectTimeoutMs)`,
    );
  });

  it("an unknown FULCRUM_* variable is rejected naming the nearest setting", async () => {
    const run = runCli(["serve", ...FREE_PORTS], { FULCRUM_GRPC_PROT: "5000" });
    const { code, line } = await oneLineFailure(run);
    expect(code).toBe(2);
    expect(line).toBe(
      "fulcrum: unknown environment variable FULCRUM_GRPC_PROT; did you mean FULCRUM_GRPC_PORT?",
    );
  });

  it("--version prints the package version", async () => {
    const run = runCli(["--version"]);
    expect(await run.exited).toBe(0);
    expect(run.out().trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
