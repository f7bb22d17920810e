import type { BackendState } from "./backend-state.js";
import { CountedIndex } from "./counted-index.js";
import { NumberQueue } from "./number-queue.js";
import { TICKET_SEPARATOR, type TicketSigner, ticketBody, ticketSeq } from "./ticket-id.js";
import { TicketRing } from "./ticket-ring.js";

/** A ticket the book let go of (Report or lease expiry): what its listeners settle. */
export interface Ticket {
  readonly service: string;
  readonly backends: readonly BackendState[];
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

/** An open ticket kept as an object: moved out of the ring by a long lease, or a signature the ring cannot hold. */
interface HeldTicket extends Ticket {
  readonly id: string;
  readonly serviceNumber: number;
  readonly expiresAt: number;
}

/** Reported tickets tolerated in the expiry queues before they are compacted. */
const COMPACT_SLACK = 1_024;

/**
 * Outstanding tickets of this replica (behaviour.md S12): +1 in flight on each chosen backend
 * at Select, -1 at Report or when the lease ends without one. A ticket id is a per-process
 * prefix plus a counter: cheap to mint on the hot path and never reused while the process
 * lives. Ids are signed and self-describing (ticket-id.ts). Also keeps each service's total in
 * flight (bounded-load hashing reads it).
 *
 * Clients that never Report leave a lease's worth of tickets open, so an open ticket is a
 * slot of typed arrays (ticket-ring.ts) found by its sequence number, with services and
 * backends as numbers (counted-index.ts): nothing per ticket for the garbage collector. Only
 * the rare parts are objects: several backends, a payload, a ticket moved out of the ring.
 */
export class TicketBook {
  private readonly ring = new TicketRing();
  private readonly held = new Map<number, HeldTicket>();
  /** Backends of ring tickets with other than one backend, by sequence number. */
  private readonly several = new Map<number, readonly BackendState[]>();
  private readonly payloads = new Map<number, TicketPayload>();
  /** Services by number; a service's count is its open tickets (those with no backend too). */
  private readonly services = new CountedIndex<string>();
  /** In-flight slots of each service, by its number. */
  private readonly serviceSlots: number[] = [];
  /** Backends by number; a backend's count is its ring tickets. */
  private readonly backendNumbers = new CountedIndex<BackendState>();
  /**
   * Sequence numbers by lease length, in issue order. With a monotonic clock each queue is
   * also in expiry order, so expiry reads only the heads; reported tickets leave lazily.
   */
  private readonly byLease = new Map<number, NumberQueue>();
  private queued = 0;
  private seq = 0;
  private readonly prefix: string;
  private readonly moveOut = (slot: number) => this.moveToHeld(slot);

  constructor(
    /** This replica's id, the first part of every ticket id. */
    readonly replica: string,
    private readonly signer: TicketSigner,
  ) {
    this.prefix = `${replica}${TICKET_SEPARATOR}`;
  }

  /** Takes one in-flight slot on each backend and returns the id of the ticket that holds them. */
  issue(
    service: string,
    backends: readonly BackendState[],
    expiresAt: number,
    payload?: TicketPayload,
    issuedAt = 0,
  ): string {
    for (const backend of backends) {
      backend.inFlight++;
      backend.selections++;
    }
    const seq = ++this.seq;
    const serviceNumber = this.services.add(service);
    this.serviceSlots[serviceNumber] = (this.serviceSlots[serviceNumber] ?? 0) + backends.length;
    const body = ticketBody(this.replica, seq, service, backendIdsOf(backends));
    const signature = this.signer.sign(body);
    const id = `${body}${TICKET_SEPARATOR}${signature}`;
    if (TicketRing.fits(signature)) {
      const slot = this.ring.claim(seq, this.moveOut);
      this.ring.expiries[slot] = expiresAt;
      this.ring.services[slot] = serviceNumber;
      this.ring.writeSignature(slot, signature);
      if (backends.length === 1) this.ring.backends[slot] = this.backendNumbers.add(backends[0]!);
      else {
        this.ring.backends[slot] = -1;
        this.several.set(seq, backends);
      }
      if (payload) this.payloads.set(seq, payload);
    } else {
      // Its sequence number's slot may hold another open ticket; slotOf tells them apart.
      this.held.set(seq, { id, service, serviceNumber, backends, expiresAt, payload });
    }
    this.queueFor(expiresAt - issuedAt).push(seq);
    this.queued++;
    return id;
  }

  /** Releases a ticket's slots once; returns undefined when it was already released or never existed. */
  release(id: string): Ticket | undefined {
    const seq = ticketSeq(id, this.prefix);
    if (seq === undefined) return undefined;
    const slot = this.ring.slotOf(seq);
    if (slot >= 0) return this.ringIdIs(slot, seq, id) ? this.releaseSlot(slot, seq) : undefined;
    const held = this.held.get(seq);
    return held?.id === id ? this.releaseHeld(seq, held) : undefined;
  }

