/**
 * The balancer: Select over a service's immutable snapshot (choose, then commit a ticket for
 * the in-flight slots) and Report (release the ticket, record latency, tell the Report
 * listener). Synchronous and free of I/O; what must be shared goes through ports.
 */
import type { RegistryLimits } from "../model/limits.js";
import { type Clock, MAX_TIMER_MS } from "../shared/clock.js";
import { type FieldViolation, invalidArgument } from "../shared/errors.js";
import type { BackendState } from "./backend-state.js";
import { type Refusal, serviceNotFound } from "./decision.js";
import type { Explanation } from "./explanation.js";
import { requestFilter } from "./filters/request-filter.js";
import type { LiveService } from "./live-service.js";
import { DEFAULT_LATENCY_DECAY_MS, recordLatency } from "./load/latency-estimate.js";
import type { Outcome } from "./outcome.js";
import { FULL_QUOTA, type QuotaView } from "./quota-view.js";
import { selectFromSnapshot } from "./select.js";
import type { SelectQuery } from "./select-query.js";
import type { ServiceTable } from "./service-table.js";
import { type Ticket, TicketBook } from "./ticket-book.js";
import { parseTicketId, type TicketSigner } from "./ticket-id.js";
import type { TicketRelay } from "./ticket-relay.js";

/** Foreign tickets remembered for idempotency. */
const MAX_RELAYED_REMEMBERED = 10_000;

/**
 * What the rest of the core learns from a Report, after the balancer's own bookkeeping (slot
 * released, latency recorded): the Report pipeline implements it. Runs on the Report path;
 * no method may throw.
 */
export interface ReportListener {
  /** Once per backend for every outcome Report applies. */
  outcome(service: string, backend: BackendState, outcome: Outcome): void;
  /**
   * Once for a ticket a Report settled, with the backends the outcome was about (all of the
   * ticket's, or the one `backend_id` named).
   */
  ticketReported(ticket: Ticket, reported: readonly BackendState[], outcome: Outcome): void;
  /** Once for a ticket whose lease ended without a Report. */
  ticketExpired(ticket: Ticket): void;
}

/** Options of a Balancer. */
export interface BalancerOptions {
  /** Where services are found; the hot path reads `find(service).snapshot`. */
  readonly services: Pick<ServiceTable, "find">;
  /** A draining backend's last in-flight call ended (R6): the registry may remove it now. */
  readonly onDrainIdle: (service: string, backendId: string) => void;
  readonly clock: Clock;
  readonly limits: RegistryLimits & { readonly maxReportBatch: number };
  /** This replica's id: the origin part of its tickets. */
  readonly replica: string;
  /** Signs this replica's tickets and checks other replicas'. */
  readonly signer: TicketSigner;
  /** Sends Reports of other replicas' tickets to them; default: a single replica. */
  readonly relay?: TicketRelay;
  /** Failures of relaying, which no caller waits for. */
  readonly onRelayError?: (cause: unknown) => void;
  /** Quota headroom for most_available and the quota filter; default: every backend full (FULL_QUOTA). */
  readonly quota?: QuotaView;
  /** Told about every applied outcome, settled ticket and expired ticket; default: nobody. */
  readonly report?: ReportListener;
  /** H2: picks an Unhealthy backend due for a probe selection among `candidates`, marking it; undefined when none. */
  readonly probeSelection?: (
    service: string,
    candidates: readonly BackendState[],
  ) => BackendState | undefined;
}

/** What Select chose, before it takes anything. */
export interface Choice {
  readonly backends: readonly BackendState[];
  readonly degraded: boolean;
  readonly version: number;
  readonly explanation: Explanation | undefined;
  /** True for an Unhealthy backend's probe selection (H2). */
  readonly probe?: boolean;
}

/** What Select answers. */
export interface Selection extends Choice {
  readonly ticket: string;
}

/** A choice, or why there is none. */
export type ChoiceDecision = { readonly kind: "picked"; readonly choice: Choice } | Refusal;

/** A ticketed selection, or why there is none. */
export type SelectionDecision = { readonly kind: "picked"; readonly selection: Selection } | Refusal;

/**
 * The hot path: Select over a service's snapshot, tickets for in-flight slots, and Report.
 * Nothing here does I/O; state that must be shared goes through ports added by later layers.
 */
export class Balancer {
  readonly tickets: TicketBook;
  /** Foreign tickets already relayed from this replica, oldest first (idempotent Report). */
  private readonly relayed = new Set<string>();
  /** Reused for every Select (the hot path is synchronous): no context object per request. */
  private readonly context: { hashKey: string; quota: QuotaView; serviceInFlight: number };

  constructor(private readonly options: BalancerOptions) {
    this.tickets = new TicketBook(options.replica, options.signer);
    this.context = { hashKey: "", quota: options.quota ?? FULL_QUOTA, serviceInFlight: 0 };
  }

