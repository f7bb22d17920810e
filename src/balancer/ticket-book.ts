import type { BackendState } from "./backend-state.js";

/** An outstanding Select: the in-flight slots it holds until Report or its lease ends (S12). */
export interface Ticket {
  readonly id: string;
  readonly service: string;
  readonly backends: readonly BackendState[];
  readonly expiresAt: number;
}

/**
 * Outstanding tickets of this replica. A ticket id is a per-process prefix plus a counter:
 * cheap to mint on the hot path and never reused while the process lives.
 */
export class TicketBook {
  private readonly open = new Map<string, Ticket>();
  private seq = 0;

  constructor(private readonly prefix: string) {}

  /** Takes one in-flight slot on each backend and returns the ticket that holds them. */
  issue(service: string, backends: readonly BackendState[], expiresAt: number): Ticket {
    for (const backend of backends) backend.inFlight++;
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
    return ticket;
  }

  /** Releases every ticket whose lease has ended; returns them. */
  expire(now: number): Ticket[] {
    const expired: Ticket[] = [];
    for (const ticket of this.open.values()) if (ticket.expiresAt <= now) expired.push(ticket);
    for (const ticket of expired) this.release(ticket.id);
    return expired;
  }

  get size(): number {
    return this.open.size;
  }
}
