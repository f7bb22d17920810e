import type { BackendState } from "./backend-state.js";

/** An outstanding Select: the in-flight slots it holds until Report or its lease ends (S12). */
export interface Ticket {
  readonly id: string;
  readonly service: string;
  readonly backends: readonly BackendState[];
  readonly expiresAt: number;
}

/**
 * Outstanding tickets of this replica (behaviour.md S12): +1 in flight on each chosen backend
 * at Select, -1 at Report or when the lease ends without one. A ticket id is a per-process
 * prefix plus a counter: cheap to mint on the hot path and never reused while the process
 * lives. Also keeps each service's total in flight (bounded-load hashing reads it).
 */
export class TicketBook {
  private readonly open = new Map<string, Ticket>();
  private readonly perService = new Map<string, number>();
  private seq = 0;

  constructor(private readonly prefix: string) {}

  /** Takes one in-flight slot on each backend and returns the ticket that holds them. */
  issue(service: string, backends: readonly BackendState[], expiresAt: number): Ticket {
    for (const backend of backends) backend.inFlight++;
    this.perService.set(service, (this.perService.get(service) ?? 0) + backends.length);
    const ticket = { id: this.prefix + (++this.seq).toString(36), service, backends, expiresAt };
    this.open.set(ticket.id, ticket);
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

  /** Releases every ticket whose lease has ended (expiresAt <= now); returns them. */
  expire(now: number): Ticket[] {
    const expired: Ticket[] = [];
    for (const ticket of this.open.values()) if (ticket.expiresAt <= now) expired.push(ticket);
    for (const ticket of expired) this.release(ticket.id);
    return expired;
  }

  /** Slots held by this replica's open tickets for `service`. */
  inFlightOf(service: string): number {
    return this.perService.get(service) ?? 0;
  }

  /** Open tickets. */
  get size(): number {
    return this.open.size;
  }
}
