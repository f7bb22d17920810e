/**
 * O6: server reflection that real tools use. `buf curl` with no local schema lists, calls
 * Register, Select and grpc.health.v1.Health/Check; a raw reflection client sees the real file
 * names and can resolve every type from the descriptors it is given.
 */
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { createFileRegistry, fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { startFulcrum } from "../support/server.js";

const BUF = fileURLToPath(new URL("../../node_modules/.bin/buf", import.meta.url));
const REFLECTION_PROTO = fileURLToPath(
  new URL(
    "../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto",
    import.meta.url,
  ),
);
const run = promisify(execFile);

let app: App;
let base: string;
beforeAll(async () => {
  app = await startFulcrum();
  base = `http://127.0.0.1:${app.grpcPort}`;
});
afterAll(() => app?.close());

/** `buf curl` over gRPC with h2c and server reflection only: no --schema. */
async function bufCurl(args: string[]): Promise<string> {
  const { stdout } = await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
    timeout: 30_000,
  });
  return stdout;
}

/** Sends one file_containing_symbol request over grpc.reflection.v1 and returns the files it got. */
async function filesContaining(symbol: string): Promise<Uint8Array[]> {
  const definition = protoLoader.loadSync(REFLECTION_PROTO, { keepCase: false, longs: String });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { reflection: { v1: { ServerReflection: grpc.ServiceClientConstructor } } };
  };
  const client = new loaded.grpc.reflection.v1.ServerReflection(
    `127.0.0.1:${app.grpcPort}`,
    grpc.credentials.createInsecure(),
  );
  try {
    const call = client.ServerReflectionInfo!() as grpc.ClientDuplexStream<unknown, Record<string, never>>;
    const answer = new Promise<{ fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } }>(
      (resolve, reject) => {
        call.once("data", resolve);
        call.once("error", reject);
      },
    );
    call.write({ fileContainingSymbol: symbol });
    call.end();
    return (await answer).fileDescriptorResponse?.fileDescriptorProto ?? [];
  } finally {
    client.close();
  }
}

describe("server reflection (O6)", () => {
  it("buf curl without a schema lists both services, grpc.health.v1 and every method", async () => {
    expect((await bufCurl(["--list-services", base])).trim().split("\n")).toEqual([
      "fulcrum.v1.BalancerService",
      "fulcrum.v1.RegistryService",
      "grpc.health.v1.Health",
    ]);
    const methods = (await bufCurl(["--list-methods", base])).trim().split("\n");
    for (const method of [
      "fulcrum.v1.BalancerService/Select",
      "fulcrum.v1.BalancerService/Watch",
      "fulcrum.v1.RegistryService/Register",
      "fulcrum.v1.RegistryService/SetHealth",
      "grpc.health.v1.Health/Check",
    ])
      expect(methods).toContain(method);
  });

  it("buf curl without a schema calls Register, Select (Duration fields included) and Health/Check", async () => {
    const registered = JSON.parse(
      await bufCurl([
        `${base}/fulcrum.v1.RegistryService/Register`,
        "-d",
        JSON.stringify({
          service: "reflected",
          backends: [{ id: "b0", address: "10.0.0.1:80", leaseTtl: "30s" }],
        }),
      ]),
    );
    expect(registered).toMatchObject({ changed: true });
    const selected = JSON.parse(
      await bufCurl([`${base}/fulcrum.v1.BalancerService/Select`, "-d", '{"service":"reflected"}']),
    );
    expect(selected.backends).toEqual([{ id: "b0", address: "10.0.0.1:80" }]);
    const health = JSON.parse(await bufCurl([`${base}/grpc.health.v1.Health/Check`, "-d", "{}"]));
    expect(health).toEqual({ status: "SERVING" });
  });

  it("describes services with real file names and every dependency, enough to resolve each type", async () => {
    const files = (await filesContaining("fulcrum.v1.BalancerService")).map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, bytes),
    );
    const names = files.map((file) => file.name);
    expect(names).toContain("fulcrum/v1/balancer.proto");
    for (const dependency of files.find((file) => file.name === "fulcrum/v1/balancer.proto")!.dependency)
      expect(names).toContain(dependency);
    const byName = new Map(files.map((file) => [file.name, file]));
    const registry = createFileRegistry(byName.get("fulcrum/v1/balancer.proto")!, (name) => byName.get(name));
    const select = registry
      .getService("fulcrum.v1.BalancerService")
      ?.methods.find((m) => m.name === "Select");
    expect(select?.input.typeName).toBe("fulcrum.v1.SelectRequest");
    const health = (await filesContaining("grpc.health.v1.Health")).map((bytes) =>
      fromBinary(FileDescriptorProtoSchema, bytes),
    );
    expect(health.map((file) => file.name)).toEqual(["grpc/health/v1/health.proto"]);
  });
});
