import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { App } from "../../src/app/create-app.js";
import {
  connectClientsWithToken,
  expectAuthorized,
  expectCode,
  grpcClientsWithToken,
  type TestToken,
  tokensFile,
  tokensYaml,
} from "../support/auth.js";
import { eventually } from "../support/eventually.js";
import { startFulcrum } from "../support/server.js";

const VERBS = ["register", "health", "select", "report", "watch"];
const ADMIN: TestToken = { name: "ops", token: "tok-admin-5d1c", scopes: ["admin"] };
const PAYMENTS: TestToken = {
  name: "payments",
  token: "tok-pay-83ea",
  scopes: VERBS.map((v) => `${v}:payments`),
};
const OTHER: TestToken = { name: "other", token: "tok-other-0b7f", scopes: VERBS.map((v) => `${v}:other-*`) };
const WRONG = "tok-nobody-ffff";
const SERVICE = "payments";

type Clients = ReturnType<typeof grpcClientsWithToken>;

/** One call of every RPC against `service`, each returning a promise that settles with the outcome. */
function everyRpc(clients: Clients, service: string): Record<string, () => Promise<unknown>> {
  const { registry, balancer } = clients;
  const outcome = { service, backendId: "b0", result: 1 };
  return {
    Register: () => registry.register({ service, backends: [{ id: "b0", address: "10.0.0.1:80" }] }),
    Heartbeat: () => registry.heartbeat({ service, backendIds: ["b0"] }),
    SetHealth: () => registry.setHealth({ service, backendId: "b0", health: 1, reason: "test" }),
    GetService: () => registry.getService({ service }),
    Select: () => balancer.select({ service }),
    EndSession: () => balancer.endSession({ service, sessionId: "s1" }),
    Report: () => balancer.report({ outcomes: [outcome] }),
    StreamReports: () =>
      balancer.streamReports(
        (async function* () {
          yield { outcomes: [outcome] };
        })(),
      ),
    SelectStream: async () => {
      const requests = (async function* () {
        yield { requestId: 1n, select: { service } };
      })();
      for await (const answer of balancer.selectStream(requests)) return answer;
    },
    Watch: async () => {
      for await (const event of balancer.watch({ services: [service] })) return event;
    },
    Deregister: () => registry.deregister({ service, backendIds: ["gone"] }),
  };
}

const PORTS = [
  {
    name: "gRPC port (grpc-js)",
    clients: (app: App, token?: string) => grpcClientsWithToken(app.grpcPort, token),
  },
  {
    name: "web port (Connect)",
    clients: (app: App, token?: string) => connectClientsWithToken(app.webPort, token),
  },
];

let app: App;
let file: ReturnType<typeof tokensFile>;
beforeAll(async () => {
  file = tokensFile(tokensYaml([ADMIN, PAYMENTS, OTHER]));
  app = await startFulcrum({ auth: { tokensFile: file.path, reloadCheckMs: 100 } });
  await grpcClientsWithToken(app.grpcPort, ADMIN.token).registry.register({
    service: "other-svc",
    backends: [{ id: "o0", address: "10.0.1.1:80" }],
  });
});
afterAll(() => app?.close());

describe.each(PORTS)("authorization on every RPC, $name (A2)", ({ clients }) => {
  it("A2: no token and an unknown token give UNAUTHENTICATED on every RPC, never echoing the token", async () => {
    for (const [name, call] of Object.entries(everyRpc(clients(app), SERVICE))) {
      const none = await expectCode(call(), Code.Unauthenticated);
      expect(none.rawMessage, name).toContain("credentials");
    }
    for (const call of Object.values(everyRpc(clients(app, WRONG), SERVICE))) {
      const wrong = await expectCode(call(), Code.Unauthenticated);
      expect(wrong.message).not.toContain(WRONG);
    }
  });

  it("A2: a token for another service gets PERMISSION_DENIED naming the missing scope", async () => {
    const expected: Record<string, string> = {
      Register: "register",
      Heartbeat: "register",
      Deregister: "register",
      SetHealth: "health",
      GetService: "watch",
      Select: "select",
      SelectStream: "select",
      EndSession: "select",
      Report: "report",
      StreamReports: "report",
      Watch: "watch",
    };
    for (const [name, call] of Object.entries(everyRpc(clients(app, OTHER.token), SERVICE))) {
      const denied = await expectCode(call(), Code.PermissionDenied);
      expect(denied.rawMessage, name).toBe(`missing scope ${expected[name]}:${SERVICE}`);
    }
  });

  it("A2: the right scope is allowed on every RPC", async () => {
    for (const call of Object.values(everyRpc(clients(app, PAYMENTS.token), SERVICE)))
      await expectAuthorized(call());
  });

  it("A2: a stream message naming a service outside the scope ends the stream with PERMISSION_DENIED", async () => {
    const { balancer } = clients(app, PAYMENTS.token);
    const answers: bigint[] = [];
    const requests = (async function* () {
      yield { requestId: 1n, select: { service: SERVICE } };
      await new Promise((resolve) => setTimeout(resolve, 100));
      yield { requestId: 2n, select: { service: "other-svc" } };
    })();
    const denied = await expectCode(
      (async () => {
        for await (const answer of balancer.selectStream(requests)) answers.push(answer.requestId);
      })(),
      Code.PermissionDenied,
    );
    expect(answers).toEqual([1n]);
    expect(denied.rawMessage).toBe("missing scope select:other-svc");
    const reports = (async function* () {
      yield { outcomes: [{ service: SERVICE, backendId: "b0", result: 1 }] };
      yield { outcomes: [{ service: "other-svc", backendId: "o0", result: 2 }] };
    })();
    const deniedReport = await expectCode(balancer.streamReports(reports), Code.PermissionDenied);
    expect(deniedReport.rawMessage).toBe("missing scope report:other-svc");
  });

  it("A2: ListServices shows only what the token may watch; prefix scopes match", async () => {
    const names = async (token: string) =>
      (await clients(app, token).registry.listServices({})).services.map((s) => s.name).sort();
    expect(await names(ADMIN.token)).toEqual(["other-svc", "payments"]);
    expect(await names(PAYMENTS.token)).toEqual(["payments"]);
    expect(await names(OTHER.token)).toEqual(["other-svc"]);
    const watchAll = clients(app, OTHER.token).balancer.watch({ services: [] });
    const deniedAll = await expectCode(watchAll[Symbol.asyncIterator]().next(), Code.PermissionDenied);
    expect(deniedAll.rawMessage).toBe("missing scope watch:*");
  });
});

describe("tokens file reload (A2)", () => {
  it("A2: a replaced tokens file takes effect without a restart: new token allowed, removed token refused", async () => {
    const rotated: TestToken = { ...PAYMENTS, token: "tok-pay-rotated-77a0" };
    file.write(tokensYaml([ADMIN, rotated, OTHER]));
    await eventually(async () => {
      await expectAuthorized(
        grpcClientsWithToken(app.grpcPort, rotated.token).balancer.select({ service: SERVICE }),
      );
      return true;
    });
    await expectCode(
      grpcClientsWithToken(app.grpcPort, PAYMENTS.token).balancer.select({ service: SERVICE }),
      Code.Unauthenticated,
    );
    file.write("tokens: [ {name: broken");
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expectAuthorized(
      grpcClientsWithToken(app.grpcPort, rotated.token).balancer.select({ service: SERVICE }),
    );
  });
});
