/**
 * Every CLI client command sends the --token / FULCRUM_TOKEN bearer token to a server that has
 * a tokens file; without it the command stops with one line and the UNAUTHENTICATED code, and
 * the token never shows in the output. `serve` itself runs with FULCRUM_TOKEN exported.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { type TestToken, tokensFile, tokensYaml } from "../support/auth.js";
import { killCliProcesses, runCli, SERVE_ON_FREE_PORTS, until } from "../support/cli-process.js";
import { startFulcrum } from "../support/server.js";

const WAIT_MS = 60_000;
const ADMIN: TestToken = { name: "ops", token: "tok-cli-admin-7a21", scopes: ["admin"] };
const READER: TestToken = { name: "reader", token: "tok-cli-reader-41c9", scopes: ["select:*", "watch:*"] };
const UNAUTHENTICATED = 16;
const PERMISSION_DENIED = 7;

let app: App;
let server: string;
beforeAll(async () => {
  app = await startFulcrum({ auth: { tokensFile: tokensFile(tokensYaml([ADMIN, READER])).path } });
  server = `127.0.0.1:${app.grpcPort}`;
});
afterAll(() => app?.close());
afterEach(killCliProcesses);

/** Runs `fulcrum <args> --server <server>` to its end, with extra environment variables. */
async function cli(args: string[], env: Record<string, string> = {}) {
  const run = runCli([...args, "--server", server], { FULCRUM_TOKEN: "", ...env });
  const code = await run.exited;
  expect(run.out() + run.err()).not.toMatch(/tok-cli-/);
  return { code, out: run.out(), err: run.err() };
}

describe("fulcrum CLI with a tokens file", { timeout: 480_000 }, () => {
  it("A2 O8: register, services, status, select, health, maint, drain with --token or FULCRUM_TOKEN", async () => {
    const withFlag = ["--token", ADMIN.token];
    const withEnv = { FULCRUM_TOKEN: ADMIN.token };
    const register = await cli([
      "register",
      "vault",
      "10.0.0.1:80",
      "10.0.0.2:80",
      "10.0.0.3:80",
      ...withFlag,
    ]);
    expect(register).toMatchObject({ code: 0, err: "" });
    // Reads first: the writes after them take every backend out of selection.
    const reads = await Promise.all([
      cli(["services", "--json"], withEnv),
      cli(["status", "vault"], withEnv),
      cli(["select", "vault", ...withFlag]),
    ]);
    const writes = await Promise.all([
      cli(["health", "vault", "10.0.0.1:80", "unhealthy", ...withFlag]),
      cli(["maint", "vault", "10.0.0.2:80", "on"], withEnv),
      cli(["drain", "vault", "10.0.0.3:80", ...withFlag]),
    ]);
    for (const run of [...reads, ...writes]) expect(run).toMatchObject({ code: 0, err: "" });
    expect(JSON.parse(reads[0]!.out).services).toContainEqual(expect.objectContaining({ name: "vault" }));
  });

  it("A2 O8: no token gives UNAUTHENTICATED in one line that names --token; a token without the scope gives PERMISSION_DENIED", async () => {
    const missing = await cli(["services"]);
    expect(missing.code).toBe(UNAUTHENTICATED);
    expect(missing.err.trim().split("\n")).toHaveLength(1);
    expect(missing.err).toMatch(/^fulcrum: Unauthenticated: .*--token or set FULCRUM_TOKEN/);
    const wrong = await cli(["select", "vault", "--token", "tok-cli-unknown-0000"]);
    expect(wrong.code).toBe(UNAUTHENTICATED);
    const denied = await cli(["register", "vault", "10.0.0.9:80", "--merge"], {
      FULCRUM_TOKEN: READER.token,
    });
    expect(denied.code).toBe(PERMISSION_DENIED);
    expect(denied.err).toMatch(/missing scope register/);
  });

  it("A2 O8: watch streams with FULCRUM_TOKEN and stops with UNAUTHENTICATED without it", async () => {
    await cli(["register", "ledger", "10.0.1.1:80", "--token", ADMIN.token]);
    const watch = runCli(["watch", "ledger", "--server", server], { FULCRUM_TOKEN: READER.token });
    await until(() => watch.out().includes("ledger snapshot: 1 backends"), WAIT_MS);
    watch.child.kill("SIGINT");
    await watch.exited;
    const refused = await cli(["watch", "ledger"]);
    expect(refused.code).toBe(UNAUTHENTICATED);
    expect(refused.out).toBe("");
  });

  it("O7 O8: serve starts with FULCRUM_TOKEN exported (a client setting, not an unknown server variable)", async () => {
    const serve = runCli([...SERVE_ON_FREE_PORTS, "--log-level", "silent"], { FULCRUM_TOKEN: ADMIN.token });
    await until(() => serve.out().includes("fulcrum listening") || serve.child.exitCode !== null, WAIT_MS);
    expect(serve.err()).toBe("");
    expect(serve.out()).toContain("fulcrum listening");
  });
});
