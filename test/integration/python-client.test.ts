/**
 * The real server driven by a Python grpcio client. Stubs are generated at test time from
 * proto/ with Debian's protoc and grpc_python_plugin into a temp dir (never committed); the
 * scenario (test/python/client_scenario.py) runs under Debian's /usr/bin/python3, which has
 * python3-grpcio and python3-protobuf (the first python3 on PATH may be a pyenv without them).
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { startFulcrum } from "../support/server.js";

const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
const SCENARIO = fileURLToPath(new URL("../python/client_scenario.py", import.meta.url));
const PROTOC = "/usr/bin/protoc";
const PYTHON = "/usr/bin/python3";
const PROTO_FILES = [
  "fulcrum/v1/types.proto",
  "fulcrum/v1/registry.proto",
  "fulcrum/v1/balancer.proto",
  "google/rpc/status.proto",
  "google/rpc/error_details.proto",
];

let app: App;
let stubsDir: string;

beforeAll(async () => {
  stubsDir = mkdtempSync(path.join(os.tmpdir(), "fulcrum-py-stubs-"));
  const plugin = execFileSync("sh", ["-c", "command -v grpc_python_plugin"], { timeout: 5_000 })
    .toString()
    .trim();
  expect(plugin).not.toBe("");
  execFileSync(
    PROTOC,
    [
      `-I${PROTO_DIR}`,
      // Debian's protoc ships the google/protobuf well-known types here.
      "-I/usr/include",
      `--plugin=protoc-gen-grpc_python=${plugin}`,
      `--python_out=${stubsDir}`,
      `--grpc_python_out=${stubsDir}`,
      ...PROTO_FILES,
    ],
    { timeout: 20_000, stdio: ["ignore", "pipe", "pipe"] },
  );
  app = await startFulcrum();
});

afterAll(async () => {
  await app?.close();
  if (stubsDir) rmSync(stubsDir, { recursive: true, force: true });
});

/** Runs the scenario asynchronously (the server lives in this process), bounded by a timeout. */
function runScenario(prefix: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      PYTHON,
      // -I: isolated, so no PYTHONPATH or user site-packages from the environment leak in.
      ["-I", SCENARIO, String(app.grpcPort), stubsDir, prefix],
      { timeout: 30_000, killSignal: "SIGKILL", maxBuffer: 1 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

describe("Python grpcio client against the gRPC port", () => {
  it("runs register, round robin, report, watch and bad inputs with the exact statuses", async () => {
    const { code, stdout, stderr } = await runScenario("py-scenario");
    expect(code, `scenario failed:\n${stderr}`).toBe(0);
    const summary = JSON.parse(stdout);

    expect(summary.rr).toEqual(["b0", "b1", "b2", "b0"]);
    expect(summary.reports).toEqual([
      { applied: 1, ignored: 0 },
      { applied: 0, ignored: 1 },
    ]);
    expect(summary.b0_in_flight_after_report).toBe(1);
    expect(summary.watch).toEqual({ events: ["snapshot", "backend_added"], versions_increase: true });

    expect(summary.errors.empty_service).toEqual({
      code: "INVALID_ARGUMENT",
      message: "service: must not be empty",
    });
    expect(summary.errors.bad_address).toEqual({
      code: "INVALID_ARGUMENT",
      message: 'backends[0].address: must be host:port, got "no-port"',
    });
    expect(summary.errors.duplicate_id.code).toBe("INVALID_ARGUMENT");
    expect(summary.errors.duplicate_id.message).toContain('backends[1].id: duplicate id "x"');
    expect(summary.errors.weight.code).toBe("INVALID_ARGUMENT");
    expect(summary.errors.weight.message).toMatch(/^backends\[0\]\.weight: .*10000.*10001/);
    expect(summary.errors.unknown_service).toEqual({
      code: "NOT_FOUND",
      message: 'service "py-scenario-no-such-service" is not registered',
    });
    expect(summary.bad_address_violations).toEqual(["backends[0].address"]);
    expect(summary.version_unchanged).toBe(true);

    // The scenario's services really exist on the server it talked to.
    const rr = app.registry.find("py-scenario-rr");
    expect(rr?.backends.length).toBe(3);
    expect(app.registry.find("py-scenario-watch")?.backends.some((b) => b.spec.id === "extra")).toBe(true);
  });
});
