/**
 * The CLI client against a server that requires mutual TLS (A1, A2): --tls-ca, --tls-cert and
 * --tls-key (or an https:// --server) connect; the client certificate's identity, mapped in
 * the tokens file, authorizes without a token; without the CA the command stops in one line
 * naming the TLS flags, with the UNAVAILABLE code; an unreadable file is named by its flag.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { tokensFile, tokensYaml } from "../support/auth.js";
import { createTestCa, type IssuedCert, LOOPBACK_SAN, type TestCa } from "../support/certs.js";
import { killCliProcesses, runCli, until } from "../support/cli-process.js";
import { startFulcrum } from "../support/server.js";

const UNAVAILABLE = 14;
const PERMISSION_DENIED = 7;
let ca: TestCa;
let operator: IssuedCert;
let app: App;

beforeAll(async () => {
  ca = await createTestCa();
  const server = await ca.issue("fulcrum", { san: LOOPBACK_SAN });
  operator = await ca.issue("operator", { san: "DNS:operator.internal" });
  const file = tokensFile(
    tokensYaml(
      [],
      [{ identity: "operator.internal", scopes: ["register:shop", "select:shop", "watch:shop"] }],
    ),
  );
  app = await startFulcrum({
    tls: { certFile: server.certFile, keyFile: server.keyFile, clientCaFile: ca.caFile },
    auth: { tokensFile: file.path },
  });
});
afterAll(async () => {
  await app?.close();
  ca?.remove();
});
afterEach(killCliProcesses);

/** Runs `fulcrum <args>` to its end. */
async function cli(args: string[]) {
  const run = runCli(args, { FULCRUM_TOKEN: "" });
  const code = await run.exited;
  return { code, out: run.out(), err: run.err() };
}

describe("fulcrum CLI over mutual TLS", { timeout: 480_000 }, () => {
  it("A1 A2: --tls-ca, --tls-cert and --tls-key reach the server; the certificate's identity has its scopes", async () => {
    const tls = ["--tls-ca", ca.caFile, "--tls-cert", operator.certFile, "--tls-key", operator.keyFile];
    const hostPort = ["--server", `127.0.0.1:${app.grpcPort}`];
    const register = await cli(["register", "shop", "10.0.0.1:80", ...hostPort, ...tls]);
    expect(register).toMatchObject({ code: 0, err: "" });
    const [select, denied] = await Promise.all([
      cli(["select", "shop", "--json", "--server", `https://127.0.0.1:${app.grpcPort}`, ...tls]),
      cli(["select", "ledger", ...hostPort, ...tls]),
    ]);
    expect(select.code).toBe(0);
    expect(JSON.parse(select.out).backends[0].address).toBe("10.0.0.1:80");
    expect(denied.code).toBe(PERMISSION_DENIED);
    expect(denied.err).toContain("missing scope select:ledger");
    const watch = runCli(["watch", "shop", ...hostPort, ...tls]);
    await until(() => watch.out().includes("shop snapshot: 1 backends"), 60_000);
    watch.child.kill("SIGINT");
    await watch.exited;
  });

  it("A1: without --tls-ca the command stops with UNAVAILABLE in one line; an unreadable file is named by its flag", async () => {
    const untrusted = await cli(["services", "--server", `https://127.0.0.1:${app.grpcPort}`]);
    expect(untrusted.code).toBe(UNAVAILABLE);
    expect(untrusted.err).toBe(
      `fulcrum: TLS with https://127.0.0.1:${app.grpcPort} failed: self-signed certificate in certificate chain (check --tls-ca, --tls-cert, --tls-key)\n`,
    );
    const missing = await cli([
      "services",
      "--server",
      `127.0.0.1:${app.grpcPort}`,
      "--tls-ca",
      "/nonexistent.pem",
    ]);
    expect(missing.code).toBe(2);
    expect(missing.err).toBe("fulcrum: --tls-ca: cannot read /nonexistent.pem (ENOENT)\n");
  });
});
