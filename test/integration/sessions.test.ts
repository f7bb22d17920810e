/**
 * Session routing through the real RPCs (behaviour.md P1-P8, docs/sessions.md): a real
 * Fulcrum (in memory, or two replicas on one real redis-server for P4) driven over gRPC with
 * Register, Select (session_id + command, resource_key), Report, EndSession, GetService,
 * SetHealth and Deregister. Every timer that matters (drain deadline, idle TTL, negative TTL)
 * runs on a ManualClock; nothing here asserts wall-clock timing.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { CallResult, HealthState, RoutingMode, SessionMode } from "../../gen/fulcrum/v1/types_pb.js";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { App } from "../../src/app/create-app.js";
import { ManualClock } from "../../src/shared/manual-clock.js";
import { grpcTransportClients } from "../support/connect-client.js";
import { eventually } from "../support/eventually.js";
import { type RedisProcess, startRedis } from "../support/redis.js";
import { startFulcrum } from "../support/server.js";

type Clients = ReturnType<typeof grpcTransportClients>;

const { PER_COMMAND, STATEFUL } = SessionMode;

/** n backends b0..b(n-1), each with `maxConnections` (0: unlimited). */
const backends = (n: number, maxConnections = 0) =>
  Array.from({ length: n }, (_, i) => ({ id: `b${i}`, address: `10.4.0.${i + 1}:119`, maxConnections }));

/** The ConnectError a call fails with (the test fails if it succeeds). */
async function failure(call: Promise<unknown>): Promise<ConnectError> {
  const outcome = await call.then(
    (value) => ({ value }),
    (error: unknown) => ({ error }),
  );
  if (!("error" in outcome)) throw new Error(`expected a failure, got ${JSON.stringify(outcome.value)}`);
  expect(outcome.error).toBeInstanceOf(ConnectError);
  return outcome.error as ConnectError;
}

/** Asserts FAILED_PRECONDITION with exactly one ErrorInfo whose reason is `reason`; returns the error. */
async function expectPrecondition(call: Promise<unknown>, reason: string): Promise<ConnectError> {
  const error = await failure(call);
  expect(error.code, error.message).toBe(Code.FailedPrecondition);
  expect(error.findDetails(ErrorInfoSchema).map((info) => info.reason)).toEqual([reason]);
  return error;
}

/** One client session of one service: every Select is reported at once, so nothing stays in flight. */
function session(c: Clients, service: string, sessionId: string) {
  return {
    async select(command = "", resourceKey = "") {
      const response = await c.balancer.select({ service, sessionId, command, resourceKey });
      await c.balancer.report({ outcomes: [{ ticket: response.ticket, result: CallResult.SUCCESS }] });
      expect(response.backends).toHaveLength(1);
      return { id: response.backends[0]?.id ?? "", mode: response.sessionMode };
    },
    /** The raw Select, unreported (its in-flight slot stays taken). */
    selectRaw(command = "") {
      return c.balancer.select({ service, sessionId, command });
    },
    end() {
      return c.balancer.endSession({ service, sessionId });
    },
  };
}

/** A session-less Select, reported at once; the backend id. */
async function pick(c: Clients, service: string, resourceKey = "", exclude: string[] = []): Promise<string> {
  const response = await c.balancer.select({ service, resourceKey, exclude });
  await c.balancer.report({ outcomes: [{ ticket: response.ticket, result: CallResult.SUCCESS }] });
  return response.backends[0]?.id ?? "";
}

/** GetService's pinned_sessions per backend id. */
async function pinned(c: Clients, service: string): Promise<Record<string, number>> {
  const status = (await c.registry.getService({ service })).service;
  return Object.fromEntries((status?.backends ?? []).map((b) => [b.backend?.id ?? "", b.pinnedSessions]));
}

const other = (id: string) => (id === "b0" ? "b1" : "b0");

