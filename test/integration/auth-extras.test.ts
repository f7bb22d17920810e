/**
 * What authorization leaves open and what it guards beyond the Fulcrum services: grpc.health.v1,
 * /healthz, /readyz and /metrics stay open unless `auth.protectProbes`; server reflection needs
 * `admin` (listed with the real `buf curl`).
 */
import { execFile } from "node:child_process";
import { createRequire } from "node:module";
import * as path from "node:path";
import { promisify } from "node:util";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { type TestToken, tokensFile, tokensYaml } from "../support/auth.js";
import { grpc } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";

const run = promisify(execFile);
const require = createRequire(import.meta.url);
const HEALTH_PROTO = path.join(path.dirname(require.resolve("grpc-health-check/package.json")), "proto");
const BUF = path.join(path.dirname(require.resolve("@bufbuild/buf/package.json")), "bin", "buf");
const ADMIN: TestToken = { name: "ops", token: "tok-admin-e41b", scopes: ["admin"] };
const READER: TestToken = { name: "reader", token: "tok-read-9c20", scopes: ["watch:*", "select:*"] };

/** grpc.health.v1 Check of the whole server, with an optional token; resolves with the status code. */
function healthCheck(port: number, token?: string): Promise<number> {
  const definition = protoLoader.loadSync("health/v1/health.proto", { includeDirs: [HEALTH_PROTO] });
  // biome-ignore lint/suspicious/noExplicitAny: proto-loader builds the client class at run time.
  const pkg = grpc.loadPackageDefinition(definition) as any;
  const client = new pkg.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const metadata = new grpc.Metadata();
  if (token) metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve) => {
    client.Check(
      { service: "" },
      metadata,
      { deadline: Date.now() + 5_000 },
      (error: grpc.ServiceError | null) => {
        client.close();
        resolve(error ? error.code : grpc.status.OK);
      },
    );
  });
}

/** `buf curl --list-services` over reflection; resolves with stdout, or the error text. */
async function listByReflection(port: number, token?: string): Promise<string> {
  const args = ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-services"];
  if (token) args.push("--reflect-header", `authorization: Bearer ${token}`);
  try {
    return (await run(BUF, [...args, `http://127.0.0.1:${port}`], { timeout: 15_000 })).stdout;
  } catch (error) {
    return String((error as { stderr?: string }).stderr ?? error);
  }
}

const httpStatus = async (port: number, route: string) =>
  (await fetch(`http://127.0.0.1:${port}${route}`)).status;

describe("with auth on, probes open by default (A2)", () => {
  let app: App;
  beforeAll(async () => {
    app = await startFulcrum({ auth: { tokensFile: tokensFile(tokensYaml([ADMIN, READER])).path } });
  });
  afterAll(() => app?.close());

  it("A2: grpc.health.v1, /healthz, /readyz and /metrics answer without a token", async () => {
    expect(await healthCheck(app.grpcPort)).toBe(grpc.status.OK);
    for (const route of ["/healthz", "/readyz", "/metrics"])
      expect(await httpStatus(app.webPort, route)).toBe(200);
  });

  it("A2: server reflection needs admin", async () => {
    expect(await listByReflection(app.grpcPort)).toMatch(/not authenticated/i);
    expect(await listByReflection(app.grpcPort, READER.token)).toMatch(
      /permission_denied.*missing scope admin/i,
    );
    expect(await listByReflection(app.grpcPort, ADMIN.token)).toContain("fulcrum.v1.BalancerService");
  });
});

describe("auth.protectProbes (A2)", () => {
  let app: App;
  beforeAll(async () => {
    const file = tokensFile(tokensYaml([ADMIN, READER])).path;
    app = await startFulcrum({ auth: { tokensFile: file, protectProbes: true } });
  });
  afterAll(() => app?.close());

  it("A2: health and the HTTP probes need a known caller", async () => {
    expect(await healthCheck(app.grpcPort)).toBe(grpc.status.UNAUTHENTICATED);
    expect(await healthCheck(app.grpcPort, "tok-unknown")).toBe(grpc.status.UNAUTHENTICATED);
    expect(await healthCheck(app.grpcPort, READER.token)).toBe(grpc.status.OK);
    for (const route of ["/healthz", "/readyz", "/metrics"])
      expect(await httpStatus(app.webPort, route)).toBe(401);
    const ok = await fetch(`http://127.0.0.1:${app.webPort}/metrics`, {
      headers: { authorization: `Bearer ${READER.token}` },
    });
    expect(ok.status).toBe(200);
  });
});
