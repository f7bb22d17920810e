import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createTestCa, LOOPBACK_SAN, type TestCa } from "../support/certs.js";
import { killCliProcesses, listeningPorts, runCli, until } from "../support/cli-process.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { type RedisProcess, startRedis } from "../support/redis.js";

const PASSWORD = "pw-9f3a71c2e8d4";
const USER_PASSWORD = "userpw-52be6d01a7";
const SERVE = ["serve", "--grpc-port", "0", "--web-port", "0", "--log-level", "debug"];

afterEach(killCliProcesses);

/** Registers and selects through the server: the Redis credentials worked end to end. */
async function registerAndSelect(stdout: () => string, service: string): Promise<void> {
  await until(() => stdout().includes("fulcrum listening"), 40_000);
  const { registry, balancer } = grpcTransportClients(listeningPorts(stdout()).grpc);
  await registry.register({ service, backends: [{ id: "b0", address: "10.0.0.1:80" }] });
  expect((await balancer.select({ service })).backends[0]?.id).toBe("b0");
}

describe("Redis with a password and an ACL user (A4)", { timeout: 60_000 }, () => {
  let redis: RedisProcess;
  beforeAll(async () => {
    redis = await startRedis(["--requirepass", PASSWORD], ["-a", PASSWORD, "--no-auth-warning"]);
  });
  afterAll(() => redis.stop());

  it("A4: a password in the URL works and appears in no output, also when Redis goes away", async () => {
    const url = `redis://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const server = runCli([...SERVE, "--redis", url]);
    await registerAndSelect(server.out, "pw-svc");
    expect(server.out()).toContain(`redis://:***@127.0.0.1:${redis.port}`);
    await redis.stop();
    await until(() => server.out().includes("redis unavailable"));
    await redis.start();
    await until(() => server.out().includes("redis available again"));
    server.child.kill("SIGTERM");
    await server.exited;
    expect(server.out() + server.err()).not.toContain(PASSWORD);
  });

  it("A4: an ACL user and its password from FULCRUM_REDIS_URL; the password appears in no output", async () => {
    await redis.cli("ACL", "SETUSER", "fulcrum", "on", `>${USER_PASSWORD}`, "~*", "&*", "+@all");
    const url = `redis://fulcrum:${USER_PASSWORD}@127.0.0.1:${redis.port}`;
    const server = runCli(SERVE, { FULCRUM_REDIS_URL: url });
    await registerAndSelect(server.out, "acl-svc");
    expect(server.out()).toContain(`redis://fulcrum:***@127.0.0.1:${redis.port}`);
    expect(await redis.cli("ACL", "WHOAMI")).toContain("default");
    expect(await redis.cli("CLIENT", "LIST")).toContain("user=fulcrum");
    server.child.kill("SIGTERM");
    await server.exited;
    expect(server.out() + server.err()).not.toContain(USER_PASSWORD);
  });

  it("A4: a wrong password refuses to start with one line naming the redacted URL, not the password", async () => {
    const wrong = "wrong-4c1d9e0b";
    const server = runCli([...SERVE, "--redis", `redis://fulcrum:${wrong}@127.0.0.1:${redis.port}`]);
    expect(await server.exited).toBe(2);
    const lines = server.err().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/cannot connect to Redis redis:\/\/fulcrum:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/);
    expect(server.out() + server.err()).not.toContain(wrong);
  });
});

describe("Redis over TLS: rediss:// (A4)", { timeout: 60_000 }, () => {
  let ca: TestCa;
  let redis: RedisProcess;
  beforeAll(async () => {
    ca = await createTestCa();
    const cert = await ca.issue("redis", { san: LOOPBACK_SAN });
    redis = await startRedis(
      [
        "--port",
        "0",
        "--tls-port",
        "{port}",
        "--tls-cert-file",
        cert.certFile,
        "--tls-key-file",
        cert.keyFile,
        "--tls-ca-cert-file",
        ca.caFile,
        "--tls-auth-clients",
        "no",
        "--requirepass",
        PASSWORD,
      ],
      ["--tls", "--cacert", ca.caFile, "-a", PASSWORD, "--no-auth-warning"],
    );
  });
  afterAll(async () => {
    await redis.stop();
    ca.remove();
  });

  it("A4: rediss:// with redis.tlsCaFile connects and serves; the password appears in no output", async () => {
    const url = `rediss://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const server = runCli([...SERVE, "--redis", url], { FULCRUM_REDIS_TLS_CA_FILE: ca.caFile });
    await registerAndSelect(server.out, "tls-svc");
    server.child.kill("SIGTERM");
    await server.exited;
    expect(server.out() + server.err()).not.toContain(PASSWORD);
  });

  it("A4: rediss:// to a server whose CA is not trusted refuses to start, password not shown", async () => {
    const url = `rediss://:${PASSWORD}@127.0.0.1:${redis.port}`;
    const server = runCli([...SERVE, "--redis", url]);
    expect(await server.exited).toBe(2);
    expect(server.err()).toMatch(
      /cannot connect to Redis rediss:\/\/:\*\*\*@127\.0\.0\.1:\d+: .*certificate/,
    );
    expect(server.out() + server.err()).not.toContain(PASSWORD);
  });

  it("A4: an unreadable redis.tlsCaFile is a one-line error naming the setting", async () => {
    const missing = join(ca.dir, "missing.pem");
    const server = runCli([...SERVE, "--redis", `rediss://127.0.0.1:${redis.port}`], {
      FULCRUM_REDIS_TLS_CA_FILE: missing,
    });
    expect(await server.exited).toBe(2);
    expect(server.err().trim()).toMatch(/^fulcrum: redis\.tlsCaFile: cannot read .*missing\.pem/);
  });
});
