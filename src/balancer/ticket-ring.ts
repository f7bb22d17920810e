/** Slots of a new ring, and the fewest it shrinks to. */
const INITIAL_SLOTS = 1_024;
/**
 * A ring with fewer slots than this per open ticket doubles when a new ticket lands on an
 * open one. Tickets that are reported at once leave the open ones spread over many more
 * sequence numbers than there are of them (with 90% reported and 10% left to their lease,
 * ten per open ticket), and the ring must span them all or they collide.
 */
const GROW_BELOW_SLOTS_PER_TICKET = 16;
/** A ring with more slots than this per open ticket halves (twice the growth bound: hysteresis). */
const SHRINK_ABOVE_SLOTS_PER_TICKET = 2 * GROW_BELOW_SLOTS_PER_TICKET;
/** Characters of a signature kept in a slot (ticket-signer.ts makes 16). */
export const RING_SIGNATURE_CHARS = 16;
const SIGNATURE_WORDS = RING_SIGNATURE_CHARS / 4;

/**
 * The open tickets of a TicketBook as columns of typed arrays, one slot per ticket at
 * `seq % capacity`: a ticket held for its lease is a few numbers, not objects, so the garbage
 * collector has nothing of it to trace or promote. Sequence numbers are issued in order, so
 * a slot comes round again after `capacity` more tickets. When a new ticket lands on a slot
 * whose ticket is still open, the ring doubles while it has fewer than
 * GROW_BELOW_SLOTS_PER_TICKET slots per open ticket, so it comes to span the sequence numbers
 * of its open tickets; past that the old ticket is moved out by the caller (a long lease
 * among short ones stretches the span without bound). It halves when the open tickets' span
 * fits a quarter of it, or when it has more than SHRINK_ABOVE_SLOTS_PER_TICKET slots per open
 * ticket: a burst does not keep its memory, and after each expiry sweep the ring has at most
 * that many slots (40 bytes each) per open ticket, or its first INITIAL_SLOTS. A 0 in `seqs`
 * marks a free slot: sequence numbers start at 1.
 */
export class TicketRing {
  seqs = new Float64Array(INITIAL_SLOTS);
  expiries = new Float64Array(INITIAL_SLOTS);
  /** The service's number (CountedIndex). */
  services = new Int32Array(INITIAL_SLOTS);
  /** The one backend's number (CountedIndex); -1 when the ticket has another count of backends. */
  backends = new Int32Array(INITIAL_SLOTS);
  /** The signature's character codes, RING_SIGNATURE_CHARS per slot. */
  signatures = new Uint8Array(INITIAL_SLOTS * RING_SIGNATURE_CHARS);
  /** Tickets held in the ring. */
  size = 0;

  /** The slot holding `seq`; -1 when it is not in the ring. */
  slotOf(seq: number): number {
    const slot = seq % this.seqs.length;
    return this.seqs[slot] === seq ? slot : -1;
  }

  /**
   * Claims the slot of `seq` (newer than every ticket in the ring). While an open ticket holds
   * it, the ring doubles if it has fewer than GROW_BELOW_SLOTS_PER_TICKET slots per open ticket;
   * if one still holds it, `moveOut(slot)` takes that ticket elsewhere and frees the slot.
   */
  claim(seq: number, moveOut: (slot: number) => void): number {
    while (
      this.seqs[seq % this.seqs.length] !== 0 &&
      this.seqs.length < GROW_BELOW_SLOTS_PER_TICKET * this.size
    )
      this.grow();
    const slot = seq % this.seqs.length;
    if (this.seqs[slot] !== 0) moveOut(slot);
    this.seqs[slot] = seq;
    this.size++;
    return slot;
  }

  /** Frees a slot. */
  free(slot: number): void {
    this.seqs[slot] = 0;
    this.size--;
  }

