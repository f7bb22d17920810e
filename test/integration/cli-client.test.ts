/**
 * The CLI client against a running server: every command, --json parsed,
 * exit codes following the status, and `watch` resuming after the server restarts (on the
 * same Redis, so versions carry over).
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { type CliProcess, killCliProcesses, runCli, until } from "../support/cli-process.js";
import { freePort } from "../support/free-port.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

const WAIT_MS = 60_000;
let app: App;
let server: string;
beforeAll(async () => {
  app = await startFulcrum();
  server = `127.0.0.1:${app.grpcPort}`;
});
afterAll(() => app?.close());
afterEach(killCliProcesses);

/** Runs `fulcrum <args> --server <server>` to its end. */
async function cli(args: string[], at = server): Promise<{ code: number | null; run: CliProcess }> {
  const run = runCli([...args, "--server", at]);
  return { code: await run.exited, run };
}

async function json<T>(args: string[]): Promise<T> {
  const { code, run } = await cli([...args, "--json"]);
  expect(run.err()).toBe("");
  expect(code).toBe(0);
  return JSON.parse(run.out()) as T;
}

describe("fulcrum CLI client", { timeout: 480_000 }, () => {
  it("register (addresses and --file), services, status, select --explain, health, maint, drain", async () => {
    const file = join(mkdtempSync(join(tmpdir(), "fulcrum-cli-")), "backends.yaml");
    writeFileSync(file, "backends:\n  - id: c\n    address: 10.0.0.3:80\n    weight: 2\n");
    const registered = await json<{ changed: boolean }>(["register", "shop", "10.0.0.1:80", "10.0.0.2:80"]);
    expect(registered.changed).toBe(true);
    const merged = await json<{ changed: boolean }>(["register", "shop", "--merge", "--file", file]);
    expect(merged.changed).toBe(true);

    const [services, selected] = await Promise.all([
      json<{ services: { name: string; backends: number; healthy: number }[] }>(["services"]),
      json<{ backends: { id: string }[]; explanation: { candidates: { backendId: string }[] } }>([
        "select",
        "shop",
        "--explain",
        "--count",
        "2",
      ]),
    ]);
    // SetHealth after the reads above, so they see three healthy backends.
    const [health, maint] = await Promise.all([
      json<{ previous: string }>(["health", "shop", "10.0.0.1:80", "unhealthy", "--reason", "drill"]),
      json<{ previous: string }>(["maint", "shop", "c", "on"]),
    ]);
    expect(services.services).toContainEqual({
      name: "shop",
      backends: 3,
      healthy: 3,
      version: expect.any(String),
    });
    expect(selected.backends).toHaveLength(2);
    expect(selected.explanation.candidates.map((c) => c.backendId).sort()).toEqual([
      "10.0.0.1:80",
      "10.0.0.2:80",
      "c",
    ]);
    expect(health.previous).toBe("HEALTH_STATE_HEALTHY");
    expect(maint.previous).toBe("HEALTH_STATE_HEALTHY");

    const drained = await json<{ draining?: number; removed?: number }>(["drain", "shop", "10.0.0.2:80"]);
    expect((drained.draining ?? 0) + (drained.removed ?? 0)).toBe(1);
    const status = await json<{ service: { backends: { backend: { id: string }; health: string }[] } }>([
      "status",
      "shop",
    ]);
    const byId = new Map(status.service.backends.map((b) => [b.backend.id, b.health]));
    expect(byId.get("10.0.0.1:80")).toBe("HEALTH_STATE_UNHEALTHY");
    expect(byId.get("c")).toBe("HEALTH_STATE_UNHEALTHY");

    const table = await cli(["status", "shop"]);
    expect(table.code).toBe(0);
    expect(table.run.out()).toMatch(
      /BACKEND\s+ADDRESS\s+HEALTH\s+IN-FLIGHT\s+EWMA\s+QUOTA LEFT\s+PINS\s+STATE/,
    );
    expect(table.run.out()).toMatch(/^c\s+10\.0\.0\.3:80\s+UNHEALTHY/m);
  });

  it("exits with the gRPC status: 5 for an unknown service, 14 when no server listens, one line on stderr", async () => {
    const unknown = await cli(["status", "nowhere"]);
    expect(unknown.code).toBe(5);
    expect(unknown.run.err().trim()).toBe('fulcrum: NotFound: service "nowhere" is not registered');
    const closed = await cli(["services"], `127.0.0.1:${await freePort()}`);
    expect(closed.code).toBe(14);
    expect(closed.run.err().trim().split("\n")).toHaveLength(1);
  });

  it("--help of every command shows an example", async () => {
    const commands = ["services", "status", "select", "register", "drain", "health", "maint", "watch"];
    const helps = await Promise.all(commands.map((command) => cli([command, "--help"])));
    for (const help of helps) {
      expect(help.code).toBe(0);
      expect(help.run.out()).toMatch(/Examples?:\n {2}fulcrum /);
    }
  });
});

describe("fulcrum watch", { timeout: 240_000 }, () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis?.stop());

  it("takes host:port, says when a service is unknown or the server went away, and resumes after a restart", async () => {
    const grpcPort = await freePort();
    const start = () => startFulcrum({ grpc: { port: grpcPort }, redis: { url: redis.url } });
    let first: App | undefined = await start();
    const watch = runCli(["watch", "late", "--server", `127.0.0.1:${grpcPort}`]);
    try {
      await until(() => watch.out().includes("service late is not registered; waiting for it"), WAIT_MS);
      const clients = (await import("../support/connect-client.js")).grpcTransportClients(grpcPort);
      await clients.registry.register({ service: "late", backends: [{ id: "b0", address: "10.0.0.1:80" }] });
      await until(() => watch.out().includes("v1 late snapshot: 1 backends (b0 HEALTHY)"), WAIT_MS);
      await first.close();
      first = undefined;
      await until(() => watch.out().includes(`server 127.0.0.1:${grpcPort} went away`), WAIT_MS);
      const second = await start();
      try {
        await clients.registry.setHealth({
          service: "late",
          backendId: "b0",
          health: 3,
          reason: "after restart",
        });
        await until(() => watch.out().includes("b0 HEALTHY -> UNHEALTHY (after restart)"), WAIT_MS);
        expect(watch.out()).toMatch(/reconnected; resuming from late v1/);
        // Resumed, not restarted: the only snapshot is the first one.
        expect(watch.out().match(/snapshot/g)).toHaveLength(1);
      } finally {
        await second.close();
      }
    } finally {
      await first?.close();
    }
  });
});
