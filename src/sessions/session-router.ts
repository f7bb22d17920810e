/**
 * The Select path for requests that need more than the snapshot (behaviour.md P1-P8, Q3):
 * session routing reads the session's pin (one PinStore round trip, which also refreshes its
 * idle TTL), decides with routing-decision.ts, and then balances per command, returns the
 * pinned backend, or picks and pins a new one with a free pin slot (establishPin); negative
 * availability skips backends known to lack the resource; and the quota gate reserves the
 * cost on whatever is chosen before the ticket is issued. Pins and quota live in shared
 * stores, so they hold from any replica.
 */
import type { BackendState } from "../balancer/backend-state.js";
import type { Balancer, Choice, SelectionDecision } from "../balancer/balancer.js";
import type { Refusal } from "../balancer/decision.js";
import type { Explanation } from "../balancer/explanation.js";
import { withFilter } from "../balancer/filters/filter-table.js";
import type { LiveService } from "../balancer/live-service.js";
import type { SelectQuery } from "../balancer/select-query.js";
import type { QuotaGate } from "../quota/quota-gate.js";
import type { Clock } from "../shared/clock.js";
import { FulcrumError } from "../shared/errors.js";
import { establishPin } from "./establish-pin.js";
import type { NegativeAvailability } from "./negative-availability.js";
import type { PinCandidate } from "./pin-capacity.js";
import type { PinStore } from "./pin-store.js";
import { decideSessionRoute, type SessionMode } from "./routing-decision.js";
import type { SessionRefusal } from "./session-refusals.js";

/** What the router needs of the balancer: a side-effect-free choice, then a ticket for it. */
export type SessionBalancer = Pick<Balancer, "choose" | "commit" | "selectIn">;

/** The extras of a Select beyond the balancer's query. */
export interface SelectExtras {
  readonly sessionId: string;
  readonly command: string;
  readonly resourceKey: string;
  readonly cost: Readonly<Record<string, number>>;
}

/** Options of a SessionRouter. */
export interface SessionRouterOptions {
  readonly store: PinStore;
  readonly negative: NegativeAvailability;
  readonly clock: Clock;
  readonly balancer: SessionBalancer;
  readonly quota: QuotaGate;
  readonly find: (service: string) => LiveService | undefined;
  /** Told when EndSession frees a pin on a draining backend, so the drain can complete. */
  readonly onPinReleased?: (service: string, backend: BackendState) => void;
}

/**
 * A Select's answer with the session's mode (`undefined` when the Select had no session), or
 * why there is none: the balancer's or the quota gate's refusal, or the session protocol's.
 */
export type RoutedDecision =
  | (SelectionDecision & { readonly kind: "picked"; readonly sessionMode: SessionMode | undefined })
  | Refusal
  | SessionRefusal;

/** A decision of the session-less paths, tagged with a session mode when picked. */
function routed(decision: SelectionDecision, sessionMode: SessionMode | undefined): RoutedDecision {
  return decision.kind === "picked" ? { ...decision, sessionMode } : decision;
}

/** Routes Selects that carry a session_id or a resource_key; others go straight to the balancer. */
export class SessionRouter {
  constructor(private readonly options: SessionRouterOptions) {}

  /** True when a Select needs this path: a session, a command, a resource key, or quota on the service. */
  needed(live: LiveService, extras: SelectExtras): boolean {
    if (extras.sessionId || extras.command || extras.resourceKey) return true;
    return live.snapshot.quotaLimited;
  }

