import { describe, expect, it } from "vitest";
import type { RoutingMode, SessionPolicy } from "../../../src/model/specs.js";
import {
  DEFAULT_NEGATIVE_TTL_MS,
  DEFAULT_SESSION_IDLE_TTL_MS,
} from "../../../src/sessions/parse-session-policy.js";
import {
  decideSessionRoute,
  type PinnedBackendView,
  pinnedBackendLoss,
  type SessionDecision,
  type SessionRouteInput,
} from "../../../src/sessions/routing-decision.js";
import { SESSION_REASONS } from "../../../src/sessions/session-refusals.js";

const NOW = 1_700_000_000_000;

function policy(routingMode: RoutingMode, extra: Partial<SessionPolicy> = {}): SessionPolicy {
  return {
    routingMode,
    statefulCommands: [],
    modeReaderStateful: false,
    idleTtlMs: DEFAULT_SESSION_IDLE_TTL_MS,
    allowRepin: false,
    negativeTtlMs: DEFAULT_NEGATIVE_TTL_MS,
    ...extra,
  };
}

const healthy: PinnedBackendView = { health: "healthy", draining: false, drainDeadline: 0 };

function decide(p: SessionPolicy, command: string, more: Partial<SessionRouteInput> = {}): SessionDecision {
  return decideSessionRoute({
    service: "news",
    sessionId: "s1",
    policy: p,
    command,
    pin: undefined,
    pinnedBackend: undefined,
    now: NOW,
    ...more,
  });
}

/** A pin on `backendId`, which the snapshot shows as `views[0]` (healthy when not given; undefined: removed). */
const pinnedTo = (backendId: string, ...views: [PinnedBackendView | undefined] | []) => ({
  pin: { backendId },
  pinnedBackend: views.length === 0 ? healthy : views[0],
});

describe("P1 routing modes", () => {
  it("P1 HYBRID (the resolved default) balances per command until a stateful command, which pins", () => {
    const hybrid = policy("hybrid");
    expect(decide(hybrid, "LIST")).toEqual({ kind: "per_command", sessionMode: "per_command" });
    expect(decide(hybrid, "DATE")).toEqual({ kind: "per_command", sessionMode: "per_command" });
    expect(decide(hybrid, "")).toEqual({ kind: "per_command", sessionMode: "per_command" });
    expect(decide(hybrid, "GROUP misc.test")).toEqual({
      kind: "pin_new",
      sessionMode: "stateful",
      trigger: "stateful_command",
    });
  });

  it("P1 STATEFUL pins on the first Select, whatever the command", () => {
    for (const command of ["", "LIST", "DATE", "GROUP x", "ARTICLE <a@b>"]) {
      expect(decide(policy("stateful"), command)).toEqual({
        kind: "pin_new",
        sessionMode: "stateful",
        trigger: "stateful_service",
      });
    }
  });

  it("P1 PER_COMMAND never pins and rejects stateful commands with STATEFUL_NOT_ALLOWED", () => {
    const perCommand = policy("per_command");
    expect(decide(perCommand, "LIST").kind).toBe("per_command");
    expect(decide(perCommand, "ARTICLE <a@b>").kind).toBe("per_command");
    const rejected = decide(perCommand, "GROUP misc.test");
    expect(rejected.kind).toBe("reject");
    if (rejected.kind !== "reject") return;
    expect(rejected.reason).toBe(SESSION_REASONS.statefulNotAllowed);
    expect(rejected.refusal.kind).toBe("session_refused");
    expect(rejected.refusal.reason).toBe("STATEFUL_NOT_ALLOWED");
    expect(rejected.refusal.message).toContain("GROUP misc.test");
    expect(rejected.refusal.message).toContain("news");
  });

  it("P1 a Select without a session id never pins; PER_COMMAND still rejects a stateful command", () => {
    expect(decide(policy("stateful"), "GROUP x", { sessionId: "" }).kind).toBe("per_command");
    expect(decide(policy("hybrid"), "GROUP x", { sessionId: "" }).kind).toBe("per_command");
    expect(decide(policy("per_command"), "GROUP x", { sessionId: "" }).kind).toBe("reject");
    // A stale pin is ignored without a session id.
    expect(decide(policy("hybrid"), "LIST", { sessionId: "", ...pinnedTo("b1") }).kind).toBe("per_command");
  });

  it("P1 P3 the service's own list drives the switch", () => {
    const own = policy("hybrid", { statefulCommands: ["SELECT"] });
    expect(decide(own, "GROUP x").kind).toBe("per_command");
    expect(decide(own, "select 2").kind).toBe("pin_new");
    const modeReader = policy("hybrid", { modeReaderStateful: true });
    expect(decide(modeReader, "MODE READER").kind).toBe("pin_new");
    expect(decide(policy("hybrid"), "MODE READER").kind).toBe("per_command");
  });
});

