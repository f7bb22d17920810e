import { spawn } from "node:child_process";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WatchRequestSchema, type WatchResponse } from "../../gen/fulcrum/v1/balancer_pb.js";
import type { App } from "../../src/app/create-app.js";
import { FULCRUM_BIN, SERVE_ON_FREE_PORTS } from "../support/cli-process.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import {
  type RedisClusterProcess,
  type RedisProcess,
  startRedis,
  startRedisCluster,
} from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

function watchOn(app: App, services: string[]) {
  const abort = new AbortController();
  const stream = grpcTransportClients(app.grpcPort).balancer.watch(create(WatchRequestSchema, { services }), {
    signal: abort.signal,
  });
  const iterator = stream[Symbol.asyncIterator]();
  return {
    /** The next message that is not a heartbeat. */
    async next(): Promise<WatchResponse> {
      for (;;) {
        const { value, done } = await iterator.next();
        if (done) throw new Error("watch ended");
        if (value.event.case !== "heartbeat") return value;
      }
    },
    close: () => abort.abort(),
  };
}

const backends = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ id: `b${i}`, address: `10.1.0.${i + 1}:80` }));

describe("replicas on one Redis", () => {
  let redis: RedisProcess;
  let a: App;
  let b: App;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startFulcrum({ redis: { url: redis.url }, replicas: { loadShareIntervalMs: 100 } });
    b = await startFulcrum({ redis: { url: redis.url }, replicas: { loadShareIntervalMs: 100 } });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  it("a Register on replica A is selected on replica B, and a health change on A reaches B's watchers", async () => {
    const watch = watchOn(b, ["shared"]);
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    const registered = await onA.registry.register({ service: "shared", backends: backends(3) });
    const snapshot = await watch.next();
    expect(snapshot.event.case).toBe("snapshot");
    expect(snapshot.version).toBe(registered.version);
    const picks = [];
    for (let i = 0; i < 3; i++)
      picks.push((await onB.balancer.select({ service: "shared" })).backends[0]?.id);
    expect(picks.sort()).toEqual(["b0", "b1", "b2"]);

    const health = await onA.registry.setHealth({ service: "shared", backendId: "b1", health: 3 });
    const change = await watch.next();
    expect(change.event.case).toBe("healthChanged");
    expect(change.version).toBe(health.version);
    const onBNow = await onB.registry.getService({ service: "shared" });
    expect(onBNow.service?.backends.find((x) => x.backend?.id === "b1")?.health).toBe(3);
    watch.close();
  });

  it("a ticket from A reported on B frees A's slot and B learns health; repeats are ignored; forged tickets are refused", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    await onA.registry.register({
      service: "tickets",
      config: { health: { failureThreshold: 1 } },
      backends: backends(1),
    });
    await eventually(() => onB.registry.getService({ service: "tickets" }));
    const picked = await onA.balancer.select({ service: "tickets" });
    const inFlightOnA = async () =>
      (await onA.registry.getService({ service: "tickets" })).service?.backends[0]?.inFlight;
    expect(await inFlightOnA()).toBe(1);
    expect(await onB.balancer.report({ outcomes: [{ ticket: picked.ticket, result: 2 }] })).toMatchObject({
      applied: 1,
    });
    await eventually(async () => ((await inFlightOnA()) === 0 ? true : undefined));
    await eventually(async () => {
      const health = (await onA.registry.getService({ service: "tickets" })).service?.backends[0]?.health;
      return health === 3 ? health : undefined;
    });
    expect(await onB.balancer.report({ outcomes: [{ ticket: picked.ticket, result: 2 }] })).toMatchObject({
      applied: 0,
      ignored: 1,
    });
    const forged = picked.ticket.replace(/~[^~]+$/, "~AAAAAAAAAAAAAAAA");
    const refused = await onB.balancer.report({ outcomes: [{ ticket: forged, result: 1 }] }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((refused as ConnectError).code).toBe(Code.InvalidArgument);
    expect((refused as ConnectError).rawMessage).toContain("outcomes[0].ticket");
  });

  it("C1 C9 P4 a pinned session's Selects are answered from the replica's L1: no Redis command per Select in steady state", async () => {
    const SELECTS = 50;
    const onA = grpcTransportClients(a.grpcPort);
    await onA.registry.register({
      service: "l1-pins",
      config: { session: { routingMode: 2 } },
      backends: backends(2),
    });
    const first = await onA.balancer.select({ service: "l1-pins", sessionId: "s-1", command: "GROUP x" });
    await redis.cli("config", "resetstat");
    const started = Date.now();
    for (let i = 0; i < SELECTS; i++) {
      const again = await onA.balancer.select({ service: "l1-pins", sessionId: "s-1", command: "NEXT" });
      expect(again.backends[0]?.id).toBe(first.backends[0]?.id);
      await onA.balancer.report({ outcomes: [{ ticket: again.ticket, result: 1 }] });
    }
    const stats = await redis.cli("info", "commandstats");
    const elapsedMs = Date.now() - started;
    // Background work runs on timers, not per Select: load shares (one PUBLISH per replica every
    // 100 ms here) and the ticket-secret sync (a few commands every 5 s). A command run per Select
    // would show at least SELECTS calls.
    const calls = [...stats.matchAll(/^cmdstat_(\w+):calls=(\d+)/gm)]
      .filter(([, name]) => name !== "info" && name !== "config")
      .map(([, name, n]) => ({ name: name!, n: Number(n) }));
    const publishBound = 2 * Math.ceil(elapsedMs / 100) + 2;
    const tooMany = calls.filter(({ name, n }) => (name === "publish" ? n > publishBound : n >= SELECTS / 2));
    expect(tooMany).toEqual([]);
  });

  it("in-flight counts are shared between replicas: least_load on B avoids what A has in flight", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    await onA.registry.register({
      service: "shared-load",
      config: { strategy: { strategy: 6 } },
      backends: backends(2),
    });
    await eventually(() => onB.registry.getService({ service: "shared-load" }));
    const pickOnB = async () => {
      const picked = await onB.balancer.select({ service: "shared-load" });
      await onB.balancer.report({ outcomes: [{ ticket: picked.ticket, result: 1 }] });
      return picked.backends[0]?.id;
    };
    // A picks first, while B has nothing in flight that it could have shared.
    const held = await onA.balancer.select({ service: "shared-load" });
    expect(held.backends[0]?.id).toBe("b0");
    await eventually(async () => ((await pickOnB()) === "b1" ? true : undefined));
    const seenOnB = (await onB.registry.getService({ service: "shared-load" })).service?.backends[0]
      ?.inFlight;
    expect(seenOnB).toBe(1);
    await onA.balancer.report({ outcomes: [{ ticket: held.ticket, result: 1 }] });
    await eventually(async () => ((await pickOnB()) === "b0" ? true : undefined));
  });

  it("concurrent MERGEs on A and B are all kept, with one version history", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    await onA.registry.register({ service: "race", backends: [] });
    await eventually(() => onB.registry.getService({ service: "race" }));
    await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        (i % 2 ? onA : onB).registry.register({
          service: "race",
          mode: 2,
          backends: [{ id: `m${i}`, address: `10.2.0.${i + 1}:80` }],
        }),
      ),
    );
    for (const client of [onA, onB]) {
      const seen = await eventually(async () => {
        const status = await client.registry.getService({ service: "race" });
        return status.service?.backends.length === 10 ? status : undefined;
      });
      expect(seen.service?.version).toBe(11n);
    }
  });

  it("a replica killed mid-run loses nothing the others acknowledged", async () => {
    const child = spawn(
      process.execPath,
      [FULCRUM_BIN, ...SERVE_ON_FREE_PORTS, "--log-level", "silent", "--redis", redis.url],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout!.on("data", (chunk) => {
      out += chunk;
    });
    const port = await eventually(async () => /gRPC 127\.0\.0\.1:(\d+)/.exec(out)?.[1], 60_000);
    const onC = grpcTransportClients(Number(port));
    const acked = await onC.registry.register({ service: "from-c", backends: backends(2) });
    child.kill("SIGKILL");
    const onA = grpcTransportClients(a.grpcPort);
    const seen = await eventually(() => onA.registry.getService({ service: "from-c" }));
    expect(seen.service?.version).toBe(acked.version);
    expect(seen.service?.backends.map((x) => x.backend?.id)).toEqual(["b0", "b1"]);
  });

  it("with Redis stopped, Select keeps answering from every replica, Register is UNAVAILABLE; on return nothing acknowledged is lost", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    await onA.registry.register({ service: "outage", backends: backends(2) });
    await eventually(() => onB.registry.getService({ service: "outage" }));
    await redis.stop();
    let failures = 0;
    for (let i = 0; i < 200; i++) {
      await (i % 2 ? onA : onB).balancer.select({ service: "outage" }).catch(() => failures++);
    }
    expect(failures).toBe(0);
    const refused = await onA.registry
      .register({ service: "outage", mode: 2, backends: [{ id: "late", address: "10.3.0.1:80" }] })
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(refused).toBeInstanceOf(ConnectError);
    expect((refused as ConnectError).code).toBe(Code.Unavailable);
    expect((refused as ConnectError).rawMessage).toContain("registry store is unavailable");

    await redis.start();
    // Redis came back empty; the replicas put back what they acknowledged, and writes work again.
    const after = await eventually(
      () =>
        onB.registry.register({
          service: "outage",
          mode: 2,
          backends: [{ id: "after", address: "10.3.0.2:80" }],
        }),
      15_000,
    );
    expect(after.changed).toBe(true);
    const seen = await eventually(async () => {
      const status = await onA.registry.getService({ service: "outage" });
      return status.service?.backends.length === 3 ? status : undefined;
    });
    expect(seen.service?.backends.map((x) => x.backend?.id)).toEqual(["b0", "b1", "after"]);
    // Services nobody wrote since the restart are put back when the replicas' subscribers reconnect.
    await eventually(
      async () => ((await redis.cli("exists", "fulcrum:{s:shared}:def")).includes("1") ? true : undefined),
      10_000,
    );
  });
});

describe("replicas on a Redis Cluster (C13)", () => {
  let cluster: RedisClusterProcess;
  let a: App;
  let b: App;
  beforeAll(async () => {
    cluster = await startRedisCluster();
    const nodes = cluster.nodes.map((n) => `${n.host}:${n.port}`).join(",");
    a = await startFulcrum({ redis: { cluster: nodes } });
    b = await startFulcrum({ redis: { cluster: nodes } });
  }, 60_000);
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await cluster?.stop();
  });

  it("services in different slots register on A and are selected on B", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    const names = Array.from({ length: 12 }, (_, i) => `svc-${i}`);
    for (const service of names) await onA.registry.register({ service, backends: backends(2) });
    for (const service of names) {
      const picked = await eventually(() => onB.balancer.select({ service }));
      expect(["b0", "b1"]).toContain(picked.backends[0]?.id);
    }
    const late = await startFulcrum({
      redis: { cluster: cluster.nodes.map((n) => `${n.host}:${n.port}`).join(",") },
    });
    expect(
      (await grpcTransportClients(late.grpcPort).registry.listServices({})).services
        .map((s) => s.name)
        .sort(),
    ).toEqual(names.sort());
    await late.close();
  });
});