  /**
   * Select with session routing (P1-P7), negative availability (P8) and quota reservation
   * (Q3) in the service `live` (looked up once by the caller). Session-protocol refusals
   * (P1 stateful command, P5 lost pin, P6 pin capacity) are decisions like the balancer's; only
   * an unavailable shared store is thrown (UNAVAILABLE).
   */
  async select(live: LiveService, query: SelectQuery, extras: SelectExtras): Promise<RoutedDecision> {
    const service = live.name;
    const skip = extras.resourceKey
      ? await sharedStoreCall(
          service,
          "negative-availability",
          this.options.negative.skipperFor(service, extras.resourceKey),
        )
      : undefined;
    const scoped: SelectQuery = skip
      ? withFilter(query, { name: "negative_availability", accept: (backend) => !skip(backend.spec.id) })
      : query;
    if (!extras.sessionId) {
      const refusal = extras.command ? this.statefulOnlyRefusal(live, extras.command) : undefined;
      return refusal ?? routed(await this.admit(live, scoped, extras.cost), undefined);
    }
    const entry = live;
    const policy = entry.config.session;
    const pin = await storeCall(
      service,
      this.options.store.touch(service, extras.sessionId, policy.idleTtlMs),
    );
    const decision = decideSessionRoute({
      service,
      sessionId: extras.sessionId,
      policy,
      command: extras.command,
      pin,
      pinnedBackend: pin && entry.backends.get(pin.backendId),
      now: this.options.clock.now(),
      allowedStates: entry.config.health.allowedStates,
    });
    switch (decision.kind) {
      case "per_command":
        return routed(await this.admit(live, scoped, extras.cost), "per_command");
      case "use_pin": {
        const explainFor = query.explain && extras.sessionId;
        return routed(await this.commitPinned(live, decision.backendId, extras.cost, explainFor), "stateful");
      }
      case "reject":
      case "lost":
        return decision.refusal;
      case "pin_new":
      case "repin":
        return this.pinNew(
          live,
          scoped,
          extras,
          decision.kind === "repin" ? decision.fromBackendId : undefined,
        );
    }
  }

  /** Choose, reserve quota where the chosen backends have limits, then take the ticket. */
  private async admit(
    live: LiveService,
    query: SelectQuery,
    cost: Readonly<Record<string, number>>,
  ): Promise<SelectionDecision> {
    const { balancer, quota } = this.options;
    if (!live.snapshot.quotaLimited) return balancer.selectIn(live, query);
    const admitted = await quota.admit(live.name, query, cost, (q) => balancer.choose(live, q));
    if (admitted.kind !== "picked") return admitted;
    return { kind: "picked", selection: balancer.commit(live, admitted.choice, admitted.reservations) };
  }

  /** Reserve on an already chosen backend set (a pin), then take the ticket. */
  private async commitChoice(
    live: LiveService,
    choice: Choice,
    cost: Readonly<Record<string, number>>,
  ): Promise<SelectionDecision> {
    const { balancer, quota } = this.options;
    if (!quota.applies(choice.backends)) return { kind: "picked", selection: balancer.commit(live, choice) };
    const reserved = await quota.reserveOn(live.name, choice.backends, cost);
    if (reserved.kind !== "reserved") return reserved;
    return { kind: "picked", selection: balancer.commit(live, choice, reserved.reservations) };
  }

  /** EndSession (P7): the released backend id, or undefined when the session had no pin. A draining backend may now leave (R6). */
  async endSession(service: string, sessionId: string): Promise<string | undefined> {
    const released = await storeCall(service, this.options.store.end(service, sessionId));
    const backend = released === undefined ? undefined : this.options.find(service)?.backends.get(released);
    if (backend?.draining) this.options.onPinReleased?.(service, backend);
    return released;
  }