  /** The service a Select is about: looked up once per request and passed along. */
  find(service: string): LiveService | undefined {
    return this.options.services.find(service);
  }

  /**
   * Select in one call (tests, benches): checks the query (INVALID_ARGUMENT is thrown: bad
   * input, not a decision), looks the service up, chooses and takes the ticket.
   */
  select(service: string, query: SelectQuery): SelectionDecision {
    this.validateQuery(service, query);
    const live = this.find(service);
    return live ? this.selectIn(live, query) : serviceNotFound(service);
  }

  /** Chooses in `live` and takes the ticket of what was picked (the plain Select path). */
  selectIn(live: LiveService, query: SelectQuery): SelectionDecision {
    const decision = this.choose(live, query);
    if (decision.kind !== "picked") return decision;
    return { kind: "picked", selection: this.commit(live, decision.choice) };
  }

  /**
   * The backends Select would pick, without taking anything: no ticket, no in-flight slot
   * (the layers around the balancer may turn a choice down and choose again). An Unhealthy
   * backend due for its one probe selection (H2) is chosen first. Never throws.
   */
  choose(live: LiveService, query: SelectQuery): ChoiceDecision {
    const snapshot = live.snapshot;
    const probe =
      snapshot.unhealthy.length > 0 ? this.probeFor(live.name, snapshot.unhealthy, query) : undefined;
    if (probe) {
      const choice = { backends: [probe], degraded: false, version: snapshot.version, probe: true };
      return { kind: "picked", choice: { ...choice, explanation: undefined } };
    }
    this.context.hashKey = query.hashKey;
    this.context.serviceInFlight = this.tickets.inFlightOf(live.name);
    const decision = selectFromSnapshot(snapshot, query, this.context);
    if (decision.kind !== "picked")
      return { ...decision, message: `service ${JSON.stringify(live.name)}: ${decision.message}` };
    const { backends, degraded, explanation } = decision;
    return { kind: "picked", choice: { backends, degraded, version: snapshot.version, explanation } };
  }

  /** Takes the in-flight slots of a choice and returns it with its ticket (S12). */
  commit(live: LiveService, choice: Choice, reservations?: readonly unknown[]): Selection {
    const now = this.options.clock.now();
    const lease = live.config.load.ticketLeaseMs;
    const payload = choice.probe || reservations ? { probe: choice.probe, reservations } : undefined;
    const ticket = this.tickets.issue(live.name, choice.backends, now + lease, payload, now);
    // Spelled out rather than spread: this runs once per Select.
    const { backends, degraded, version, explanation, probe } = choice;
    return { backends, degraded, version, explanation, probe, ticket };
  }

  /** H2: an Unhealthy backend the request may use, due for its probe selection. */
  private probeFor(
    service: string,
    unhealthy: readonly BackendState[],
    query: SelectQuery,
  ): BackendState | undefined {
    const { probeSelection } = this.options;
    if (!probeSelection || query.count > 1 || query.allowProbe === false) return undefined;
    const filter = requestFilter(query, FULL_QUOTA, { filterThreshold: 0, shadow: true });
    return probeSelection(service, filter ? unhealthy.filter(filter) : unhealthy);
  }

  /** Report: checks the whole batch first (a bad batch changes nothing), then applies it. */
  report(outcomes: readonly Outcome[]): { applied: number; ignored: number } {
    this.validateOutcomes(outcomes);
    let applied = 0;
    for (const outcome of outcomes) if (this.apply(outcome)) applied++;
    return { applied, ignored: outcomes.length - applied };
  }

  /** Releases slots of tickets whose lease ended without a Report (S12). */
  expireTickets(): void {
    for (const ticket of this.tickets.expire(this.options.clock.now())) {
      this.afterRelease(ticket.service, ticket.backends);
      this.options.report?.ticketExpired(ticket);
    }
  }

  /**
   * One outcome: a ticket releases its slots (S12); then latency (when > 0) feeds the EWMA and
   * peak-EWMA of the backend(s) it names (S6), and the Report listener hears of each. A ticket with
   * several backends (count > 1) is narrowed to `backendId` when that is one of them.
   */
  private apply(outcome: Outcome): boolean {
    let service = outcome.service;
    let backends: readonly BackendState[];
    if (outcome.ticket) {
      const ticket = this.tickets.release(outcome.ticket);
      if (!ticket) return this.applyForeign(outcome);
      this.afterRelease(ticket.service, ticket.backends);
      service = ticket.service;
      const named = ticket.backends.find((b) => b.spec.id === outcome.backendId);
      backends = named ? [named] : ticket.backends;
      this.options.report?.ticketReported(ticket, backends, outcome);
    } else {
      const backend = this.options.services.find(service)?.backends.get(outcome.backendId);
      if (!backend) return false;
      backends = [backend];
    }
    this.observe(service, backends, outcome);
    return true;
  }