  /** True when `signature` can be kept in a slot: RING_SIGNATURE_CHARS one-byte characters. */
  static fits(signature: string): boolean {
    if (signature.length !== RING_SIGNATURE_CHARS) return false;
    for (let i = 0; i < RING_SIGNATURE_CHARS; i++) if (signature.charCodeAt(i) > 0xff) return false;
    return true;
  }

  writeSignature(slot: number, signature: string): void {
    const at = slot * RING_SIGNATURE_CHARS;
    for (let i = 0; i < RING_SIGNATURE_CHARS; i++) this.signatures[at + i] = signature.charCodeAt(i);
  }

  /** True when `text` holds the slot's signature from `offset` to its end. */
  signatureEnds(slot: number, text: string, offset: number): boolean {
    if (text.length - offset !== RING_SIGNATURE_CHARS) return false;
    const at = slot * RING_SIGNATURE_CHARS;
    for (let i = 0; i < RING_SIGNATURE_CHARS; i++)
      if (text.charCodeAt(offset + i) !== this.signatures[at + i]) return false;
    return true;
  }

  signatureOf(slot: number): string {
    const at = slot * RING_SIGNATURE_CHARS;
    return String.fromCharCode(...this.signatures.subarray(at, at + RING_SIGNATURE_CHARS));
  }

  /**
   * Halves the ring while the open tickets' sequence numbers (`span`: the newest issued less
   * the oldest open, in the ring or not) fit a quarter of it, or while it has more than
   * SHRINK_ABOVE_SLOTS_PER_TICKET slots per open ticket. In the first case no two tickets
   * share a slot of the smaller ring; in the second, of those that would, all but the newest
   * are taken out by `moveOut`.
   */
  shrinkIfSparse(span: number, moveOut: (slot: number) => void): void {
    let capacity = this.seqs.length;
    while (
      capacity > INITIAL_SLOTS &&
      (span * 4 <= capacity || capacity > SHRINK_ABOVE_SLOTS_PER_TICKET * this.size)
    )
      capacity /= 2;
    if (capacity === this.seqs.length) return;
    const newest = new Float64Array(capacity);
    for (const seq of this.seqs) if (seq > newest[seq % capacity]!) newest[seq % capacity] = seq;
    for (let slot = 0; slot < this.seqs.length; slot++) {
      const seq = this.seqs[slot]!;
      if (seq !== 0 && newest[seq % capacity] !== seq) moveOut(slot);
    }
    this.rebuild(capacity);
  }

  /** Slots of the ring (each 40 bytes). */
  get capacity(): number {
    return this.seqs.length;
  }

  /** Doubles the ring: sequence numbers in distinct slots (seq % capacity) stay distinct at twice the capacity. */
  private grow(): void {
    this.rebuild(this.seqs.length * 2);
  }

  /** Moves every ticket to a ring of `capacity` slots, where no two share a slot. */
  private rebuild(capacity: number): void {
    const { seqs, expiries, services, backends, signatures } = this;
    this.seqs = new Float64Array(capacity);
    this.expiries = new Float64Array(capacity);
    this.services = new Int32Array(capacity);
    this.backends = new Int32Array(capacity);
    this.signatures = new Uint8Array(capacity * RING_SIGNATURE_CHARS);
    // A slot's signature bytes copied as whole words.
    const wordsFrom = new Uint32Array(signatures.buffer);
    const wordsTo = new Uint32Array(this.signatures.buffer);
    for (let from = 0; from < seqs.length; from++) {
      const seq = seqs[from]!;
      if (seq === 0) continue;
      const to = seq % capacity;
      this.seqs[to] = seq;
      this.expiries[to] = expiries[from]!;
      this.services[to] = services[from]!;
      this.backends[to] = backends[from]!;
      for (let i = 0; i < SIGNATURE_WORDS; i++)
        wordsTo[to * SIGNATURE_WORDS + i] = wordsFrom[from * SIGNATURE_WORDS + i]!;
    }
  }
}
