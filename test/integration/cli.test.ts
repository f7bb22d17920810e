import { afterEach, describe, expect, it } from "vitest";
import { killCliProcesses, runCli, SERVE_ON_FREE_PORTS, until } from "../support/cli-process.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";

afterEach(killCliProcesses);
const run = runCli;

describe("fulcrum CLI", { timeout: 90_000 }, () => {
  it("--help lists serve and its flags", async () => {
    const top = run(["--help"]);
    expect(await top.exited).toBe(0);
    expect(top.out()).toContain("serve");
    const serve = run(["serve", "--help"]);
    expect(await serve.exited).toBe(0);
    for (const flag of [
      "--config",
      "--grpc-port",
      "--web-port",
      "--xds-port",
      "--host",
      "--log-level",
      "FULCRUM_GRPC_PORT",
    ]) {
      expect(serve.out()).toContain(flag);
    }
  });

  it("serve prints where it listens, is ready, and shuts down gracefully on SIGTERM (O4)", async () => {
    const server = run([...SERVE_ON_FREE_PORTS, "--log-level", "silent"]);
    await until(() => server.out().includes("fulcrum listening"));
    const match = /gRPC 127\.0\.0\.1:(\d+), web .* http:\/\/127\.0\.0\.1:(\d+), xDS 127\.0\.0\.1:(\d+)/.exec(
      server.out(),
    );
    expect(match).not.toBeNull();
    expect(Number(match![3])).toBeGreaterThan(0);
    const ready = await fetch(`http://127.0.0.1:${match![2]}/readyz`);
    expect(ready.status).toBe(200);
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
  });

  it("fulcrum watch prints a live line per change, health transitions included", async () => {
    const app = await startFulcrum();
    try {
      const watch = run(["watch", "live", "--server", `http://127.0.0.1:${app.grpcPort}`]);
      const { registry } = grpcTransportClients(app.grpcPort);
      await registry.register({ service: "live", backends: [{ id: "b0", address: "10.0.0.1:80" }] });
      await until(() => watch.out().includes("snapshot: 1 backends (b0 HEALTHY)"));
      await registry.setHealth({ service: "live", backendId: "b0", health: 3, reason: "drill" });
      await until(() => watch.out().includes("b0 HEALTHY -> UNHEALTHY (drill)"));
      await registry.register({ service: "live", mode: 2, backends: [{ id: "b1", address: "10.0.0.2:80" }] });
      await until(() => watch.out().includes("+ b1 10.0.0.2:80 HEALTHY"));
      watch.child.kill("SIGINT");
      expect(await watch.exited).toBe(0);
    } finally {
      await app.close();
    }
  });

  it("rejects bad settings naming the field, with exit code 2", async () => {
    const env = run(["serve"], { FULCRUM_GRPC_PORT: "not-a-port" });
    expect(await env.exited).toBe(2);
    expect(env.err()).toContain("grpc.port");
    const flag = run(["serve", "--web-port", "99999"]);
    expect(await flag.exited).not.toBe(0);
    expect(flag.err()).toContain("--web-port");
  });
});
