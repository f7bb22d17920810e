import type { BackendState } from "./backend-state.js";
import { formatTicketId, type TicketSigner } from "./ticket-id.js";

/** An outstanding Select: the in-flight slots it holds until Report or its lease ends (S12). */
export interface Ticket {
  readonly id: string;
  readonly service: string;
  readonly backends: readonly BackendState[];
  readonly expiresAt: number;
  /** What the layers around the balancer hold with the ticket (quota reservations, a probe selection). */
  readonly payload: TicketPayload | undefined;
}

/** Held with a ticket and settled when it ends (Report or lease expiry). */
export interface TicketPayload {
  /** Quota reservations, one per backend that has limits (opaque to the balancer). */
  readonly reservations?: readonly unknown[];
  /** True when the ticket is an Unhealthy backend's probe selection (H2). */
  readonly probe?: boolean;
}

/** Reported tickets tolerated in the expiry queues before they are compacted. */
const COMPACT_SLACK = 1_024;

/**
 * Outstanding tickets of this replica (behaviour.md S12): +1 in flight on each chosen backend
 * at Select, -1 at Report or when the lease ends without one. A ticket id is a per-process
 * prefix plus a counter: cheap to mint on the hot path and never reused while the process
 * lives. Ids are signed and self-describing (ticket-id.ts). Also keeps each service's total in flight (bounded-load hashing reads it).
 */
export class TicketBook {
  private readonly open = new Map<string, Ticket>();
  /**
   * Tickets by lease length, in issue order. With a monotonic clock each queue is also in
   * expiry order, so expiry reads only the heads; reported tickets leave the queue lazily.
   */
  private readonly byLease = new Map<number, Ticket[]>();
  private readonly perService = new Map<string, number>();
  private seq = 0;

  constructor(
    /** This replica's id, the first part of every ticket id. */
    readonly replica: string,
    private readonly signer: TicketSigner,
  ) {}

  /** Takes one in-flight slot on each backend and returns the ticket that holds them. */
  issue(
    service: string,
    backends: readonly BackendState[],
    expiresAt: number,
    payload?: TicketPayload,
    issuedAt = 0,
  ): Ticket {
    for (const backend of backends) {
      backend.inFlight++;
      backend.selections++;
    }
    this.perService.set(service, (this.perService.get(service) ?? 0) + backends.length);
    const ids = backends.map((backend) => backend.spec.id);
    const ticket = {
      id: formatTicketId(this.signer, this.replica, ++this.seq, service, ids),
      service,
      backends,
      expiresAt,
      payload,
    };
    this.open.set(ticket.id, ticket);
    const lease = expiresAt - issuedAt;
    const queue = this.byLease.get(lease);
    if (queue) queue.push(ticket);
    else this.byLease.set(lease, [ticket]);
    return ticket;
  }

  /** Releases a ticket's slots once; returns undefined when it was already released or never existed. */
  release(id: string): Ticket | undefined {
    const ticket = this.open.get(id);
    if (!ticket) return undefined;
    this.open.delete(id);
    for (const backend of ticket.backends) backend.inFlight = Math.max(0, backend.inFlight - 1);
    const left = (this.perService.get(ticket.service) ?? 0) - ticket.backends.length;
    if (left > 0) this.perService.set(ticket.service, left);
    else this.perService.delete(ticket.service);
    return ticket;
  }

  /** Releases every ticket whose lease has ended (expiresAt <= now); returns them. Costs O(expired + reported). */
  expire(now: number): Ticket[] {
    this.compactIfMostlyReported();
    const expired: Ticket[] = [];
    for (const [lease, queue] of this.byLease) {
      let head = 0;
      while (head < queue.length) {
        const ticket = queue[head]!;
        if (this.open.get(ticket.id) === ticket) {
          if (ticket.expiresAt > now) break;
          this.release(ticket.id);
          expired.push(ticket);
        }
        head++;
      }
      if (head === queue.length) this.byLease.delete(lease);
      else if (head > 0) queue.splice(0, head);
    }
    return expired;
  }

  /** Drops reported tickets from the queues once they outnumber open ones, so Reports free memory promptly. */
  private compactIfMostlyReported(): void {
    let queued = 0;
    for (const queue of this.byLease.values()) queued += queue.length;
    if (queued <= 2 * this.open.size + COMPACT_SLACK) return;
    for (const [lease, queue] of this.byLease) {
      const live = queue.filter((ticket) => this.open.get(ticket.id) === ticket);
      if (live.length === 0) this.byLease.delete(lease);
      else this.byLease.set(lease, live);
    }
  }

  /** Slots held by this replica's open tickets for `service`. */
  inFlightOf(service: string): number {
    return this.perService.get(service) ?? 0;
  }

  /** True while `id` is open here. */
  has(id: string): boolean {
    return this.open.has(id);
  }

  /** Open tickets. */
  get size(): number {
    return this.open.size;
  }
}