  /**
   * Releases every ticket whose lease has ended (expiresAt <= now); returns them. Costs
   * O(expired + reported) and, when the ring or a queue resizes, O(its slots).
   */
  expire(now: number): Ticket[] {
    this.compactIfMostlyReported();
    const expired: Ticket[] = [];
    let oldestOpen = this.seq;
    for (const [lease, queue] of this.byLease) {
      for (let seq = queue.peek(); seq !== undefined; seq = queue.peek()) {
        const slot = this.ring.slotOf(seq);
        const held = slot < 0 ? this.held.get(seq) : undefined;
        if (slot >= 0 || held) {
          if ((held ? held.expiresAt : this.ring.expiries[slot]!) > now) break;
          expired.push(held ? this.releaseHeld(seq, held) : this.releaseSlot(slot, seq));
        }
        queue.shift();
        this.queued--;
      }
      // The head is now open (the queues are in issue order): the oldest open of this lease.
      if (queue.length === 0) this.byLease.delete(lease);
      else oldestOpen = Math.min(oldestOpen, queue.peek()!);
    }
    this.ring.shrinkIfSparse(this.seq - oldestOpen, this.moveOut);
    return expired;
  }

  /** Slots held by this replica's open tickets for `service`. */
  inFlightOf(service: string): number {
    const number = this.services.numberOf(service);
    return number < 0 ? 0 : this.serviceSlots[number]!;
  }

  /** True while `id` is open here. */
  has(id: string): boolean {
    const seq = ticketSeq(id, this.prefix);
    if (seq === undefined) return false;
    const slot = this.ring.slotOf(seq);
    return slot >= 0 ? this.ringIdIs(slot, seq, id) : this.held.get(seq)?.id === id;
  }

  /** Open tickets. */
  get size(): number {
    return this.ring.size + this.held.size;
  }

  /** Where open tickets are kept: slots of the ring, tickets held as objects, slots of the lease queues. */
  footprint(): { ringSlots: number; heldTickets: number; queueSlots: number } {
    let queueSlots = 0;
    for (const queue of this.byLease.values()) queueSlots += queue.capacity;
    return { ringSlots: this.ring.capacity, heldTickets: this.held.size, queueSlots };
  }

  private queueFor(lease: number): NumberQueue {
    let queue = this.byLease.get(lease);
    if (!queue) {
      queue = new NumberQueue();
      this.byLease.set(lease, queue);
    }
    return queue;
  }

  private backendsAt(slot: number, seq: number): readonly BackendState[] {
    const number = this.ring.backends[slot]!;
    return number < 0 ? this.several.get(seq)! : [this.backendNumbers.valueOf(number)];
  }

  /** The id of the ring ticket in `slot`, compared with `id` without building it. */
  private ringIdIs(slot: number, seq: number, id: string): boolean {
    const service = this.services.valueOf(this.ring.services[slot]!);
    const body = ticketBody(this.replica, seq, service, backendIdsOf(this.backendsAt(slot, seq)));
    return (
      id.startsWith(body) &&
      id.charCodeAt(body.length) === TICKET_SEPARATOR.charCodeAt(0) &&
      this.ring.signatureEnds(slot, id, body.length + 1)
    );
  }

  private releaseSlot(slot: number, seq: number): Ticket {
    const serviceNumber = this.ring.services[slot]!;
    const service = this.services.valueOf(serviceNumber);
    const backends = this.backendsAt(slot, seq);
    const backendNumber = this.ring.backends[slot]!;
    if (backendNumber >= 0) this.backendNumbers.remove(backendNumber);
    else this.several.delete(seq);
    const payload = this.payloads.size > 0 ? this.payloads.get(seq) : undefined;
    if (payload) this.payloads.delete(seq);
    this.ring.free(slot);
    this.settle(serviceNumber, backends);
    return { service, backends, payload };
  }

  private releaseHeld(seq: number, held: HeldTicket): Ticket {
    this.held.delete(seq);
    this.settle(held.serviceNumber, held.backends);
    return { service: held.service, backends: held.backends, payload: held.payload };
  }

  private settle(serviceNumber: number, backends: readonly BackendState[]): void {
    for (const backend of backends) backend.inFlight = Math.max(0, backend.inFlight - 1);
    this.serviceSlots[serviceNumber]! -= backends.length;
    this.services.remove(serviceNumber);
  }

  /** Moves the ring ticket in `slot` to `held`, freeing the slot for a newer ticket. */
  private moveToHeld(slot: number): void {
    const seq = this.ring.seqs[slot]!;
    const serviceNumber = this.ring.services[slot]!;
    const service = this.services.valueOf(serviceNumber);
    const backends = this.backendsAt(slot, seq);
    const body = ticketBody(this.replica, seq, service, backendIdsOf(backends));
    const id = `${body}${TICKET_SEPARATOR}${this.ring.signatureOf(slot)}`;
    const payload = this.payloads.get(seq);
    const expiresAt = this.ring.expiries[slot]!;
    this.held.set(seq, { id, service, serviceNumber, backends, expiresAt, payload });
    const backendNumber = this.ring.backends[slot]!;
    if (backendNumber >= 0) this.backendNumbers.remove(backendNumber);
    else this.several.delete(seq);
    this.payloads.delete(seq);
    this.ring.free(slot);
  }

  /** Drops reported tickets from the queues once they outnumber open ones, so Reports free memory promptly. */
  private compactIfMostlyReported(): void {
    if (this.queued <= 2 * this.size + COMPACT_SLACK) return;
    this.queued = 0;
    for (const [lease, queue] of this.byLease) {
      queue.retain((seq) => this.ring.slotOf(seq) >= 0 || this.held.has(seq));
      if (queue.length === 0) this.byLease.delete(lease);
      this.queued += queue.length;
    }
  }
}

/** The backend part of a ticket id: the ids joined by commas (no array for the usual one backend). */
function backendIdsOf(backends: readonly BackendState[]): string {
  if (backends.length === 1) return backends[0]!.spec.id;
  return backends.map((backend) => backend.spec.id).join(",");
}
