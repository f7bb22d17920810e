/**
 * O7: a Redis that refuses the connection stops startup with one line naming the cause and the
 * setting, a non-zero exit, and no ioredis "Unhandled error event" stack. (A wrong password:
 * redis-auth.test.ts.)
 */
import { afterEach, describe, expect, it } from "vitest";
import { killCliProcesses, runCli, SERVE_ON_FREE_PORTS } from "../support/cli-process.js";
import { freePort } from "../support/free-port.js";

afterEach(() => killCliProcesses());

describe("startup with Redis refusing connections (O7)", { timeout: 60_000 }, () => {
  it("O7: Redis refused prints one line naming ECONNREFUSED and redis.url, exits non-zero", async () => {
    const port = await freePort();
    const server = runCli([...SERVE_ON_FREE_PORTS, "--redis", `redis://127.0.0.1:${port}`]);
    const code = await server.exited;
    expect(code).not.toBe(0);
    const lines = server.err().trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(
      /cannot connect to Redis redis:\/\/127\.0\.0\.1:\d+: .*ECONNREFUSED.*\(redis\.url\)/,
    );
    expect(server.out() + server.err()).not.toContain("Unhandled error event");
  });
});