describe("sessions through the real RPCs (one replica, in memory)", () => {
  const apps: App[] = [];
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((app) => app.close()));
  });

  async function start(clock?: ManualClock): Promise<Clients> {
    const app = await startFulcrum({}, clock ? { clock } : {});
    apps.push(app);
    return grpcTransportClients(app.grpcPort);
  }

  it("P1 PER_COMMAND: every command is balanced, a stateful one fails with STATEFUL_NOT_ALLOWED and changes nothing", async () => {
    const c = await start();
    await c.registry.register({
      service: "p1-pc",
      config: { session: { routingMode: RoutingMode.PER_COMMAND } },
      backends: backends(2),
    });
    const s = session(c, "p1-pc", "c-1");
    expect(await s.select("LIST ACTIVE")).toEqual({ id: "b0", mode: PER_COMMAND });
    expect(await s.select("DATE")).toEqual({ id: "b1", mode: PER_COMMAND });
    expect(await s.select("ARTICLE <a@b>")).toEqual({ id: "b0", mode: PER_COMMAND });

    const error = await expectPrecondition(s.selectRaw("GROUP misc.test"), "STATEFUL_NOT_ALLOWED");
    expect(error.rawMessage).toContain("GROUP misc.test");
    expect(error.rawMessage).toContain("PER_COMMAND");
    // Without a session_id the stateful command is refused just the same.
    await expectPrecondition(
      c.balancer.select({ service: "p1-pc", command: "ARTICLE 3000" }),
      "STATEFUL_NOT_ALLOWED",
    );

    // The refused calls took nothing: no pin, no in-flight slot, and round robin goes on where it was.
    expect(await s.select("LIST")).toEqual({ id: "b1", mode: PER_COMMAND });
    expect(await pinned(c, "p1-pc")).toEqual({ b0: 0, b1: 0 });
    const status = (await c.registry.getService({ service: "p1-pc" })).service;
    expect(status?.backends.map((b) => b.inFlight)).toEqual([0, 0]);
    expect((await s.end()).released).toBe(false);
  });

  it("P1 STATEFUL: a session is pinned at its first Select, whatever the command", async () => {
    const c = await start();
    await c.registry.register({
      service: "p1-st",
      config: { session: { routingMode: RoutingMode.STATEFUL } },
      backends: backends(3),
    });
    const first = session(c, "p1-st", "c-1");
    const pin = await first.select("LIST");
    expect(pin.mode).toBe(STATEFUL);
    for (const command of ["DATE", "CAPABILITIES", "ARTICLE <a@b>", "", "GROUP misc.test", "QUIT"])
      expect(await first.select(command)).toEqual({ id: pin.id, mode: STATEFUL });

    // A second session with no command at all is pinned too; pins spread over the backends.
    const second = session(c, "p1-st", "c-2");
    const pin2 = await second.select();
    expect(pin2.mode).toBe(STATEFUL);
    expect(pin2.id).not.toBe(pin.id);
    expect(await second.select("HELP")).toEqual({ id: pin2.id, mode: STATEFUL });
    expect(await pinned(c, "p1-st")).toEqual({ b0: 0, b1: 0, b2: 0, [pin.id]: 1, [pin2.id]: 1 });

    // A Select without a session_id is not part of any session.
    const plain = await c.balancer.select({ service: "p1-st", command: "LIST" });
    expect(plain.sessionMode).toBe(SessionMode.UNSPECIFIED);
  });

  it("P1 HYBRID (the default): balanced per command until the first stateful command, then the same backend every time", async () => {
    const c = await start();
    await c.registry.register({ service: "p1-hy", backends: backends(2) });
    const config = (await c.registry.getService({ service: "p1-hy" })).service?.config;
    expect(config?.session?.routingMode).toBe(RoutingMode.HYBRID);

    const s = session(c, "p1-hy", "c-42");
    const before = [];
    for (const command of ["LIST ACTIVE", "DATE", "CAPABILITIES", "ARTICLE <x@y>"])
      before.push(await s.select(command));
    expect(before).toEqual([
      { id: "b0", mode: PER_COMMAND },
      { id: "b1", mode: PER_COMMAND },
      { id: "b0", mode: PER_COMMAND },
      { id: "b1", mode: PER_COMMAND },
    ]);
    expect(await pinned(c, "p1-hy")).toEqual({ b0: 0, b1: 0 });

    const pin = await s.select("GROUP misc.test");
    expect(pin.mode).toBe(STATEFUL);
    for (const command of ["ARTICLE 3000", "LIST", "DATE", "ARTICLE <x@y>", "CAPABILITIES", "NEXT", ""])
      expect(await s.select(command)).toEqual({ id: pin.id, mode: STATEFUL });
    expect(await pinned(c, "p1-hy")).toEqual({ [other(pin.id)]: 0, [pin.id]: 1 });

    // Explicit HYBRID behaves the same.
    await c.registry.register({
      service: "p1-hy2",
      config: { session: { routingMode: RoutingMode.HYBRID } },
      backends: backends(2),
    });
    const t = session(c, "p1-hy2", "c-1");
    expect((await t.select("LIST")).mode).toBe(PER_COMMAND);
    const pin2 = await t.select("LISTGROUP misc.test");
    expect(pin2.mode).toBe(STATEFUL);
    expect(await t.select("LIST")).toEqual({ id: pin2.id, mode: STATEFUL });
  });

  it("P2 the switch is one-way, a second stateful command is a no-op, and after EndSession the same session_id starts fresh", async () => {
    const c = await start();
    await c.registry.register({ service: "p2", backends: backends(3) });
    const s = session(c, "p2", "c-42");
    const pin = await s.select("GROUP misc.test");
    expect(pin.mode).toBe(STATEFUL);
    expect((await pinned(c, "p2"))[pin.id]).toBe(1);

    // A second switch (another GROUP, LISTGROUP) changes nothing: same backend, still one pin.
    expect(await s.select("GROUP other.group")).toEqual({ id: pin.id, mode: STATEFUL });
    expect(await s.select("LISTGROUP other.group")).toEqual({ id: pin.id, mode: STATEFUL });
    const counts = await pinned(c, "p2");
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(1);
    expect(counts[pin.id]).toBe(1);
    // One-way: per-command commands never switch it back.
    for (let i = 0; i < 4; i++) expect(await s.select("LIST")).toEqual({ id: pin.id, mode: STATEFUL });

    expect(await s.end()).toMatchObject({ released: true, backendId: pin.id });
    expect(await pinned(c, "p2")).toEqual({ b0: 0, b1: 0, b2: 0 });
    // Fresh: balanced per command again, over every backend.
    const seen = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const next = await s.select("LIST");
      expect(next.mode).toBe(PER_COMMAND);
      seen.add(next.id);
    }
    expect([...seen].sort()).toEqual(["b0", "b1", "b2"]);
    expect(await s.end()).toMatchObject({ released: false, backendId: "" });
    // And it can switch again, like any new session.
    expect((await s.select("GROUP misc.test")).mode).toBe(STATEFUL);
    expect(Object.values(await pinned(c, "p2")).reduce((a, b) => a + b, 0)).toBe(1);
  });

  it("P3 the NNTP default command table, one fresh session per command", async () => {
    const c = await start();
    await c.registry.register({ service: "p3", backends: backends(2) });
    const stateful = [
      "GROUP misc.test",
      "group misc.test",
      "LISTGROUP",
      "LISTGROUP misc.test 1-10",
      "NEXT",
      "LAST",
      "OVER",
      "OVER 3000-3010",
      "XOVER 3000-3010",
      "HDR Subject 3000-3010",
      "XHDR subject 3000-",
      "ARTICLE 3000",
      "article 3000",
      "ARTICLE 3000-3010",
      "ARTICLE",
      "BODY 3000",
      "HEAD",
      "STAT 3000",
      "MODE STREAM",
      "XPAT Subject 1-10 *fulcrum*",
      "GRUOP misc.test",
    ];
    const perCommand = [
      "",
      "CAPABILITIES",
      "DATE",
      "HELP",
      "QUIT",
      "LIST",
      "LIST ACTIVE",
      "list newsgroups comp.*",
      "LIST OVERVIEW.FMT",
      "NEWGROUPS 20240101 000000",
      "NEWNEWS * 20240101 000000",
      "ARTICLE <a@b>",
      "article <a@b>",
      "BODY <a@b>",
      "HEAD <a@b>",
      "STAT <a@b>",
      "POST",
      "IHAVE <a@b>",
      "AUTHINFO USER joe",
      "STARTTLS",
      "MODE READER",
      "mode reader",
    ];
    const modes: Record<string, string> = {};
    let n = 0;
    for (const command of [...stateful, ...perCommand]) {
      const { mode } = await session(c, "p3", `p3-${n++}`).select(command);
      modes[command] = SessionMode[mode];
    }
    expect(modes).toEqual({
      ...Object.fromEntries(stateful.map((command) => [command, "STATEFUL"])),
      ...Object.fromEntries(perCommand.map((command) => [command, "PER_COMMAND"])),
    });
    const counts = await pinned(c, "p3");
    expect((counts.b0 ?? 0) + (counts.b1 ?? 0)).toBe(stateful.length);
  });

  it("P3 MODE READER is placed either way by mode_reader_stateful; the rest of the table stays", async () => {
    const c = await start();
    await c.registry.register({ service: "p3-mr-off", backends: backends(2) });
    await c.registry.register({
      service: "p3-mr-on",
      config: { session: { modeReaderStateful: true } },
      backends: backends(2),
    });
    const mode = async (service: string, sessionId: string, command: string) =>
      (await session(c, service, sessionId).select(command)).mode;
    expect(await mode("p3-mr-off", "1", "MODE READER")).toBe(PER_COMMAND);
    expect(await mode("p3-mr-on", "1", "MODE READER")).toBe(STATEFUL);
    expect(await mode("p3-mr-on", "2", "mode reader")).toBe(STATEFUL);
    expect(await mode("p3-mr-on", "3", "GROUP misc.test")).toBe(STATEFUL);
    expect(await mode("p3-mr-on", "4", "LIST")).toBe(PER_COMMAND);
    expect(await mode("p3-mr-on", "5", "MODE STREAM")).toBe(STATEFUL);
    // On a PER_COMMAND service the same setting decides whether MODE READER is refused.
    await c.registry.register({
      service: "p3-mr-pc",
      config: { session: { routingMode: RoutingMode.PER_COMMAND, modeReaderStateful: true } },
      backends: backends(2),
    });
    await expectPrecondition(session(c, "p3-mr-pc", "1").selectRaw("MODE READER"), "STATEFUL_NOT_ALLOWED");
  });

  it("P3 a custom stateful_commands list replaces the whole table", async () => {
    const c = await start();
    await c.registry.register({
      service: "p3-custom",
      config: { session: { statefulCommands: ["SELECT", "MODE READER", "ARTICLE #"] } },
      backends: backends(2),
    });
    const table: [string, SessionMode][] = [
      ["SELECT INBOX", STATEFUL],
      ["select inbox", STATEFUL],
      ["MODE READER", STATEFUL],
      ["ARTICLE 12", STATEFUL],
      ["ARTICLE 12-20", STATEFUL],
      ["ARTICLE", STATEFUL],
      ["ARTICLE <a@b>", PER_COMMAND],
      ["MODE STREAM", PER_COMMAND],
      ["GROUP misc.test", PER_COMMAND],
      ["NEXT", PER_COMMAND],
      ["XOVER 1-10", PER_COMMAND],
      ["BODY 12", PER_COMMAND],
      ["XPAT Subject 1-10 *x*", PER_COMMAND],
      ["", PER_COMMAND],
    ];
    const got: [string, SessionMode][] = [];
    let n = 0;
    for (const [command] of table)
      got.push([command, (await session(c, "p3-custom", `s-${n++}`).select(command)).mode]);
    expect(got).toEqual(table);
  });

  it("P5 a pinned backend marked unhealthy by SetHealth: SESSION_BACKEND_LOST until the session ends; a new session starts elsewhere", async () => {
    // Virtual time, so no H2 probe selection of the unhealthy backend can come due mid-test.
    const c = await start(new ManualClock(Date.now()));
    await c.registry.register({ service: "p5u", backends: backends(2) });
    const s = session(c, "p5u", "c-1");
    const pin = await s.select("GROUP misc.test");
    expect(pin.mode).toBe(STATEFUL);
    await c.registry.setHealth({ service: "p5u", backendId: pin.id, health: HealthState.UNHEALTHY });

    const lost = await expectPrecondition(s.selectRaw("ARTICLE 3000"), "SESSION_BACKEND_LOST");
    expect(lost.rawMessage).toContain(pin.id);
    expect(lost.rawMessage).toContain("unhealthy");
    // Per-command commands of the session fail the same way: the session's state is gone.
    await expectPrecondition(s.selectRaw("LIST"), "SESSION_BACKEND_LOST");
    const status = (await c.registry.getService({ service: "p5u" })).service;
    expect(status?.backends.map((b) => b.inFlight)).toEqual([0, 0]);
    // Other traffic avoids the unhealthy backend.
    for (let i = 0; i < 3; i++) expect(await pick(c, "p5u")).toBe(other(pin.id));

    expect(await s.end()).toMatchObject({ released: true, backendId: pin.id });
    expect(await s.select("LIST")).toEqual({ id: other(pin.id), mode: PER_COMMAND });
    expect(await s.select("GROUP misc.test")).toEqual({ id: other(pin.id), mode: STATEFUL });
  });

  it("P5 allow_repin: a session whose backend went unhealthy or was removed moves to another backend", async () => {
    const c = await start(new ManualClock(Date.now()));
    await c.registry.register({
      service: "p5r",
      config: { session: { allowRepin: true } },
      backends: backends(3),
    });
    const s = session(c, "p5r", "c-1");
    const first = await s.select("GROUP misc.test");
    expect(first.mode).toBe(STATEFUL);
    await c.registry.setHealth({ service: "p5r", backendId: first.id, health: HealthState.UNHEALTHY });

    const second = await s.select("ARTICLE 3000");
    expect(second.mode).toBe(STATEFUL);
    expect(second.id).not.toBe(first.id);
    for (let i = 0; i < 3; i++) expect(await s.select("LIST")).toEqual({ id: second.id, mode: STATEFUL });
    const counts = await pinned(c, "p5r");
    expect(counts[first.id]).toBe(0);
    expect(counts[second.id]).toBe(1);
    // The old backend recovering does not pull the session back.
    await c.registry.setHealth({ service: "p5r", backendId: first.id, health: HealthState.HEALTHY });
    expect(await s.select("NEXT")).toEqual({ id: second.id, mode: STATEFUL });

    // Removed (Deregister without drain): re-pinned again, onto a backend still registered.
    await c.registry.deregister({ service: "p5r", backendIds: [second.id] });
    const third = await s.select("NEXT");
    expect(third.mode).toBe(STATEFUL);
    expect(third.id).not.toBe(second.id);
    expect(await s.select("LIST")).toEqual({ id: third.id, mode: STATEFUL });
    const after = await eventually(async () => {
      const now = await pinned(c, "p5r");
      return second.id in now ? undefined : now;
    });
    expect(after[third.id]).toBe(1);
    expect(await s.end()).toMatchObject({ released: true, backendId: third.id });
  });

  it("P5 a removed backend (Deregister without drain) gives SESSION_BACKEND_LOST", async () => {
    const c = await start();
    await c.registry.register({ service: "p5x", backends: backends(2) });
    const s = session(c, "p5x", "c-1");
    const pin = await s.select("GROUP misc.test");
    const bystander = session(c, "p5x", "c-2");
    expect((await bystander.select("LIST")).mode).toBe(PER_COMMAND);

    expect(await c.registry.deregister({ service: "p5x", backendIds: [pin.id] })).toMatchObject({
      removed: 1,
    });
    const lost = await expectPrecondition(s.selectRaw("NEXT"), "SESSION_BACKEND_LOST");
    expect(lost.rawMessage).toContain(pin.id);
    expect(lost.rawMessage).toContain("no longer registered");
    // Sessions that were not pinned there go on.
    expect(await bystander.select("LIST")).toEqual({ id: other(pin.id), mode: PER_COMMAND });
    expect(await s.end()).toMatchObject({ released: true, backendId: pin.id });
    expect(await s.select("GROUP misc.test")).toEqual({ id: other(pin.id), mode: STATEFUL });
  });

  it("P5 a drained pinned backend keeps its session until drain_timeout, then SESSION_BACKEND_LOST (virtual time)", async () => {
    const clock = new ManualClock(Date.now());
    const c = await start(clock);
    await c.registry.register({ service: "p5d", backends: backends(2) });
    const s = session(c, "p5d", "c-1");
    // The session's GROUP is still in flight on its backend, so the drain waits for its deadline.
    const group = await s.selectRaw("GROUP misc.test");
    expect(group.sessionMode).toBe(STATEFUL);
    const pinId = group.backends[0]?.id ?? "";
    expect(
      await c.registry.deregister({
        service: "p5d",
        backendIds: [pinId],
        drain: true,
        drainTimeout: { seconds: 30n },
      }),
    ).toMatchObject({ draining: 1, removed: 0 });

    expect(await s.select("ARTICLE 3000")).toEqual({ id: pinId, mode: STATEFUL });
    // A draining backend gets no new sessions and no per-command traffic.
    const newcomer = session(c, "p5d", "c-2");
    expect(await newcomer.select("LIST")).toEqual({ id: other(pinId), mode: PER_COMMAND });
    expect(await newcomer.select("GROUP misc.test")).toEqual({ id: other(pinId), mode: STATEFUL });
    clock.advance(29_000);
    expect(await s.select("NEXT")).toEqual({ id: pinId, mode: STATEFUL });

    clock.advance(1_500);
    const lost = await expectPrecondition(s.selectRaw("NEXT"), "SESSION_BACKEND_LOST");
    expect(lost.rawMessage).toContain(pinId);
    await eventually(async () => {
      const ids = (await c.registry.getService({ service: "p5d" })).service?.backends.map(
        (b) => b.backend?.id,
      );
      return ids?.length === 1 ? ids : undefined;
    });
    await expectPrecondition(s.selectRaw("LIST"), "SESSION_BACKEND_LOST");
    expect(await newcomer.select("NEXT")).toEqual({ id: other(pinId), mode: STATEFUL });
  });

  it("P5/R6 a drained pinned backend keeps its session while nothing is in flight (until drain_timeout)", async () => {
    const clock = new ManualClock(Date.now());
    const c = await start(clock);
    await c.registry.register({ service: "p5d0", backends: backends(2) });
    const s = session(c, "p5d0", "c-1");
    const pin = await s.select("GROUP misc.test");
    expect(pin.mode).toBe(STATEFUL);
    await c.registry.deregister({
      service: "p5d0",
      backendIds: [pin.id],
      drain: true,
      drainTimeout: { seconds: 30n },
    });
    // The single failing assertion (see the comment above the test).
    expect(await s.select("ARTICLE 3000")).toEqual({ id: pin.id, mode: STATEFUL });
  });

  it("P6 at most max_connections - 1 pins per backend: the 5th switch fails with PIN_CAPACITY, per-command traffic flows", async () => {
    const c = await start();
    await c.registry.register({ service: "p6", backends: backends(2, 3) });
    const sessions = Array.from({ length: 6 }, (_, i) => session(c, "p6", `s-${i}`));
    const pins: string[] = [];
    for (const s of sessions.slice(0, 3)) {
      const pin = await s.select("GROUP misc.test");
      expect(pin.mode).toBe(STATEFUL);
      pins.push(pin.id);
    }
    const full = pins.filter((id) => id === "b0").length === 2 ? "b0" : "b1";
    expect(pins.filter((id) => id === full)).toHaveLength(2);
    // Steer round robin onto the full backend: the switch must take the other one.
    for (let i = 0; i < 4; i++) {
      const id = await pick(c, "p6");
      if (id !== full) break;
    }
    const fourth = await sessions[3]!.select("GROUP misc.test");
    expect(fourth).toEqual({ id: other(full), mode: STATEFUL });
    expect(await pinned(c, "p6")).toEqual({ b0: 2, b1: 2 });

    const refused = await expectPrecondition(sessions[4]!.selectRaw("GROUP misc.test"), "PIN_CAPACITY");
    expect(refused.rawMessage).toContain("max_connections - 1");
    // A failed call changes no state: no in-flight slot left behind.
    const status = (await c.registry.getService({ service: "p6" })).service;
    expect(status?.backends.map((b) => b.inFlight)).toEqual([0, 0]);
    // The refused session is not pinned; its per-command commands, and session-less Selects, still flow.
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) {
      const next = await sessions[4]!.select("LIST");
      expect(next.mode).toBe(PER_COMMAND);
      seen.add(next.id);
      seen.add(await pick(c, "p6"));
    }
    expect([...seen].sort()).toEqual(["b0", "b1"]);
    // Pinned sessions keep their backends.
    for (const [i, s] of sessions.slice(0, 3).entries())
      expect(await s.select("NEXT")).toEqual({ id: pins[i], mode: STATEFUL });
    expect(await pinned(c, "p6")).toEqual({ b0: 2, b1: 2 });

    // Ending one session frees its slot for the next switch.
    expect(await sessions[0]!.end()).toMatchObject({ released: true, backendId: pins[0] });
    expect((await pinned(c, "p6"))[pins[0]!]).toBe(1);
    expect(await sessions[5]!.select("GROUP misc.test")).toEqual({ id: pins[0], mode: STATEFUL });
    expect(await pinned(c, "p6")).toEqual({ b0: 2, b1: 2 });
    await expectPrecondition(sessions[4]!.selectRaw("GROUP misc.test"), "PIN_CAPACITY");
  });

  it("P7 EndSession releases the pin and its slot", async () => {
    const c = await start();
    await c.registry.register({ service: "p7e", backends: backends(2) });
    const a = session(c, "p7e", "a");
    const b = session(c, "p7e", "b");
    const pinA = await a.select("GROUP misc.test");
    const pinB = await b.select("GROUP misc.test");
    expect(await pinned(c, "p7e")).toEqual({ [pinA.id]: 1, [pinB.id]: 1 });
    expect(await a.end()).toMatchObject({ released: true, backendId: pinA.id });
    expect(await pinned(c, "p7e")).toEqual({ [pinA.id]: 0, [pinB.id]: 1 });
    expect(await a.end()).toMatchObject({ released: false, backendId: "" });
    expect(await b.select("LIST")).toEqual({ id: pinB.id, mode: STATEFUL });
    expect(await b.end()).toMatchObject({ released: true, backendId: pinB.id });
    expect(await pinned(c, "p7e")).toEqual({ b0: 0, b1: 0 });
    // Ending a session that never existed (or in an unknown service) is a no-op, not an error.
    expect(await c.balancer.endSession({ service: "p7e", sessionId: "never" })).toMatchObject({
      released: false,
    });
  });

  it("P7 a pin idle for idle_ttl is released and the session starts fresh; each Select renews it (virtual time)", async () => {
    const clock = new ManualClock(Date.now());
    const c = await start(clock);
    await c.registry.register({
      service: "p7t",
      config: { session: { idleTtl: { seconds: 30n } } },
      backends: backends(2),
    });
    const s = session(c, "p7t", "c-1");
    const pin = await s.select("GROUP misc.test");
    clock.advance(20_000);
    expect(await s.select("ARTICLE 3000")).toEqual({ id: pin.id, mode: STATEFUL });
    clock.advance(20_000);
    // 40 s after the pin, 20 s after the last Select: still pinned.
    expect(await s.select("NEXT")).toEqual({ id: pin.id, mode: STATEFUL });
    expect((await pinned(c, "p7t"))[pin.id]).toBe(1);

    clock.advance(31_000);
    expect(await pinned(c, "p7t")).toEqual({ b0: 0, b1: 0 });
    const fresh = [await s.select("LIST"), await s.select("LIST")];
    expect(fresh.map((x) => x.mode)).toEqual([PER_COMMAND, PER_COMMAND]);
    expect(fresh.map((x) => x.id).sort()).toEqual(["b0", "b1"]);
    expect(await s.end()).toMatchObject({ released: false });
    expect((await s.select("GROUP misc.test")).mode).toBe(STATEFUL);
  });

  it("P8 a NOT_FOUND report for a resource_key makes Selects with that key skip the backend until negative_ttl passes (virtual time)", async () => {
    const clock = new ManualClock(Date.now());
    const c = await start(clock);
    await c.registry.register({
      service: "p8",
      config: { session: { negativeTtl: { seconds: 10n } } },
      backends: backends(2),
    });
    // The service + backend_id form.
    expect(
      await c.balancer.report({
        outcomes: [{ service: "p8", backendId: "b0", result: CallResult.NOT_FOUND, resourceKey: "<m1@x>" }],
      }),
    ).toMatchObject({ applied: 1 });
    const picks = async (key: string, n = 4) => {
      const ids = [];
      for (let i = 0; i < n; i++) ids.push(await pick(c, "p8", key));
      return ids;
    };
    expect(await picks("<m1@x>")).toEqual(["b1", "b1", "b1", "b1"]);
    expect(new Set(await picks("<m2@x>"))).toEqual(new Set(["b0", "b1"]));
    expect(new Set(await picks(""))).toEqual(new Set(["b0", "b1"]));
    // Separate from exclude: excluding the other backend leaves nothing for this key...
    const none = await failure(c.balancer.select({ service: "p8", resourceKey: "<m1@x>", exclude: ["b1"] }));
    expect(none.code).toBe(Code.Unavailable);
    // ...while the same exclude without the key still gets b0, and NOT_FOUND never touched its health.
    expect(await pick(c, "p8", "", ["b1"])).toBe("b0");
    const b0 = (await c.registry.getService({ service: "p8" })).service?.backends[0];
    expect(b0).toMatchObject({ health: HealthState.HEALTHY, consecutiveFailures: 0 });
    // Session Selects balanced per command honour it too.
    const s = session(c, "p8", "c-1");
    for (let i = 0; i < 3; i++)
      expect(await s.select("ARTICLE <m1@x>", "<m1@x>")).toEqual({ id: "b1", mode: PER_COMMAND });

    // The ticket form: the backend a Select returned lacks <m3@x>.
    const chosen = await c.balancer.select({ service: "p8", resourceKey: "<m3@x>" });
    const lacking = chosen.backends[0]?.id ?? "";
    await c.balancer.report({
      outcomes: [{ ticket: chosen.ticket, result: CallResult.NOT_FOUND, resourceKey: "<m3@x>" }],
    });
    expect(await picks("<m3@x>")).toEqual(Array(4).fill(other(lacking)));

    clock.advance(9_000);
    expect(await picks("<m1@x>")).toEqual(["b1", "b1", "b1", "b1"]);
    clock.advance(1_500);
    expect(new Set(await picks("<m1@x>"))).toEqual(new Set(["b0", "b1"]));
    expect(new Set(await picks("<m3@x>"))).toEqual(new Set(["b0", "b1"]));
  });

  it("a Select with a session_id on an unregistered service is NOT_FOUND; EndSession without a session_id is INVALID_ARGUMENT", async () => {
    const c = await start();
    const missing = await failure(
      c.balancer.select({ service: "ghost", sessionId: "c-1", command: "GROUP misc.test" }),
    );
    expect(missing.code).toBe(Code.NotFound);
    expect(missing.rawMessage).toContain("ghost");

    await c.registry.register({ service: "p-err", backends: backends(1) });
    const bad = await failure(c.balancer.endSession({ service: "p-err", sessionId: "" }));
    expect(bad.code).toBe(Code.InvalidArgument);
    expect(bad.findDetails(BadRequestSchema)[0]?.fieldViolations.map((v) => v.field)).toEqual(["session_id"]);
  });

  it("P5 H2 a new pin never lands on an Unhealthy backend's probe selection; the probe goes to the next plain Select", async () => {
    const clock = new ManualClock(Date.now());
    const c = await start(clock);
    await c.registry.register({
      service: "p5probe",
      config: { health: { probeInterval: { seconds: 5n }, failureThreshold: 1 } },
      backends: backends(2),
    });
    // Unhealthy by a failure: an operator's UNHEALTHY would get no probe at all (O10).
    await c.balancer.report({ outcomes: [{ service: "p5probe", backendId: "b0", result: 2 }] });
    await eventually(async () => {
      const status = await c.registry.getService({ service: "p5probe" });
      return status.service?.backends[0]?.health === 3 ? true : undefined;
    });
    clock.advance(5_000);
    const pinned = await c.balancer.select({ service: "p5probe", sessionId: "c-1", command: "GROUP misc" });
    expect(pinned.backends[0]?.id).toBe("b1");
    const probe = await c.balancer.select({ service: "p5probe" });
    expect(probe.backends[0]?.id).toBe("b0");
  });

  it("S16 P4 explain on a pinned session says the pin decided and names the other backends it set aside", async () => {
    const c = await start();
    await c.registry.register({ service: "s16pin", backends: backends(3) });
    const pinned = await session(c, "s16pin", "c-1").select("GROUP misc");
    const explained = await c.balancer.select({
      service: "s16pin",
      sessionId: "c-1",
      command: "NEXT",
      explain: true,
    });
    expect(explained.backends[0]?.id).toBe(pinned.id);
    expect(explained.explanation?.filters).toEqual([
      expect.objectContaining({ filter: "pinned", removed: 2 }),
    ]);
    expect(explained.explanation?.reason).toContain('"c-1"');
    expect(
      explained.explanation?.candidates.filter((cand) => cand.picked).map((cand) => cand.backendId),
    ).toEqual([pinned.id]);
  });
});

