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
import type { Balancer, Choice, Selection } from "../balancer/balancer.js";
import type { Explanation } from "../balancer/explanation.js";
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

/** What the router needs of the balancer: a side-effect-free choice, then a ticket for it. */
export type SessionBalancer = Pick<Balancer, "choose" | "commit">;

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

/** A Select's answer with the session's mode; `undefined` mode when the Select had no session. */
export interface RoutedSelection {
  readonly selection: Selection;
  readonly sessionMode: SessionMode | undefined;
}

/** Routes Selects that carry a session_id or a resource_key; others go straight to the balancer. */
export class SessionRouter {
  constructor(private readonly options: SessionRouterOptions) {}

  /** True when a Select needs this path: a session, a command, a resource key, or quota on the service. */
  needed(service: string, extras: SelectExtras): boolean {
    if (extras.sessionId || extras.command || extras.resourceKey) return true;
    return this.options.find(service)?.snapshot.quotaLimited ?? false;
  }

  /** Select with session routing (P1-P7), negative availability (P8) and quota reservation (Q3). */
  async select(service: string, query: SelectQuery, extras: SelectExtras): Promise<RoutedSelection> {
    const skip = extras.resourceKey ? this.options.negative.skipper(service, extras.resourceKey) : undefined;
    const scoped: SelectQuery = skip
      ? { ...query, accept: (backend: BackendState) => !skip(backend.spec.id) }
      : query;
    if (!extras.sessionId) {
      if (extras.command) this.rejectIfStatefulOnly(service, extras.command);
      return { selection: await this.admit(service, scoped, extras.cost), sessionMode: undefined };
    }
    const entry = this.entry(service);
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
        return { selection: await this.admit(service, scoped, extras.cost), sessionMode: "per_command" };
      case "use_pin":
        return {
          selection: await this.commitPinned(
            service,
            decision.backendId,
            extras.cost,
            query.explain && extras.sessionId,
          ),
          sessionMode: "stateful",
        };
      case "reject":
      case "lost":
        throw decision.error;
      case "pin_new":
      case "repin":
        return this.pinNew(
          service,
          scoped,
          extras,
          decision.kind === "repin" ? decision.fromBackendId : undefined,
        );
    }
  }

  /** Choose, reserve quota where the chosen backends have limits, then take the ticket. */
  private async admit(
    service: string,
    query: SelectQuery,
    cost: Readonly<Record<string, number>>,
  ): Promise<Selection> {
    const { balancer, quota } = this.options;
    if (!this.entry(service).snapshot.quotaLimited)
      return balancer.commit(service, balancer.choose(service, query));
    const { choice, reservations } = await quota.admit(service, query, cost, (q) =>
      balancer.choose(service, q),
    );
    return balancer.commit(service, choice, reservations);
  }

  /** Reserve on an already chosen backend set (a pin), then take the ticket. */
  private async commitChoice(
    service: string,
    choice: Choice,
    cost: Readonly<Record<string, number>>,
  ): Promise<Selection> {
    const { balancer, quota } = this.options;
    if (!quota.applies(choice.backends)) return balancer.commit(service, choice);
    return balancer.commit(service, choice, await quota.reserveOn(service, choice.backends, cost));
  }

  /** EndSession (P7): the released backend id, or undefined when the session had no pin. A draining backend may now leave (R6). */
  async endSession(service: string, sessionId: string): Promise<string | undefined> {
    const released = await storeCall(service, this.options.store.end(service, sessionId));
    const backend = released === undefined ? undefined : this.options.find(service)?.backends.get(released);
    if (backend?.draining) this.options.onPinReleased?.(service, backend);
    return released;
  }

  private async pinNew(
    service: string,
    query: SelectQuery,
    extras: SelectExtras,
    replacing: string | undefined,
  ): Promise<RoutedSelection> {
    const { balancer, store } = this.options;
    const { sessionId } = extras;
    const entry = this.entry(service);
    const accept = query.accept;
    // A session is never pinned to an Unhealthy backend's probe selection.
    const single: SelectQuery = { ...query, count: 1, allowProbe: false };
    const outcome = await storeCall(
      service,
      establishPin({
        store,
        service,
        sessionId,
        idleTtlMs: entry.config.session.idleTtlMs,
        ...(replacing !== undefined && { replacing }),
        pick: (room: (candidate: PinCandidate) => boolean) => {
          const fits = (b: BackendState) =>
            room({ id: b.spec.id, maxConnections: b.spec.maxConnections }) && (!accept || accept(b));
          try {
            const choice = balancer.choose(service, { ...single, accept: fits });
            const backend = choice.backends[0];
            return backend && { id: backend.spec.id, maxConnections: backend.spec.maxConnections, choice };
          } catch {
            return undefined;
          }
        },
      }),
    );
    switch (outcome.kind) {
      case "pinned":
        return {
          selection: await this.commitChoice(service, outcome.backend.choice, extras.cost),
          sessionMode: "stateful",
        };
      case "existing":
        return {
          selection: await this.commitPinned(
            service,
            outcome.backendId,
            extras.cost,
            query.explain && sessionId,
          ),
          sessionMode: "stateful",
        };
      case "capacity":
        throw outcome.error;
      case "none":
        balancer.choose(service, single);
        throw new FulcrumError(
          "unavailable",
          `service ${JSON.stringify(service)}: no backend can take session ${JSON.stringify(sessionId)}`,
        );
    }
  }

  /** The pinned backend, ticketed; with `explainFor` (the session id) the trace says the pin decided (S16). */
  private commitPinned(
    service: string,
    backendId: string,
    cost: Readonly<Record<string, number>>,
    explainFor: string | false,
  ): Promise<Selection> {
    const entry = this.entry(service);
    const backend = entry.backends.get(backendId);
    if (!backend)
      throw new FulcrumError(
        "unavailable",
        `service ${JSON.stringify(service)}: pinned backend ${JSON.stringify(backendId)} is gone`,
      );
    const explanation = explainFor ? pinExplanation(entry, backendId, explainFor) : undefined;
    return this.commitChoice(
      service,
      { backends: [backend], degraded: false, version: entry.snapshot.version, explanation },
      cost,
    );
  }

  /** A session-less Select naming a stateful command on a PER_COMMAND service is still refused (P1). */
  private rejectIfStatefulOnly(service: string, command: string): void {
    const decision = decideSessionRoute({
      service,
      sessionId: "",
      policy: this.entry(service).config.session,
      command,
      pin: undefined,
      pinnedBackend: undefined,
      now: this.options.clock.now(),
    });
    if (decision.kind === "reject") throw decision.error;
  }

  private entry(service: string): LiveService {
    const entry = this.options.find(service);
    if (!entry) throw new FulcrumError("not_found", `service ${JSON.stringify(service)} is not registered`);
    return entry;
  }
}

/** The pin store failing (Redis away) is UNAVAILABLE for the session, never INTERNAL. */
function storeCall<T>(service: string, call: Promise<T>): Promise<T> {
  return call.catch((cause: unknown) => {
    if (cause instanceof FulcrumError) throw cause;
    throw new FulcrumError(
      "unavailable",
      `service ${JSON.stringify(service)}: the session store is unavailable; retry`,
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
