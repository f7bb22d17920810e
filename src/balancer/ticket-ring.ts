/** Slots of a new ring; it doubles as tickets stay open longer or come faster. */
const INITIAL_SLOTS = 1_024;
/** Characters of a signature kept in a slot (ticket-signer.ts makes 16). */
export const RING_SIGNATURE_CHARS = 16;

/**
 * The open tickets of a TicketBook as columns of typed arrays, one slot per ticket at
 * `seq % capacity`: a ticket held for its lease is a few numbers, not objects, so the garbage
 * collector has nothing of it to trace or promote. Sequence numbers are issued in order, so
 * the tickets in the ring are the last `capacity` issued; when a new ticket lands on a slot
 * whose ticket is still open, the ring doubles if it is at least half full, and otherwise the
 * old ticket is moved out by the caller (a long lease among short ones). Slot 0 of `seqs`
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
   * Claims the slot of `seq` (newer than every ticket in the ring). When an open ticket holds
   * it, the ring grows if at least half full; otherwise `moveOut(slot)` takes that ticket elsewhere
   * and frees the slot.
   */
  claim(seq: number, moveOut: (slot: number) => void): number {
    let slot = seq % this.seqs.length;
    if (this.seqs[slot] !== 0) {
      if (this.size * 2 >= this.seqs.length) {
        this.grow();
        slot = seq % this.seqs.length;
      } else moveOut(slot);
    }
    this.seqs[slot] = seq;
    this.size++;
    return slot;
  }

  /** Frees the slot of `seq` for a ticket kept elsewhere: `moveOut(slot)` takes the open ticket holding it. */
  vacate(seq: number, moveOut: (slot: number) => void): void {
    const slot = seq % this.seqs.length;
    if (this.seqs[slot] !== 0) moveOut(slot);
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
   * Doubles the ring. The tickets in it are among the last `capacity` issued, so at the new
   * capacity their slots (seq % capacity) are still distinct.
   */
  private grow(): void {
    const { seqs, expiries, services, backends, signatures } = this;
    const capacity = seqs.length * 2;
    this.seqs = new Float64Array(capacity);
    this.expiries = new Float64Array(capacity);
    this.services = new Int32Array(capacity);
    this.backends = new Int32Array(capacity);
    this.signatures = new Uint8Array(capacity * RING_SIGNATURE_CHARS);
    for (let from = 0; from < seqs.length; from++) {
      const seq = seqs[from]!;
      if (seq === 0) continue;
      const to = seq % capacity;
      this.seqs[to] = seq;
      this.expiries[to] = expiries[from]!;
      this.services[to] = services[from]!;
      this.backends[to] = backends[from]!;
      for (let i = 0; i < RING_SIGNATURE_CHARS; i++)
        this.signatures[to * RING_SIGNATURE_CHARS + i] = signatures[from * RING_SIGNATURE_CHARS + i]!;
    }
  }
}