describe("sessions across replicas on one Redis (P4)", () => {
  let redis: RedisProcess;
  let a: App;
  let b: App;
  beforeAll(async () => {
    redis = await startRedis();
    a = await startFulcrum({ redis: { url: redis.url } });
    b = await startFulcrum({ redis: { url: redis.url } });
  });
  afterAll(async () => {
    await Promise.all([a?.close(), b?.close()]);
    await redis?.stop();
  });

  it("P4 a session switched on replica A is pinned to the same backend on replica B; EndSession on B releases it for A", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    await onA.registry.register({ service: "p4", backends: backends(3) });
    await eventually(() => onB.registry.getService({ service: "p4" }));

    const sA = session(onA, "p4", "c-42");
    const sB = session(onB, "p4", "c-42");
    expect((await sA.select("LIST")).mode).toBe(PER_COMMAND);
    const pin = await sA.select("GROUP misc.test");
    expect(pin.mode).toBe(STATEFUL);
    for (const command of ["ARTICLE 3000", "LIST", "DATE", "NEXT", "GROUP other.group"])
      expect(await sB.select(command)).toEqual({ id: pin.id, mode: STATEFUL });
    for (const client of [onA, onB]) expect((await pinned(client, "p4"))[pin.id]).toBe(1);

    // And the other way: pinned on B, seen on A.
    const tB = session(onB, "p4", "c-43");
    const pin2 = await tB.select("LISTGROUP misc.test");
    expect(pin2.mode).toBe(STATEFUL);
    for (let i = 0; i < 3; i++)
      expect(await session(onA, "p4", "c-43").select("LIST")).toEqual({ id: pin2.id, mode: STATEFUL });

    expect(await sB.end()).toMatchObject({ released: true, backendId: pin.id });
    const fresh = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const next = await sA.select("LIST");
      expect(next.mode).toBe(PER_COMMAND);
      fresh.add(next.id);
    }
    expect(fresh.size).toBeGreaterThan(1);
    expect(await sA.end()).toMatchObject({ released: false });
    expect((await pinned(onA, "p4"))[pin.id]).toBe(pin.id === pin2.id ? 1 : 0);
    expect(await session(onA, "p4", "c-43").end()).toMatchObject({ released: true, backendId: pin2.id });
  });

  it("P4/P5 a pinned backend lost on one replica is lost on the other; with allow_repin the new pin is seen by both", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    await onA.registry.register({ service: "p4lost", backends: backends(2) });
    await onA.registry.register({
      service: "p4repin",
      config: { session: { allowRepin: true } },
      backends: backends(2),
    });
    await eventually(() => onB.registry.getService({ service: "p4repin" }));

    const lost = await session(onA, "p4lost", "c-1").select("GROUP misc.test");
    await onA.registry.setHealth({ service: "p4lost", backendId: lost.id, health: HealthState.UNHEALTHY });
    await eventually(async () => {
      const error = await failure(session(onB, "p4lost", "c-1").selectRaw("LIST"));
      return error.findDetails(ErrorInfoSchema)[0]?.reason === "SESSION_BACKEND_LOST" ? error : undefined;
    });
    await expectPrecondition(session(onA, "p4lost", "c-1").selectRaw("LIST"), "SESSION_BACKEND_LOST");

    const first = await session(onA, "p4repin", "c-1").select("GROUP misc.test");
    await onA.registry.setHealth({ service: "p4repin", backendId: first.id, health: HealthState.UNHEALTHY });
    await eventually(async () =>
      (await onB.registry.getService({ service: "p4repin" })).service?.backends.find(
        (x) => x.backend?.id === first.id,
      )?.health === HealthState.UNHEALTHY
        ? true
        : undefined,
    );
    const moved = await session(onB, "p4repin", "c-1").select("NEXT");
    expect(moved).toEqual({ id: other(first.id), mode: STATEFUL });
    expect(await session(onA, "p4repin", "c-1").select("LIST")).toEqual({ id: moved.id, mode: STATEFUL });
    expect(await pinned(onA, "p4repin")).toEqual({ [first.id]: 0, [moved.id]: 1 });
  });

  it("P4/P6 pin capacity is shared: slots taken on one replica are full on the other", async () => {
    const onA = grpcTransportClients(a.grpcPort);
    const onB = grpcTransportClients(b.grpcPort);
    await onA.registry.register({ service: "p4cap", backends: backends(2, 2) });
    await eventually(() => onB.registry.getService({ service: "p4cap" }));
    const first = await session(onA, "p4cap", "s-1").select("GROUP misc.test");
    const second = await session(onB, "p4cap", "s-2").select("GROUP misc.test");
    expect([first.id, second.id].sort()).toEqual(["b0", "b1"]);
    await expectPrecondition(session(onA, "p4cap", "s-3").selectRaw("GROUP misc.test"), "PIN_CAPACITY");
    await expectPrecondition(session(onB, "p4cap", "s-3").selectRaw("GROUP misc.test"), "PIN_CAPACITY");
    expect(await pinned(onB, "p4cap")).toEqual({ b0: 1, b1: 1 });
    expect(await session(onB, "p4cap", "s-1").end()).toMatchObject({ released: true, backendId: first.id });
    expect(await session(onA, "p4cap", "s-3").select("GROUP misc.test")).toEqual({
      id: first.id,
      mode: STATEFUL,
    });
  });
});
