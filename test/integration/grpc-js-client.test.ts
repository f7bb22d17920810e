/**
 * The real server driven by an independent client: @grpc/grpc-js with @grpc/proto-loader reading
 * proto/ directly (test/support/grpc-client.ts), error details decoded with protobufjs from
 * proto/google/rpc, grpc.health.v1 from grpc-health-check's own proto, and server reflection
 * from @grpc/reflection's own proto. Nothing here shares code with the server's codec.
 */
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import * as protoLoader from "@grpc/proto-loader";
import * as protobuf from "protobufjs";
import descriptor from "protobufjs/ext/descriptor/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import { type DynamicClient, grpc, grpcClients, unary, unaryError } from "../support/grpc-client.js";
import { startFulcrum } from "../support/server.js";

const require = createRequire(import.meta.url);
const PROTO_DIR = fileURLToPath(new URL("../../proto", import.meta.url));
const HEALTH_PROTO = path.join(path.dirname(require.resolve("grpc-health-check/package.json")), "proto");
const REFLECTION_PROTO = path.join(
  path.dirname(require.resolve("@grpc/reflection/package.json")),
  "build",
  "proto",
);
const LOADER_OPTIONS = { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true };
const STEP_TIMEOUT_MS = 5_000;

let app: App;
let clients: ReturnType<typeof grpcClients>;
beforeAll(async () => {
  app = await startFulcrum();
  clients = grpcClients(app.grpcPort);
});
afterAll(async () => {
  clients?.close();
  await app?.close();
});

const backends = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `b${i}`, address: `10.0.0.${i + 1}:80` }));

interface BackendStatus {
  backend: { id: string; address: string };
  in_flight: number;
}
interface GetServiceResponse {
  service: { name: string; version: string; backends: BackendStatus[] };
}

function getService(service: string) {
  return unary<GetServiceResponse>(clients.registry, "GetService", { service });
}

/** Messages of a server stream, one at a time, each within a bounded wait. */
function streamReader<T>(stream: grpc.ClientReadableStream<T>) {
  const queue: T[] = [];
  const waiters: Array<(message: T) => void> = [];
  let failure: Error | undefined;
  stream.on("data", (message: T) => {
    const waiter = waiters.shift();
    if (waiter) waiter(message);
    else queue.push(message);
  });
  stream.on("error", (error: Error) => {
    failure = error;
  });
  return {
    next(): Promise<T> {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (failure) return Promise.reject(failure);
      return new Promise<T>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error("no stream message within 5 s")), STEP_TIMEOUT_MS);
        waiters.push((message) => {
          clearTimeout(timer);
          resolve(message);
        });
      });
    },
  };
}

