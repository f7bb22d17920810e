/**
 * Fan-out in deferred slices (fan-out.ts) and watchers read through a sink (the gRPC port's
 * push form). The deferred tasks are held in a list and run by hand, so every step is
 * deterministic; time is virtual.
 */
import { describe, expect, it } from "vitest";
import type { WatchMessage } from "../../../src/watch/watch-message.js";
import type { Watcher } from "../../../src/watch/watcher.js";
import { kinds, setup, take } from "./hub-setup.js";

/** A `defer` whose tasks wait in a list until run. */
function heldTasks() {
  const tasks: (() => void)[] = [];
  return {
    defer: (task: () => void) => void tasks.push(task),
    /** Runs the oldest held task; false when there is none. */
    runOne: () => {
      const task = tasks.shift();
      task?.();
      return task !== undefined;
    },
    runAll() {
      while (this.runOne());
    },
  };
}

/** Backends added, in the order a watcher got them. */
const added = (messages: WatchMessage[]) =>
  messages.flatMap((m) => (m.event.kind === "backend_added" ? [m.event.backend.spec.id] : []));

/** A sink that records what it is sent and takes `room` messages before it is full. */
function recordingSink(room = Number.POSITIVE_INFINITY) {
  const sent: WatchMessage[] = [];
  let left = room;
  return {
    sent,
    ended: false,
    send(message: WatchMessage) {
      sent.push(message);
      left--;
      return left > 0;
    },
    end() {
      this.ended = true;
    },
    /** Makes room for `n` more. */
    room(n: number) {
      left = n;
    },
  };
}

describe("watch fan-out", () => {
  it("a change is recorded at once, and the Register resolves before any slice reaches a watcher", async () => {
    const held = heldTasks();
    const { hub, add, registry } = await setup({}, { defer: held.defer, fanOutSlice: 2 });
    const seen = registry.find("s")!.version;
    const watchers = Array.from({ length: 5 }, () => hub.subscribe(["s"], new Map()));
    const sinks = watchers.map((watcher) => {
      const sink = recordingSink();
      watcher.attach(sink);
      return sink;
    });
    await add("s", "b");
    // Answered, and nothing fanned out yet; a resume already replays the change.
    expect(sinks.map((sink) => added(sink.sent))).toEqual([[], [], [], [], []]);
    expect(added(await take(hub.subscribe(["s"], new Map([["s", seen]])), 1))).toEqual(["b"]);
    held.runOne();
    expect(sinks.map((sink) => added(sink.sent).length)).toEqual([1, 1, 0, 0, 0]);
    held.runAll();
    expect(sinks.map((sink) => added(sink.sent))).toEqual([["b"], ["b"], ["b"], ["b"], ["b"]]);
  });

  it("changes published back to back reach every watcher in order across slices, never an older one after a snapshot", async () => {
    const held = heldTasks();
    const { hub, add } = await setup({}, { defer: held.defer, fanOutSlice: 3 });
    const early: Watcher[] = Array.from({ length: 4 }, () => hub.subscribe(["s"], new Map()));
    await add("s", "b");
    held.runOne();
    await add("s", "c");
    // Opened while both are in flight: its snapshot holds them, and neither comes again.
    const late = hub.subscribe(["s"], new Map());
    await add("s", "d");
    held.runAll();
    for (const watcher of early) expect(added(await take(watcher, 4))).toEqual(["b", "c", "d"]);
    const [snapshot, next] = await take(late, 2);
    expect(snapshot?.event.kind === "snapshot" && snapshot.event.status.backends).toHaveLength(3);
    expect(added([next!])).toEqual(["d"]);
  });

  it("an attached watcher sends while the sink has room, queues while it is full, and sends the queue on resume", async () => {
    const { hub, add } = await setup();
    const watcher = hub.subscribe(["s"], new Map());
    const sink = recordingSink(2);
    watcher.attach(sink);
    await add("s", "b");
    await add("s", "c");
    await add("s", "d");
    expect(kinds(sink.sent)).toEqual(["s:snapshot", "s:backend_added"]);
    expect(watcher.queued).toBe(2);
    sink.room(10);
    watcher.resume();
    expect(added(sink.sent)).toEqual(["b", "c", "d"]);
    expect(watcher.queued).toBe(0);
  });

  it("an attached watcher past queue_per_watcher while its sink is full gets RESET + snapshot on resume", async () => {
    const { hub, add } = await setup({ queuePerWatcher: 3 });
    const watcher = hub.subscribe(["s"], new Map());
    const sink = recordingSink(1);
    watcher.attach(sink);
    for (let i = 0; i < 10; i++) await add("s", `x${i}`);
    expect(watcher.queued).toBeLessThanOrEqual(3);
    sink.room(100);
    watcher.resume();
    const reset = sink.sent[1]!;
    expect(reset.event.kind === "reset" && reset.event.reason).toMatch(/queue_per_watcher=3/);
    const snapshot = sink.sent[2]!;
    expect(snapshot.event.kind === "snapshot" && snapshot.event.status.backends).toHaveLength(11);
    // What was queued before the overflow is older than the snapshot: none of it follows.
    expect(kinds(sink.sent)).toEqual(["s:snapshot", "s:reset", "s:snapshot"]);
  });

  it("a sink that throws ends its own stream with the error and leaves the hub; the slice goes on to the next watcher", async () => {
    const held = heldTasks();
    const { hub, add } = await setup({}, { defer: held.defer });
    const failing = hub.subscribe(["s"], new Map());
    let endedWith: unknown;
    failing.attach({
      send: (message) => {
        if (message.event.kind === "backend_added") throw new Error("encoder broke");
        return true;
      },
      end: (error) => {
        endedWith = error;
      },
    });
    const healthy = hub.subscribe(["s"], new Map());
    const sink = recordingSink();
    healthy.attach(sink);
    await add("s", "b");
    held.runAll();
    expect((endedWith as Error | undefined)?.message).toBe("encoder broke");
    expect(added(sink.sent)).toEqual(["b"]);
    expect(hub.watcherCount).toBe(1);
  });

  it("an attached watcher sends a heartbeat after heartbeatMs without a message (virtual time), and its sink ends on closeAll", async () => {
    const { hub, add, clock } = await setup({ heartbeatMs: 1_000 });
    const watcher = hub.subscribe(["s"], new Map());
    const sink = recordingSink();
    watcher.attach(sink);
    clock.advance(600);
    await add("s", "b");
    clock.advance(600);
    expect(kinds(sink.sent)).toEqual(["s:snapshot", "s:backend_added"]);
    clock.advance(400);
    expect(kinds(sink.sent)).toEqual(["s:snapshot", "s:backend_added", ":heartbeat"]);
    clock.advance(1_000);
    expect(sink.sent.filter((m) => m.event.kind === "heartbeat")).toHaveLength(2);
    hub.closeAll();
    expect(sink.ended).toBe(true);
    expect(hub.watcherCount).toBe(0);
  });
});
