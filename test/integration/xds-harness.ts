/**
 * What the xDS tests share: real gRPC backends on loopback that answer with their id, a
 * bootstrap file pointing at Fulcrum's xDS port, and a client process (Node or Python) that
 * makes a bounded batch of calls through xDS and reports which backend answered each.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface, type Interface } from "node:readline";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";

/** A gRPC server answering /fulcrum.test.Echo/Who with its id. */
export interface EchoBackend {
  readonly id: string;
  readonly port: number;
  stop(): Promise<void>;
}

/** Starts an echo backend on a free loopback port. */
export async function startEchoBackend(id: string): Promise<EchoBackend> {
  const server = new grpc.Server();
  const identity = (buffer: Buffer) => buffer;
  server.addService(
    {
      Who: {
        path: "/fulcrum.test.Echo/Who",
        requestStream: false,
        responseStream: false,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    { Who: (_call: unknown, callback: grpc.sendUnaryData<Buffer>) => callback(null, Buffer.from(id)) },
  );
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { id, port, stop: () => new Promise((resolve) => server.tryShutdown(() => resolve())) };
}

/** Writes a bootstrap file for Fulcrum's xDS port (node.locality set: grpc-js-xds needs it). */
export function writeBootstrap(xdsPort: number, nodeId: string): string {
  const dir = mkdtempSync(join(tmpdir(), "fulcrum-xds-"));
  const path = join(dir, "bootstrap.json");
  const bootstrap = {
    xds_servers: [
      {
        server_uri: `127.0.0.1:${xdsPort}`,
        channel_creds: [{ type: "insecure" }],
        server_features: ["xds_v3"],
      },
    ],
    node: { id: nodeId, locality: { zone: "test-zone" } },
  };
  writeFileSync(path, JSON.stringify(bootstrap));
  return path;
}

/** How many calls each backend answered in one batch, and how many failed. */
export interface Spread {
  readonly counts: Readonly<Record<string, number>>;
  readonly errors: number;
}

/** A client process dialing xds:///<service>. */
export interface XdsClientProcess {
  /** Makes `count` calls, one after another; resolves with who answered them. */
  call(count: number): Promise<Spread>;
  stop(): void;
}

const NODE_CLIENT = fileURLToPath(new URL("./xds-node-client.mjs", import.meta.url));
const PYTHON_CLIENT = fileURLToPath(new URL("./xds-python-client.py", import.meta.url));

/** Starts a client process: "node" (grpc-js-xds) or "python" (Debian grpcio). */
export function startXdsClient(
  kind: "node" | "python",
  service: string,
  bootstrap: string,
): XdsClientProcess {
  const [command, script] =
    kind === "node" ? [process.execPath, NODE_CLIENT] : ["/usr/bin/python3", PYTHON_CLIENT];
  const child: ChildProcess = spawn(command, [script, service], {
    env: { ...process.env, GRPC_XDS_BOOTSTRAP: bootstrap },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines: Interface = createInterface({ input: child.stdout! });
  const waiting: ((spread: Spread) => void)[] = [];
  lines.on("line", (line) => waiting.shift()?.(JSON.parse(line) as Spread));
  return {
    call(count) {
      return new Promise((resolve, reject) => {
        if (child.exitCode !== null) reject(new Error(`${kind} xDS client exited with ${child.exitCode}`));
        waiting.push(resolve);
        child.stdin!.write(`call ${count}\n`);
      });
    },
    stop() {
      child.kill("SIGKILL");
    },
  };
}