describe("grpc-js client against the gRPC port", () => {
  it("registers, selects round robin b0,b1,b2,b0, reports once (applied) and twice (ignored)", async () => {
    const service = "grpcjs-rr";
    const registered = await unary<{ version: string; changed: boolean }>(clients.registry, "Register", {
      service,
      backends: backends(3),
    });
    expect(registered.changed).toBe(true);
    // Versions come from one counter shared by every service, so compare, never hard-code.
    expect(BigInt(registered.version)).toBeGreaterThan(0n);

    const picks: string[] = [];
    const tickets: string[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await unary<{
        backends: { id: string; address: string }[];
        ticket: string;
        version: string;
      }>(clients.balancer, "Select", { service });
      expect(response.backends).toHaveLength(1);
      expect(response.version).toBe(registered.version);
      picks.push(response.backends[0]!.id);
      tickets.push(response.ticket);
    }
    expect(picks).toEqual(["b0", "b1", "b2", "b0"]);
    expect(new Set(tickets).size).toBe(4);

    const before = await getService(service);
    expect(before.service.backends.map((b) => [b.backend.id, b.in_flight])).toEqual([
      ["b0", 2],
      ["b1", 1],
      ["b2", 1],
    ]);

    const outcome = {
      ticket: tickets[3],
      result: "CALL_RESULT_SUCCESS",
      latency: { seconds: 0, nanos: 12_000_000 },
    };
    const first = await unary(clients.balancer, "Report", { outcomes: [outcome] });
    expect(first).toEqual({ applied: 1, ignored: 0 });
    const second = await unary(clients.balancer, "Report", { outcomes: [outcome] });
    expect(second).toEqual({ applied: 0, ignored: 1 });

    const after = await getService(service);
    expect(after.service.backends.find((b) => b.backend.id === "b0")?.in_flight).toBe(1);
    // Reports release slots; they do not bump the membership version.
    expect(after.service.version).toBe(registered.version);
  });

  it("watches: a snapshot first, then backend_added with a higher version after a MERGE", async () => {
    const service = "grpcjs-watch";
    const registered = await unary<{ version: string }>(clients.registry, "Register", {
      service,
      backends: backends(2),
    });
    const stream: grpc.ClientReadableStream<Record<string, unknown>> = clients.balancer.Watch({
      services: [service],
    });
    const reader = streamReader(stream);
    try {
      const first = (await reader.next()) as {
        service: string;
        version: string;
        event: string;
        snapshot: { name: string; version: string; backends: BackendStatus[] };
      };
      expect(first.service).toBe(service);
      expect(first.event).toBe("snapshot");
      expect(first.version).toBe(registered.version);
      expect(first.snapshot.version).toBe(registered.version);
      expect(first.snapshot.name).toBe(service);
      expect(first.snapshot.backends.map((b) => b.backend.id)).toEqual(["b0", "b1"]);

      const merged = await unary<{ version: string; changed: boolean }>(clients.registry, "Register", {
        service,
        mode: "REGISTER_MODE_MERGE",
        backends: [{ id: "extra", address: "10.9.9.9:80" }],
      });
      expect(merged.changed).toBe(true);

      const second = (await reader.next()) as {
        service: string;
        version: string;
        event: string;
        backend_added: BackendStatus;
      };
      expect(second.service).toBe(service);
      expect(second.event).toBe("backend_added");
      expect(second.backend_added.backend).toMatchObject({ id: "extra", address: "10.9.9.9:80" });
      expect(BigInt(second.version)).toBeGreaterThan(BigInt(first.version));
      expect(second.version).toBe(merged.version);
    } finally {
      stream.cancel();
    }
  });

  it("rejects bad input with exact codes and messages, and a failed call changes nothing", async () => {
    const service = "grpcjs-bad";
    await unary(clients.registry, "Register", { service, backends: backends(2) });
    const before = await getService(service);

    const empty = await unaryError(clients.registry, "Register", { service: "", backends: backends(1) });
    expect(empty.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(empty.details).toBe("service: must not be empty");

    const address = await unaryError(clients.registry, "Register", {
      service,
      backends: [{ address: "no-port" }],
    });
    expect(address.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(address.details).toBe('backends[0].address: must be host:port, got "no-port"');

    const dup = await unaryError(clients.registry, "Register", {
      service,
      backends: [
        { id: "x", address: "10.1.1.1:1" },
        { id: "x", address: "10.1.1.2:1" },
      ],
    });
    expect(dup.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(dup.details).toContain('backends[1].id: duplicate id "x"');

    const weight = await unaryError(clients.registry, "Register", {
      service,
      backends: [{ address: "10.1.1.1:1", weight: 10_001 }],
    });
    expect(weight.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(weight.details).toMatch(/^backends\[0\]\.weight: .*10000.*10001/);

    const unknown = await unaryError(clients.balancer, "Select", { service: "grpcjs-no-such-service" });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    expect(unknown.details).toBe('service "grpcjs-no-such-service" is not registered');

    const after = await getService(service);
    expect(after.service.version).toBe(before.service.version);
    expect(after.service.backends.map((b) => b.backend.id)).toEqual(["b0", "b1"]);
    // Nothing got registered under the unknown name either.
    const stillUnknown = await unaryError(clients.registry, "GetService", {
      service: "grpcjs-no-such-service",
    });
    expect(stillUnknown.code).toBe(grpc.status.NOT_FOUND);
  });

  it("carries google.rpc.Status with a BadRequest field violation in grpc-status-details-bin", async () => {
    const root = new protobuf.Root();
    root.resolvePath = (_origin, target) => (path.isAbsolute(target) ? target : path.join(PROTO_DIR, target));
    root.loadSync(["google/rpc/status.proto", "google/rpc/error_details.proto"], { keepCase: true });
    const Status = root.lookupType("google.rpc.Status");
    const BadRequest = root.lookupType("google.rpc.BadRequest");

    const error = await unaryError(clients.registry, "Register", {
      service: "grpcjs-details",
      backends: [{ id: "a", address: "10.0.0.1:80" }, { address: "no-port" }],
    });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    const raw = error.metadata.get("grpc-status-details-bin");
    expect(raw).toHaveLength(1);
    expect(Buffer.isBuffer(raw[0])).toBe(true);

    const status = Status.toObject(Status.decode(raw[0] as Buffer), { defaults: true }) as {
      code: number;
      message: string;
      details: { type_url: string; value: Uint8Array }[];
    };
    expect(status.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(status.message).toBe(error.details);
    const badRequests = status.details.filter(
      (d) => d.type_url === "type.googleapis.com/google.rpc.BadRequest",
    );
    expect(badRequests).toHaveLength(1);
    const badRequest = BadRequest.toObject(BadRequest.decode(badRequests[0]!.value)) as {
      field_violations: { field: string; description: string }[];
    };
    expect(badRequest.field_violations).toEqual([
      { field: "backends[1].address", description: 'must be host:port, got "no-port"' },
    ]);
  });

  it("answers grpc.health.v1 Check with SERVING for the server, NOT_FOUND for an unknown service", async () => {
    const definition = protoLoader.loadSync("health/v1/health.proto", {
      ...LOADER_OPTIONS,
      includeDirs: [HEALTH_PROTO],
    });
    // biome-ignore lint/suspicious/noExplicitAny: proto-loader builds the client class at run time.
    const pkg = grpc.loadPackageDefinition(definition) as any;
    const health: DynamicClient = new pkg.grpc.health.v1.Health(
      `127.0.0.1:${app.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    try {
      expect(await unary(health, "Check", { service: "" })).toEqual({ status: "SERVING" });
      const unknown = await unaryError(health, "Check", { service: "no.such.Service" });
      expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    } finally {
      health.close();
    }
  });

  it.each(["v1", "v1alpha"])("lists fulcrum.v1 services over server reflection %s", async (version) => {
    const definition = protoLoader.loadSync(`grpc/reflection/${version}/reflection.proto`, {
      ...LOADER_OPTIONS,
      includeDirs: [REFLECTION_PROTO],
    });
    // biome-ignore lint/suspicious/noExplicitAny: proto-loader builds the client class at run time.
    const pkg = grpc.loadPackageDefinition(definition) as any;
    const reflection: DynamicClient = new pkg.grpc.reflection[version].ServerReflection(
      `127.0.0.1:${app.grpcPort}`,
      grpc.credentials.createInsecure(),
    );
    const call: grpc.ClientDuplexStream<unknown, Record<string, unknown>> = reflection.ServerReflectionInfo({
      deadline: Date.now() + STEP_TIMEOUT_MS,
    });
    try {
      const reader = streamReader(call);
      call.write({ list_services: "" });
      const listed = (await reader.next()) as {
        message_response: string;
        list_services_response: { service: { name: string }[] };
      };
      expect(listed.message_response).toBe("list_services_response");
      const names = listed.list_services_response.service.map((s) => s.name);
      expect(names).toContain("fulcrum.v1.BalancerService");
      expect(names).toContain("fulcrum.v1.RegistryService");

      call.write({ file_containing_symbol: "fulcrum.v1.BalancerService" });
      const files = (await reader.next()) as {
        message_response: string;
        file_descriptor_response: { file_descriptor_proto: Buffer[] };
      };
      expect(files.message_response).toBe("file_descriptor_response");
      const descriptors = files.file_descriptor_response.file_descriptor_proto.map((bytes) =>
        descriptor.FileDescriptorProto.decode(bytes),
      ) as unknown as {
        name: string;
        package: string;
        service: { name: string; method: { name: string }[] }[];
      }[];
      // @grpc/reflection synthesizes one file per package (e.g. "fulcrum_v1.proto"), so find the
      // service by name rather than by the original file name.
      const services = descriptors.flatMap((d) => d.service.map((s) => ({ pkg: d.package, ...s })));
      const balancer = services.find((s) => s.name === "BalancerService");
      expect(balancer?.pkg).toBe("fulcrum.v1");
      expect(balancer?.method.map((m) => m.name)).toEqual([
        "Select",
        "SelectStream",
        "Report",
        "StreamReports",
        "Watch",
        "EndSession",
      ]);
    } finally {
      call.end();
      call.cancel();
      reflection.close();
    }
  });
});

type StreamAnswer = { request_id: string; result: string };

/** Registers `backendIds` under `service`, sends `selects` on one SelectStream, half-closes; the answers. */
async function selectStreamRun(
  service: string,
  backendIds: readonly string[],
  selects: readonly Record<string, string>[],
): Promise<StreamAnswer[]> {
  const app = await startFulcrum();
  const clients = grpcClients(app.grpcPort);
  try {
    const backends = backendIds.map((id, i) => ({ id, address: `10.0.0.${i + 1}:80` }));
    await unary(clients.registry, "Register", { service, backends });
    const call = clients.balancer.SelectStream();
    const answers: StreamAnswer[] = [];
    call.on("data", (message: StreamAnswer) => answers.push(message));
    const ended = new Promise<void>((resolve, reject) => {
      call.on("end", () => resolve());
      call.on("error", reject);
    });
    for (const [i, select] of selects.entries()) call.write({ request_id: String(i + 1), select });
    call.end();
    await ended;
    return answers;
  } finally {
    clients.close();
    await app.close();
  }
}

describe("grpc-js SelectStream", () => {
  it("answers every request with its request_id and ends cleanly after the client half-closes", async () => {
    const selects = Array.from({ length: 1_000 }, (_, i) => ({
      service: (i + 1) % 100 === 0 ? "missing" : "stream",
    }));
    const answers = await selectStreamRun("stream", ["a"], selects);
    expect(answers).toHaveLength(1_000);
    expect(new Set(answers.map((a) => a.request_id)).size).toBe(1_000);
    expect(answers.filter((a) => a.result === "error")).toHaveLength(10);
  });

  it("answers in request order when some Selects wait on the session store and others are answered at once", async () => {
    const selects = Array.from({ length: 300 }, (_, index) => {
      const i = index + 1;
      if (i % 50 === 0) return { service: "missing" };
      return { service: "ordered", ...(i % 3 === 0 && { session_id: `s${i % 7}`, command: "GET" }) };
    });
    const answers = await selectStreamRun("ordered", ["a", "b"], selects);
    expect(answers.map((a) => Number(a.request_id))).toEqual(selects.map((_, i) => i + 1));
    expect(answers.filter((a) => a.result === "error").map((a) => Number(a.request_id))).toEqual([
      50, 100, 150, 200, 250, 300,
    ]);
  });
});
