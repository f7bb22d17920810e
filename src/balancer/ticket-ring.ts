/** Slots of a new ring; it doubles as tickets stay open longer or come faster. */
const INITIAL_SLOTS = 1_024;
/** Characters of a signature kept in a slot (ticket-signer.ts makes 16). */
export const RING_SIGNATURE_CHARS = 16;
const SIGNATURE_WORDS = RING_SIGNATURE_CHARS / 4;

/**
 * The open tickets of a TicketBook as columns of typed arrays, one slot per ticket at
 * `seq % capacity`: a ticket held for its lease is a few numbers, not objects, so the garbage
 * collector has nothing of it to trace or promote. Sequence numbers are issued in order, so
 * a slot comes round again after `capacity` more tickets; when a new ticket lands on a slot
 * whose ticket is still open, the ring doubles if it is at least half full, and otherwise the
 * old ticket is moved out by the caller (a long lease among short ones). It halves again when
 * mostly empty. A 0 in `seqs` marks a free slot: sequence numbers start at 1.
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
   * it, the ring grows if at least half full; if one still holds it, `moveOut(slot)` takes that
   * ticket elsewhere and frees the slot.
   */
  claim(seq: number, moveOut: (slot: number) => void): number {
    if (this.seqs[seq % this.seqs.length] !== 0 && this.size * 2 >= this.seqs.length) this.grow();
    const slot = seq % this.seqs.length;
    if (this.seqs[slot] !== 0) moveOut(slot);
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
   * Halves the ring while at most an eighth of it is used, so a burst of open tickets does not
   * keep its memory. Of the tickets that would share a slot of the smaller ring, all but the
   * newest are taken out by `moveOut` (rare: the ring is sparse).
   */
  shrinkIfSparse(moveOut: (slot: number) => void): void {
    while (this.seqs.length > INITIAL_SLOTS && this.size * 8 <= this.seqs.length) {
      const capacity = this.seqs.length / 2;
      const newest = new Float64Array(capacity);
      for (const seq of this.seqs) if (seq > newest[seq % capacity]!) newest[seq % capacity] = seq;
      for (let slot = 0; slot < this.seqs.length; slot++) {
        const seq = this.seqs[slot]!;
        if (seq !== 0 && newest[seq % capacity] !== seq) moveOut(slot);
      }
      this.rebuild(capacity);
    }
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
