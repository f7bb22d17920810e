import { describe, expect, it } from "vitest";
import { kinds, setup, take } from "./hub-setup.js";

describe("watch hub", () => {
  it("sends a snapshot first, then deltas in order with growing versions", async () => {
    const { hub, add } = await setup();
    const watcher = hub.subscribe(["s"], new Map());
    await add("s", "b");
    await add("s", "c");
    const messages = await take(watcher, 3);
    expect(kinds(messages)).toEqual(["s:snapshot", "s:backend_added", "s:backend_added"]);
    const versions = messages.map((m) => m.version);
    expect(versions[1]).toBeGreaterThan(versions[0]!);
    expect(versions[2]).toBeGreaterThan(versions[1]!);
  });

  it("resumes with exactly the missed deltas", async () => {
    const { hub, add, registry } = await setup();
    const seen = registry.find("s")!.version;
    await add("s", "b");
    await add("s", "c");
    const watcher = hub.subscribe(["s"], new Map([["s", seen]]));
    const messages = await take(watcher, 2);
    expect(
      messages.map((m) => (m.event.kind === "backend_added" ? m.event.backend.spec.id : m.event.kind)),
    ).toEqual(["b", "c"]);
    expect(watcher.queued).toBe(0);
  });

  it("answers RESET + snapshot when the history needed to resume is gone", async () => {
    const { hub, add, registry } = await setup({ historyPerService: 2 });
    const seen = registry.find("s")!.version;
    for (const id of ["b", "c", "d"]) await add("s", id);
    const watcher = hub.subscribe(["s"], new Map([["s", seen]]));
    const messages = await take(watcher, 2);
    expect(kinds(messages)).toEqual(["s:reset", "s:snapshot"]);
    const snapshot = messages[1]!.event;
    expect(snapshot.kind === "snapshot" && snapshot.status.backends.map((b) => b.spec.id)).toEqual([
      "a",
      "b",
      "c",
      "d",
    ]);
  });

  it("answers RESET + snapshot for a version from another history (e.g. a restarted server)", async () => {
    const { hub, registry } = await setup();
    const watcher = hub.subscribe(["s"], new Map([["s", registry.find("s")!.version + 1000]]));
    expect(kinds(await take(watcher, 2))).toEqual(["s:reset", "s:snapshot"]);
  });

  it("a stalled watcher's queue stays bounded and it gets RESET + a fresh snapshot", async () => {
    const { hub, add } = await setup({ queuePerWatcher: 5 });
    const watcher = hub.subscribe(["s"], new Map());
    for (let i = 0; i < 100; i++) await add("s", `x${i}`);
    expect(watcher.queued).toBeLessThanOrEqual(5);
    expect(watcher.overflows).toBeGreaterThan(0);
    const messages = await take(watcher, 2);
    expect(kinds(messages)).toEqual(["s:reset", "s:snapshot"]);
    const snapshot = messages[1]!.event;
    expect(snapshot.kind === "snapshot" && snapshot.status.backends).toHaveLength(101);
    // Deltas queued before the snapshot are dropped; the next message is the next change.
    await add("s", "after");
    const [next] = await take(watcher, 1);
    expect(next?.event.kind === "backend_added" && next.event.backend.spec.id).toBe("after");
    expect(next!.version).toBeGreaterThan(messages[1]!.version);
  });

  it("a stalled watcher's queue stays under queue_bytes_per_watcher and its RESET names that limit", async () => {
    const { hub, add } = await setup({ queueBytesPerWatcher: 8 * 1024 });
    const watcher = hub.subscribe(["s"], new Map());
    const big = { note: "x".repeat(900) };
    for (let i = 0; i < 100; i++) {
      await add("s", `x${i}`, big);
      expect(watcher.bytesQueued).toBeLessThanOrEqual(8 * 1024);
    }
    expect(watcher.overflows).toBeGreaterThan(0);
    const [reset, snapshot] = await take(watcher, 2);
    expect(reset?.event.kind === "reset" && reset.event.reason).toMatch(/queue_bytes_per_watcher=8192/);
    expect(snapshot?.event.kind === "snapshot" && snapshot.event.status.backends).toHaveLength(101);
  });

  it("history past history_bytes_per_service drops its oldest events: an old resume gets RESET, a recent one its deltas", async () => {
    const { hub, add, registry } = await setup({ historyBytesPerService: 8 * 1024 });
    const first = registry.find("s")!.version;
    const big = { note: "x".repeat(900) };
    for (let i = 0; i < 30; i++) await add("s", `x${i}`, big);
    expect(kinds(await take(hub.subscribe(["s"], new Map([["s", first]])), 2))).toEqual([
      "s:reset",
      "s:snapshot",
    ]);
    const recent = registry.find("s")!.version - 2;
    const replayed = await take(hub.subscribe(["s"], new Map([["s", recent]])), 2);
    expect(kinds(replayed)).toEqual(["s:backend_added", "s:backend_added"]);
  });

  it("watching all services includes services registered later", async () => {
    const { hub, registry } = await setup();
    const watcher = hub.subscribe([], new Map());
    await registry.register({ service: "t", config: undefined, backends: [], mode: "replace" });
    expect(kinds(await take(watcher, 2))).toEqual(["s:snapshot", "t:snapshot"]);
  });

  it("tells a watcher a service was removed, and a resume after removal gets RESET + removal", async () => {
    const { hub, registry } = await setup();
    const seen = registry.find("s")!.version;
    const live = hub.subscribe(["s"], new Map([["s", seen]]));
    await registry.deregister("s", [], false, 0);
    expect(kinds(await take(live, 1))).toEqual(["s:service_removed"]);
    const late = hub.subscribe(["s"], new Map([["s", seen - 1]]));
    expect(kinds(await take(late, 2))).toEqual(["s:reset", "s:service_removed"]);
  });

  it("a resume naming a service this server never had (restarted, state in memory) gets RESET + removal", async () => {
    const { hub } = await setup();
    const watcher = hub.subscribe([], new Map([["gone", 7]]));
    expect(kinds(await take(watcher, 3))).toEqual(["s:snapshot", "gone:reset", "gone:service_removed"]);
  });

  it("sends heartbeats on an idle stream (virtual time) and ends cleanly on closeAll", async () => {
    const { hub, clock } = await setup({ heartbeatMs: 1_000 });
    const watcher = hub.subscribe(["s"], new Map());
    const iterator = watcher[Symbol.asyncIterator]();
    expect((await iterator.next()).value?.event.kind).toBe("snapshot");
    const pending = iterator.next();
    await Promise.resolve();
    clock.advance(1_000);
    expect((await pending).value?.event.kind).toBe("heartbeat");
    const end = iterator.next();
    hub.closeAll();
    expect((await end).done).toBe(true);
    expect(hub.watcherCount).toBe(0);
  });

  it("refuses watchers past max_watchers with RESOURCE_EXHAUSTED", async () => {
    const { hub } = await setup({ maxWatchers: 1 });
    hub.subscribe(["s"], new Map());
    expect(() => hub.subscribe(["s"], new Map())).toThrow(/max_watchers/);
  });
});