  /** P2, P6: picks among backends with a free pin slot (the `pin_capacity` filter) and pins the session. */
  private async pinNew(
    live: LiveService,
    query: SelectQuery,
    extras: SelectExtras,
    replacing: string | undefined,
  ): Promise<RoutedDecision> {
    const { balancer, store } = this.options;
    const { sessionId } = extras;
    const service = live.name;
    // A session is never pinned to an Unhealthy backend's probe selection.
    const single: SelectQuery = { ...query, count: 1, allowProbe: false };
    const outcome = await storeCall(
      service,
      establishPin({
        store,
        service,
        sessionId,
        idleTtlMs: live.config.session.idleTtlMs,
        ...(replacing !== undefined && { replacing }),
        pick: (room: (candidate: PinCandidate) => boolean) => {
          const fits = (b: BackendState) => room({ id: b.spec.id, maxConnections: b.spec.maxConnections });
          const decision = balancer.choose(live, withFilter(single, { name: "pin_capacity", accept: fits }));
          if (decision.kind !== "picked") return undefined;
          const backend = decision.choice.backends[0];
          const choice = decision.choice;
          return backend && { id: backend.spec.id, maxConnections: backend.spec.maxConnections, choice };
        },
      }),
    );
    switch (outcome.kind) {
      case "pinned":
        return routed(await this.commitChoice(live, outcome.backend.choice, extras.cost), "stateful");
      case "existing": {
        const explainFor = query.explain && sessionId;
        return routed(await this.commitPinned(live, outcome.backendId, extras.cost, explainFor), "stateful");
      }
      case "capacity":
        return outcome.refusal;
      case "none": {
        // Nothing was turned down for pin capacity: the refusal is the plain choice's own.
        const plain = balancer.choose(live, single);
        if (plain.kind !== "picked") return plain;
        const message = `service ${JSON.stringify(service)}: no backend can take session ${JSON.stringify(sessionId)}`;
        return { kind: "unavailable", reason: "NO_MATCHING_BACKEND", message };
      }
    }
  }

  /** The pinned backend, ticketed; with `explainFor` (the session id) the trace says the pin decided (S16). */
  private commitPinned(
    live: LiveService,
    backendId: string,
    cost: Readonly<Record<string, number>>,
    explainFor: string | false,
  ): Promise<SelectionDecision> {
    const backend = live.backends.get(backendId);
    if (!backend) {
      const message = `service ${JSON.stringify(live.name)}: pinned backend ${JSON.stringify(backendId)} is gone`;
      return Promise.resolve({ kind: "unavailable", reason: "SESSION_BACKEND_LOST", message });
    }
    const explanation = explainFor ? pinExplanation(live, backendId, explainFor) : undefined;
    return this.commitChoice(
      live,
      { backends: [backend], degraded: false, version: live.snapshot.version, explanation },
      cost,
    );
  }

  /** A session-less Select naming a stateful command on a PER_COMMAND service is still refused (P1). */
  private statefulOnlyRefusal(live: LiveService, command: string): SessionRefusal | undefined {
    const decision = decideSessionRoute({
      service: live.name,
      sessionId: "",
      policy: live.config.session,
      command,
      pin: undefined,
      pinnedBackend: undefined,
      now: this.options.clock.now(),
    });
    return decision.kind === "reject" ? decision.refusal : undefined;
  }
}

/** The pin store failing (Redis away) is UNAVAILABLE for the session, never INTERNAL. */
function storeCall<T>(service: string, call: Promise<T>): Promise<T> {
  return sharedStoreCall(service, "session", call);
}

/** A shared-state call whose failure (not a FulcrumError) becomes UNAVAILABLE naming the store. */
function sharedStoreCall<T>(service: string, store: string, call: Promise<T>): Promise<T> {
  return call.catch((cause: unknown) => {
    if (cause instanceof FulcrumError) throw cause;
    throw new FulcrumError(
      "unavailable",
      `service ${JSON.stringify(service)}: the ${store} store is unavailable; retry`,
      {},
      { cause },
    );
  });
}

/** S16 for a pinned session: every other backend was set aside by the pin. */
function pinExplanation(entry: LiveService, pinned: string, sessionId: string): Explanation {
  const candidates = [...entry.backends.keys()].map((backendId) => ({
    backendId,
    removedBy: backendId === pinned ? "" : "pinned",
    score: 0,
    picked: backendId === pinned,
  }));
  return {
    strategy: entry.snapshot.strategy,
    filters: [{ filter: "pinned", removed: candidates.length - 1 }],
    candidates,
    reason: `session ${JSON.stringify(sessionId)} is pinned to ${pinned}`,
  };
}
