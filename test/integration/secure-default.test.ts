import { afterEach, describe, expect, it } from "vitest";
import { killCliProcesses, listeningPorts, runCli, until } from "../support/cli-process.js";

afterEach(killCliProcesses);
const SERVE = ["serve", "--grpc-port", "0", "--web-port", "0"];

/** The JSON log lines of a pino logger at level warn (40). */
function warnings(stdout: string): string[] {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("{"))
    .map((line) => JSON.parse(line) as { level: number; msg: string })
    .filter((entry) => entry.level === 40)
    .map((entry) => entry.msg);
}

describe("secure by default (A3)", { timeout: 60_000 }, () => {
  it("A3: without auth on loopback it starts and logs exactly one warning line", async () => {
    const server = runCli(SERVE);
    await until(() => server.out().includes("fulcrum listening"), 40_000);
    expect(warnings(server.out())).toEqual([
      "no auth.tokensFile: every caller may do everything; serving on loopback only",
    ]);
    const ready = await fetch(`http://127.0.0.1:${listeningPorts(server.out()).web}/readyz`);
    expect(ready.status).toBe(200);
  });

  it("A3: without auth on a non-loopback address it refuses to start, naming the way out", async () => {
    const server = runCli([...SERVE, "--host", "0.0.0.0"]);
    expect(await server.exited).toBe(2);
    expect(server.err().trim().split("\n")).toEqual([
      "fulcrum: refusing to serve without authorization on 0.0.0.0: set auth.tokensFile (--tokens-file), bind loopback, or pass --insecure",
    ]);
  });

  it("A3: with --insecure it starts on a non-loopback address and warns", async () => {
    const server = runCli([...SERVE, "--host", "0.0.0.0", "--insecure"]);
    await until(() => server.out().includes("fulcrum listening"), 40_000);
    expect(warnings(server.out())).toEqual([
      "--insecure: serving WITHOUT authorization on a non-loopback address; anyone who can reach it may change and read everything",
    ]);
    const ready = await fetch(`http://127.0.0.1:${listeningPorts(server.out()).web}/readyz`);
    expect(ready.status).toBe(200);
  });
});
