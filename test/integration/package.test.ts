/**
 * The package an operator installs: `npm pack` (which builds dist/ through `prepare`, so never a
 * stale build), installed into an empty folder, then its `fulcrum` run from there: --version,
 * serve on free ports, and a client command against that server.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import {
  killCliProcesses,
  listeningPorts,
  runCli,
  SERVE_ON_FREE_PORTS,
  until,
} from "../support/cli-process.js";

const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));
const run = promisify(execFile);
/** tsc, packing and an install from the npm cache on a busy two-core machine. */
const PACKAGE_TIMEOUT_MS = 240_000;
const folder = mkdtempSync(join(tmpdir(), "fulcrum-package-"));

afterEach(killCliProcesses);
afterAll(() => rmSync(folder, { recursive: true, force: true }));

async function npm(args: string[], cwd: string): Promise<string> {
  const { stdout } = await run("npm", [...args, "--no-audit", "--no-fund"], {
    cwd,
    maxBuffer: 16 * 1024 * 1024,
    timeout: PACKAGE_TIMEOUT_MS,
  });
  return stdout;
}

describe("the packed package", { timeout: PACKAGE_TIMEOUT_MS * 2 }, () => {
  it("installs into an empty folder without dev dependencies and serves from its build (A5 O9)", async () => {
    const [packed] = JSON.parse(await npm(["pack", "--json", "--pack-destination", folder], REPO_ROOT)) as [
      { filename: string; files: { path: string }[] },
    ];
    const paths = packed.files.map((file) => file.path);
    expect(paths).toContain("dist/src/main.js");
    expect(paths.some((path) => path.startsWith("src/") || path.endsWith(".ts"))).toBe(false);

    const app = join(folder, "app");
    await run("mkdir", [app]);
    await npm(["install", "--prefer-offline", "--omit=dev", join(folder, packed.filename)], app);
    const installed = join(app, "node_modules", "fulcrum");
    expect(existsSync(join(app, "node_modules", "tsx"))).toBe(false);

    const bin = join(installed, "bin", "fulcrum.mjs");
    const { version } = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")) as {
      version: string;
    };
    const { stdout } = await run(join(app, "node_modules", ".bin", "fulcrum"), ["--version"]);
    expect(stdout.trim()).toBe(version);

    const server = runCli([...SERVE_ON_FREE_PORTS, "--log-level", "silent"], {}, bin);
    await until(() => server.out().includes("fulcrum listening"));
    expect(server.err()).toBe("");
    const { grpc, web } = listeningPorts(server.out());
    // The dashboard comes from the build (dist/dashboard/), with no esbuild installed (O9).
    for (const path of ["/", "/dashboard/app.js", "/dashboard/uplot.css"])
      expect([path, (await fetch(`http://127.0.0.1:${web}${path}`)).status]).toEqual([path, 200]);
    expect(existsSync(join(app, "node_modules", "esbuild"))).toBe(false);
    const services = runCli(["services", "--json", "--server", `127.0.0.1:${grpc}`], {}, bin);
    expect(await services.exited).toBe(0);
    expect(JSON.parse(services.out())).toEqual({});
  });
});
