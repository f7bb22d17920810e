import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WatchRequestSchema } from "../../gen/fulcrum/v1/balancer_pb.js";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { App } from "../../src/app/create-app.js";
import { connectClients, grpcTransportClients } from "../support/connect-client.js";
import { startFulcrum } from "../support/server.js";

let app: App;
beforeAll(async () => {
  app = await startFulcrum();
});
afterAll(() => app.close());

const backends = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `b${i}`, address: `10.0.0.${i + 1}:80` }));

async function expectCode(promise: Promise<unknown>, code: Code): Promise<ConnectError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ConnectError);
  expect((error as ConnectError).code).toBe(code);
  return error as ConnectError;
}

describe.each([
  ["Connect over HTTP/1.1, web port", () => connectClients(app.webPort)],
  ["gRPC over h2c, web port", () => grpcTransportClients(app.webPort)],
  ["gRPC, grpc-js port", () => grpcTransportClients(app.grpcPort)],
])("connect client: %s", (transportName, clients) => {
  const service = `svc-${transportName.replace(/[^a-z0-9]/gi, "-")}`;

  it("registers, selects round robin in order (S1), reports and releases the slot", async () => {
    const { registry, balancer } = clients();
    const registered = await registry.register({ service, backends: backends(3) });
    expect(registered.changed).toBe(true);
    const picks: string[] = [];
    let ticket = "";
    for (let i = 0; i < 4; i++) {
      const response = await balancer.select({ service });
      picks.push(response.backends[0]!.id);
      ticket = response.ticket;
    }
    expect(picks).toEqual(["b0", "b1", "b2", "b0"]);
    const before = await registry.getService({ service });
    expect(before.service?.backends.find((b) => b.backend?.id === "b0")?.inFlight).toBe(2);
    const report = await balancer.report({ outcomes: [{ ticket, result: 1 }] });
    expect(report.applied).toBe(1);
    const again = await balancer.report({ outcomes: [{ ticket, result: 1 }] });
    expect(again).toMatchObject({ applied: 0, ignored: 1 });
    const after = await registry.getService({ service });
    expect(after.service?.backends.find((b) => b.backend?.id === "b0")?.inFlight).toBe(1);
  });

  it("watches: snapshot first, then a delta with a higher version", async () => {
    const { registry, balancer } = clients();
    const watched = `${service}-watch`;
    await registry.register({ service: watched, backends: backends(1) });
    const abort = new AbortController();
    const stream = balancer.watch(create(WatchRequestSchema, { services: [watched] }), {
      signal: abort.signal,
    });
    const iterator = stream[Symbol.asyncIterator]();
    const first = await iterator.next();
    expect(first.value?.event.case).toBe("snapshot");
    await registry.register({
      service: watched,
      mode: 2,
      backends: [{ id: "extra", address: "10.9.9.9:80" }],
    });
    const second = await iterator.next();
    expect(second.value?.event.case).toBe("backendAdded");
    expect(second.value!.version).toBeGreaterThan(first.value!.version);
    abort.abort();
  });

  it("rejects bad input with precise codes and changes nothing", async () => {
    const { registry, balancer } = clients();
    const bad = `${service}-bad`;
    await registry.register({ service: bad, backends: backends(2) });
    const before = await registry.getService({ service: bad });

    const empty = await expectCode(
      registry.register({ service: "", backends: backends(1) }),
      Code.InvalidArgument,
    );
    expect(empty.rawMessage).toContain("service: must not be empty");

    const address = await expectCode(
      registry.register({ service: bad, backends: [{ address: "no-port" }] }),
      Code.InvalidArgument,
    );
    expect(address.rawMessage).toContain("backends[0].address");
    expect(address.findDetails(BadRequestSchema)[0]?.fieldViolations[0]?.field).toBe("backends[0].address");

    const dup = await expectCode(
      registry.register({
        service: bad,
        backends: [
          { id: "x", address: "a:1" },
          { id: "x", address: "b:1" },
        ],
      }),
      Code.InvalidArgument,
    );
    expect(dup.rawMessage).toContain('backends[1].id: duplicate id "x"');

    const weight = await expectCode(
      registry.register({ service: bad, backends: [{ address: "a:1", weight: 10_001 }] }),
      Code.InvalidArgument,
    );
    expect(weight.rawMessage).toContain("backends[0].weight");

    const unknown = await expectCode(balancer.select({ service: "no-such-service" }), Code.NotFound);
    expect(unknown.rawMessage).toContain('"no-such-service"');

    const count = await expectCode(balancer.select({ service: bad, count: 1000 }), Code.InvalidArgument);
    expect(count.rawMessage).toContain("max_select_count");

    const after = await registry.getService({ service: bad });
    expect(after.service?.version).toBe(before.service?.version);
    expect(after.service?.backends.map((b) => b.backend?.id)).toEqual(["b0", "b1"]);
  });

  it("answers UNAVAILABLE when every backend is excluded (S11)", async () => {
    const { registry, balancer } = clients();
    const svc = `${service}-excl`;
    await registry.register({ service: svc, backends: backends(2) });
    const error = await expectCode(
      balancer.select({ service: svc, exclude: ["b0", "b1"] }),
      Code.Unavailable,
    );
    expect(error.rawMessage).toContain("exclude");
  });

  it("P7 EndSession of a session without a pin releases nothing; a missing session_id is INVALID_ARGUMENT", async () => {
    const { balancer } = clients();
    expect(await balancer.endSession({ service, sessionId: "never-pinned" })).toMatchObject({
      released: false,
      backendId: "",
    });
    const error = await expectCode(balancer.endSession({ service, sessionId: "" }), Code.InvalidArgument);
    expect(error.rawMessage).toContain("session_id");
  });
});