describe("P2 the switch is one-way", () => {
  it("P2 once pinned, every command uses the pin: per-command ones too, and a second switch is a no-op", () => {
    for (const mode of ["hybrid", "stateful"] as const) {
      for (const command of ["LIST", "DATE", "GROUP other", "LISTGROUP", "", "ARTICLE 5"]) {
        expect(decide(policy(mode), command, pinnedTo("b2"))).toEqual({
          kind: "use_pin",
          sessionMode: "stateful",
          backendId: "b2",
        });
      }
    }
  });

  it("P2 a new session (no pin: new id, or ended) starts fresh, per command", () => {
    const hybrid = policy("hybrid");
    expect(decide(hybrid, "GROUP x", pinnedTo("b1")).kind).toBe("use_pin");
    expect(decide(hybrid, "LIST", { sessionId: "s2" }).kind).toBe("per_command");
    expect(decide(hybrid, "LIST", { pin: undefined }).kind).toBe("per_command");
  });

  it("P2 a pin outlives a change of the service's mode to PER_COMMAND", () => {
    expect(decide(policy("per_command"), "GROUP x", pinnedTo("b1")).kind).toBe("use_pin");
  });
});

describe("P5 pinned backend lost", () => {
  const cases: [string, PinnedBackendView | undefined, "unhealthy" | "drained" | "removed"][] = [
    ["unhealthy", { health: "unhealthy", draining: false, drainDeadline: 0 }, "unhealthy"],
    ["drained past its deadline", { health: "healthy", draining: true, drainDeadline: NOW }, "drained"],
    ["removed", undefined, "removed"],
  ];

  it.each(cases)("P5 %s: SESSION_BACKEND_LOST without allow_repin", (_name, view, cause) => {
    const decision = decide(policy("hybrid"), "ARTICLE 5", pinnedTo("b1", view));
    expect(decision.kind).toBe("lost");
    if (decision.kind !== "lost") return;
    expect(decision).toMatchObject({ reason: "SESSION_BACKEND_LOST", backendId: "b1", cause });
    expect(decision.refusal.kind).toBe("session_refused");
    expect(decision.refusal.reason).toBe(SESSION_REASONS.backendLost);
    expect(decision.refusal.message).toContain("b1");
    expect(decision.refusal.message).toContain("s1");
  });

  it.each(cases)("P5 %s: a re-pin with allow_repin", (_name, view, cause) => {
    expect(decide(policy("stateful", { allowRepin: true }), "", pinnedTo("b1", view))).toEqual({
      kind: "repin",
      sessionMode: "stateful",
      fromBackendId: "b1",
      cause,
    });
  });

  it("P5 draining respects pins until the drain deadline", () => {
    const draining: PinnedBackendView = { health: "healthy", draining: true, drainDeadline: NOW + 1 };
    expect(decide(policy("hybrid"), "NEXT", pinnedTo("b1", draining)).kind).toBe("use_pin");
    expect(decide(policy("hybrid"), "NEXT", { ...pinnedTo("b1", draining), now: NOW + 1 }).kind).toBe("lost");
    expect(pinnedBackendLoss({ health: "healthy", draining: true, drainDeadline: 0 }, NOW)).toBeUndefined();
  });

  it("P5 degraded and recovering backends keep their pins; the allowed states are the service's", () => {
    for (const health of ["healthy", "degraded", "recovering"] as const) {
      expect(pinnedBackendLoss({ health, draining: false, drainDeadline: 0 }, NOW)).toBeUndefined();
    }
    const recovering: PinnedBackendView = { health: "recovering", draining: false, drainDeadline: 0 };
    expect(pinnedBackendLoss(recovering, NOW, ["healthy", "degraded"])).toBe("unhealthy");
    const decision = decide(policy("hybrid"), "NEXT", {
      ...pinnedTo("b1", recovering),
      allowedStates: ["healthy"],
    });
    expect(decision.kind).toBe("lost");
  });
});
