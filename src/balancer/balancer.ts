import type { RegistryLimits } from "../registry/limits.js";
import type { ServiceRegistry } from "../registry/service-registry.js";
import type { Clock } from "../shared/clock.js";
import { type FieldViolation, FulcrumError, invalidArgument } from "../shared/errors.js";
import type { BackendState } from "./backend-state.js";
import type { Explanation } from "./explanation.js";
import type { Outcome } from "./outcome.js";
import { selectFromSnapshot } from "./select.js";
import type { SelectQuery } from "./select-query.js";
import { TicketBook } from "./ticket-book.js";

/** Options of a Balancer. */
export interface BalancerOptions {
  readonly registry: ServiceRegistry;
  readonly clock: Clock;
  readonly limits: RegistryLimits & { readonly maxReportBatch: number };
  /** Distinguishes this replica's tickets. */
  readonly ticketPrefix: string;
}

/** What Select answers. */
export interface Selection {
  readonly backends: readonly BackendState[];
  readonly ticket: string;
  readonly degraded: boolean;
  readonly version: number;
  readonly explanation: Explanation | undefined;
}

/**
 * The hot path: Select over a service's snapshot, tickets for in-flight slots, and Report.
 * Nothing here does I/O; state that must be shared goes through ports added by later layers.
 */
export class Balancer {
  readonly tickets: TicketBook;

  constructor(private readonly options: BalancerOptions) {
    this.tickets = new TicketBook(options.ticketPrefix);
  }

  /** Select: validated query in, chosen backends and a ticket out; FulcrumError otherwise. */
  select(service: string, query: SelectQuery): Selection {
    this.validateQuery(service, query);
    const entry = this.options.registry.find(service);
    if (!entry) throw new FulcrumError("not_found", `service ${JSON.stringify(service)} is not registered`);
    const decision = selectFromSnapshot(entry.snapshot, query);
    if (decision.kind === "unavailable") {
      throw new FulcrumError("unavailable", `service ${JSON.stringify(service)}: ${decision.message}`);
    }
    const expiresAt = this.options.clock.now() + entry.config.load.ticketLeaseMs;
    const ticket = this.tickets.issue(service, decision.backends, expiresAt);
    return {
      backends: decision.backends,
      ticket: ticket.id,
      degraded: decision.degraded,
      version: entry.snapshot.version,
      explanation: decision.explanation,
    };
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
    for (const ticket of this.tickets.expire(this.options.clock.now()))
      this.afterRelease(ticket.service, ticket.backends);
  }

  private apply(outcome: Outcome): boolean {
    if (outcome.ticket) {
      const ticket = this.tickets.release(outcome.ticket);
      if (!ticket) return false;
      this.afterRelease(ticket.service, ticket.backends);
      return true;
    }
    return this.options.registry.find(outcome.service)?.backends.has(outcome.backendId) ?? false;
  }

  /** A draining backend leaves once its last in-flight call is reported (R6). */
  private afterRelease(service: string, backends: readonly BackendState[]): void {
    for (const backend of backends) {
      if (backend.draining && backend.inFlight === 0) this.options.registry.finishDrain(service, backend);
    }
  }

  private validateQuery(service: string, query: SelectQuery): void {
    const violations: FieldViolation[] = [];
    const { limits } = this.options;
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
      }
      if (!Number.isFinite(o.latencyMs) || o.latencyMs < 0) {
        violations.push({
          field: `outcomes[${i}].latency`,
          description: `must be >= 0, got ${o.latencyMs} ms`,
        });
      }
    });
    if (violations.length > 0) throw invalidArgument(violations);
  }
}