  /**
   * A ticket another replica issued: health and latency are learned here, and the release (slot,
   * quota true-up) is relayed to the issuer. Repeats of one ticket on this replica are ignored.
   */
  private applyForeign(outcome: Outcome): boolean {
    const id = parseTicketId(this.options.signer, outcome.ticket);
    if (!id || id.replica === this.tickets.replica || this.relayed.has(outcome.ticket)) return false;
    this.relayed.add(outcome.ticket);
    if (this.relayed.size > MAX_RELAYED_REMEMBERED) this.relayed.delete(this.relayed.values().next().value!);
    const entry = this.options.services.find(id.service);
    const named = outcome.backendId ? [outcome.backendId] : id.backendIds;
    const backends = named.flatMap((backendId) => entry?.backends.get(backendId) ?? []);
    this.observe(id.service, backends, outcome);
    this.options.relay
      ?.publish({ origin: id.replica, outcome })
      .catch((cause: unknown) => this.options.onRelayError?.(cause));
    return true;
  }

  /** A Report another replica received for one of this replica's tickets: free the slot, settle quota. */
  applyRelayed(outcome: Outcome): void {
    const ticket = this.tickets.release(outcome.ticket);
    if (!ticket) return;
    this.afterRelease(ticket.service, ticket.backends);
    const named = ticket.backends.find((b) => b.spec.id === outcome.backendId);
    this.options.report?.ticketReported(ticket, named ? [named] : ticket.backends, outcome);
  }

  private observe(service: string, backends: readonly BackendState[], outcome: Outcome): void {
    const { clock, services, report } = this.options;
    if (outcome.latencyMs > 0) {
      const decayMs = services.find(service)?.snapshot.latencyDecayMs ?? DEFAULT_LATENCY_DECAY_MS;
      const now = clock.now();
      for (const backend of backends) recordLatency(backend, outcome.latencyMs, now, decayMs);
    }
    if (report) for (const backend of backends) report.outcome(service, backend, outcome);
  }

  /** A draining backend leaves once its last in-flight call is reported (R6). */
  private afterRelease(service: string, backends: readonly BackendState[]): void {
    for (const backend of backends) {
      if (backend.draining && backend.inFlight === 0) this.options.onDrainIdle(service, backend.spec.id);
    }
  }

  /** INVALID_ARGUMENT naming the field when a query is past a limit (thrown: bad input, not a decision). */
  validateQuery(service: string, query: SelectQuery): void {
    const { limits } = this.options;
    if (service && query.count <= limits.maxSelectCount && query.exclude.length <= limits.maxExclude) return;
    const violations: FieldViolation[] = [];
    if (!service) violations.push({ field: "service", description: "must not be empty" });
    if (query.count > limits.maxSelectCount) {
      violations.push({
        field: "count",
        description: `must be at most ${limits.maxSelectCount} (limit max_select_count), got ${query.count}`,
      });
    }
    if (query.exclude.length > limits.maxExclude) {
      violations.push({
        field: "exclude",
        description: `at most ${limits.maxExclude} ids (limit max_exclude), got ${query.exclude.length}`,
      });
    }
    if (violations.length > 0) throw invalidArgument(violations);
  }

  private validateOutcomes(outcomes: readonly Outcome[]): void {
    const violations: FieldViolation[] = [];
    if (outcomes.length === 0)
      violations.push({ field: "outcomes", description: "must hold at least one outcome" });
    if (outcomes.length > this.options.limits.maxReportBatch) {
      violations.push({
        field: "outcomes",
        description: `at most ${this.options.limits.maxReportBatch} per call (limit max_report_batch), got ${outcomes.length}`,
      });
    }
    outcomes.forEach((o, i) => {
      if (!o.result) violations.push({ field: `outcomes[${i}].result`, description: "must be set" });
      if (!o.ticket && (!o.service || !o.backendId)) {
        violations.push({
          field: `outcomes[${i}].ticket`,
          description: "give a ticket, or service and backend_id",
        });
      } else if (o.ticket && !this.tickets.has(o.ticket) && !parseTicketId(this.options.signer, o.ticket)) {
        violations.push({
          field: `outcomes[${i}].ticket`,
          description: "not a ticket issued by this Fulcrum cluster",
        });
      }
      for (const [field, ms] of [
        ["latency", o.latencyMs],
        ["retry_after", o.retryAfterMs],
      ] as const) {
        if (Number.isFinite(ms) && ms >= 0 && ms <= MAX_TIMER_MS) continue;
        violations.push({
          field: `outcomes[${i}].${field}`,
          description: `must be from 0 to ${MAX_TIMER_MS} ms, got ${ms} ms`,
        });
      }
    });
    if (violations.length > 0) throw invalidArgument(violations);
  }
}
