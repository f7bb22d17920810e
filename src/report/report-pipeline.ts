/**
 * The Report path past the balancer (behaviour.md H1-H4, P6, Q3, Q4, Q9): once the balancer
 * has released a ticket's slots and recorded latency, each outcome feeds the health state
 * machine, a NOT_FOUND for a resource key becomes a negative-availability fact, and quota
 * trues up what the call used (or what the upstream said is left). An expired ticket gives its
 * reservations back and ends its probe selection. Quota work is I/O on a port, so it runs in
 * the background; nothing here throws into the Report.
 */

import type { BackendState } from "../balancer/backend-state.js";
import type { ReportListener } from "../balancer/balancer.js";
import type { Outcome } from "../balancer/outcome.js";
import type { ServiceTable } from "../balancer/service-table.js";
import type { Ticket } from "../balancer/ticket-book.js";
import type { HealthMonitor } from "../health/health-monitor.js";
import type { QuotaGate } from "../quota/quota-gate.js";
import type { NegativeAvailability } from "../sessions/negative-availability.js";

/** Runs work nobody waits for; `what` names it when it fails. */
export type BackgroundRunner = (what: string, work: Promise<unknown>) => void;

/** What a ReportPipeline feeds. */
export interface ReportPipelineOptions {
  /** Where a service's negative_ttl is read. */
  readonly services: Pick<ServiceTable, "find">;
  readonly health: Pick<HealthMonitor, "onOutcome" | "probeAbandoned">;
  readonly quota: Pick<QuotaGate, "settle" | "settleTicket" | "release">;
  readonly negative: Pick<NegativeAvailability, "report">;
  readonly background: BackgroundRunner;
}

/** Hears every Report from the balancer and hands each part to the subsystem it concerns. */
export class ReportPipeline implements ReportListener {
  constructor(private readonly options: ReportPipelineOptions) {}

  outcome(service: string, backend: BackendState, outcome: Outcome): void {
    const { health, negative, services, quota, background } = this.options;
    if (outcome.result) health.onOutcome(service, backend, outcome.result);
    if (outcome.result === "not_found" && outcome.resourceKey) {
      const ttlMs = services.find(service)?.config.session.negativeTtlMs ?? 0;
      negative.report(service, backend.spec.id, outcome.resourceKey, ttlMs);
    }
    // An outcome without a ticket has no reservation: only news about quota is settled.
    const quotaNews = outcome.result === "rate_limited" || Object.keys(outcome.remaining).length > 0;
    if (!outcome.ticket && quotaNews)
      background("quota report", quota.settle(backend, service, undefined, outcome));
  }

  ticketReported(ticket: Ticket, reported: readonly BackendState[], outcome: Outcome): void {
    const { quota, background } = this.options;
    const reservations = ticket.payload?.reservations;
    background(
      "quota true-up",
      quota.settleTicket(ticket.service, ticket.backends, reported, reservations, outcome),
    );
  }

  ticketExpired(ticket: Ticket): void {
    const { quota, health, background } = this.options;
    if (ticket.payload?.reservations)
      background("quota release", quota.release(ticket.backends, ticket.payload.reservations));
    if (ticket.payload?.probe)
      for (const backend of ticket.backends) health.probeAbandoned(ticket.service, backend);
  }
}
