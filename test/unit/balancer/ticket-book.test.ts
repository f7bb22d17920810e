import { describe, expect, it } from "vitest";
import { createTicketSigner, fixedTicketSecret } from "../../../src/app/ticket-signer.js";
import { TicketBook } from "../../../src/balancer/ticket-book.js";
import type { TicketSigner } from "../../../src/balancer/ticket-id.js";
import { backend } from "./fixtures.js";

const hmac = () => createTicketSigner(fixedTicketSecret("ticket-book-test-secret-0123456789"));

/** More tickets than a new ring holds (ticket-ring.ts starts at 1,024 slots). */
const MANY = 5_000;

describe("ticket book", () => {
  it("S12 an id with the replica and sequence number of an open ticket but another body or signature releases nothing", () => {
    const a = backend("a");
    const b = backend("b");
    const book = new TicketBook("r1", hmac());
    const id = book.issue("s", [a], 1_000);
    const [replica, seq, , , signature] = id.split("~") as [string, string, string, string, string];
    const forged = [
      `${replica}~${seq}~other~a~${signature}`,
      `${replica}~${seq}~s~b~${signature}`,
      `${replica}~${seq}~s~a~${signature.slice(1)}x`,
      `${replica}~${seq}~s~a~${signature}x`,
      `${replica}~0${seq}~s~a~${signature}`,
      `${replica}~${seq.toUpperCase()}1~s~a~${signature}`,
      `r2~${seq}~s~a~${signature}`,
    ];
    for (const other of forged) {
      expect(book.has(other)).toBe(false);
      expect(book.release(other)).toBeUndefined();
    }
    expect([a.inFlight, b.inFlight, book.size]).toEqual([1, 0, 1]);
    expect(book.has(id)).toBe(true);
    expect(book.release(id)).toEqual({ service: "s", backends: [a], payload: undefined });
    expect(book.release(id)).toBeUndefined();
    expect([a.inFlight, book.size, book.inFlightOf("s")]).toEqual([0, 0, 0]);
  });

  it("S12 thousands of open tickets stay releasable by id and expire at their lease", () => {
    const a = backend("a");
    const b = backend("b");
    const book = new TicketBook("r1", hmac());
    const ids = Array.from({ length: MANY }, (_, i) => book.issue("s", i % 2 ? [a] : [b], 1_000 + i));
    expect([book.size, book.inFlightOf("s"), a.inFlight + b.inFlight]).toEqual([MANY, MANY, MANY]);
    for (const id of ids.slice(0, 10)) expect(book.release(id)).toBeDefined();
    expect(book.expire(1_000 + MANY / 2 - 1)).toHaveLength(MANY / 2 - 10);
    expect(book.has(ids[MANY / 2]!)).toBe(true);
    expect(book.expire(1_000 + MANY)).toHaveLength(MANY / 2);
    expect([book.size, book.inFlightOf("s"), a.inFlight, b.inFlight]).toEqual([0, 0, 0, 0]);
  });

  it("S12 a long lease among many short reported ones keeps its ticket, backends and payload", () => {
    const a = backend("a");
    const b = backend("b");
    const book = new TicketBook("r1", hmac());
    const payload = { reservations: ["q"], probe: true };
    const long = book.issue("slow", [a, b], 3_600_000, payload, 0);
    const single = book.issue("slow", [b], 3_600_000, { probe: true }, 0);
    for (let i = 0; i < MANY; i++)
      expect(book.release(book.issue("fast", [a], 1_000 + i, undefined, i))).toBeDefined();
    expect(book.expire(10_000)).toEqual([]);
    expect([book.size, book.inFlightOf("slow"), book.inFlightOf("fast")]).toEqual([2, 3, 0]);
    expect(book.release(long)).toEqual({ service: "slow", backends: [a, b], payload });
    expect(book.expire(3_600_000)).toEqual([{ service: "slow", backends: [b], payload: { probe: true } }]);
    expect(book.release(single)).toBeUndefined();
    expect([a.inFlight, b.inFlight, book.size]).toEqual([0, 0, 0]);
  });

  it("S12 long leases left open after a burst expires stay releasable, and new tickets still land", () => {
    const a = backend("a");
    const b = backend("b");
    const book = new TicketBook("r1", hmac());
    const long: string[] = [];
    for (let i = 0; i < MANY; i++) {
      if (i % 64 === 0) long.push(book.issue("s", [b], 3_600_000, { probe: true }, 0));
      else book.issue("s", [a], 1_000, undefined, 0);
    }
    expect(book.expire(1_000)).toHaveLength(MANY - long.length);
    const later = Array.from({ length: MANY }, () => book.issue("s", [a], 2_000, undefined, 1_000));
    for (const id of [...long, ...later]) expect(book.has(id)).toBe(true);
    for (const id of long)
      expect(book.release(id)).toEqual({ service: "s", backends: [b], payload: { probe: true } });
    for (const id of later) expect(book.release(id)?.backends).toEqual([a]);
    expect([a.inFlight, b.inFlight, book.size, book.inFlightOf("s")]).toEqual([0, 0, 0, 0]);
  });

  it("S12 leases of different lengths each expire at their own time", () => {
    const a = backend("a");
    const book = new TicketBook("r1", hmac());
    book.issue("s", [a], 5_000, undefined, 0);
    book.issue("s", [a], 2_000, undefined, 1_000);
    book.issue("s", [a], 4_000, undefined, 3_000);
    expect(book.expire(1_999)).toHaveLength(0);
    expect(book.expire(2_000)).toHaveLength(1);
    expect(book.expire(4_000)).toHaveLength(1);
    expect(book.expire(5_000)).toHaveLength(1);
    expect([a.inFlight, book.size]).toEqual([0, 0]);
  });

  it("S12 tickets of a signer whose signatures the ring cannot hold work the same", () => {
    const short: TicketSigner = { sign: (body) => `sig${body.length}`, verify: () => true };
    const a = backend("a");
    const book = new TicketBook("r1", short);
    const ids = Array.from({ length: MANY }, (_, i) => book.issue("s", [a], i + 1));
    expect(book.release(ids[0]!)).toEqual({ service: "s", backends: [a], payload: undefined });
    expect(book.release(`${ids[1]!}x`)).toBeUndefined();
    expect(book.expire(MANY)).toHaveLength(MANY - 1);
    expect([a.inFlight, book.size, book.inFlightOf("s")]).toEqual([0, 0, 0]);
  });

  it("S12 tickets with no backend hold their service: releasing one leaves the other open", () => {
    const a = backend("a");
    const book = new TicketBook("r1", hmac());
    const first = book.issue("s", [], 1_000);
    const second = book.issue("s", [], 1_000);
    expect(book.release(first)).toEqual({ service: "s", backends: [], payload: undefined });
    const other = book.issue("t", [a], 1_000);
    expect(book.has(second)).toBe(true);
    expect(book.release(second)).toEqual({ service: "s", backends: [], payload: undefined });
    expect([book.inFlightOf("s"), book.inFlightOf("t")]).toEqual([0, 1]);
    expect(book.release(other)).toEqual({ service: "t", backends: [a], payload: undefined });
    expect([a.inFlight, book.size, book.inFlightOf("t")]).toEqual([0, 0, 0]);
  });

  it("S12 with 90% of tickets reported at once and 10% left to their lease the open ones stay in the ring; a burst's ring shrinks once it expires", () => {
    const a = backend("a");
    const book = new TicketBook("r1", hmac());
    const lease = 10_000;
    let now = 0;
    /** One ticket per ms, nine in ten reported at once, expiry swept every second. */
    const mixed = (ms: number) => {
      for (let i = 0; i < ms; i++) {
        now++;
        const id = book.issue("s", [a], now + lease, undefined, now);
        if (now % 10 !== 0) book.release(id);
        if (now % 1_000 === 0) book.expire(now);
      }
    };
    /** Open tickets are about a lease's worth of the unreported tenth, spread over ten times as many sequence numbers. */
    const expectMostlyInRing = () => {
      const { heldTickets, ringSlots } = book.footprint();
      expect(book.size).toBeGreaterThanOrEqual(lease / 10);
      expect(heldTickets).toBeLessThanOrEqual(book.size / 100);
      expect(ringSlots).toBeLessThanOrEqual(32 * book.size);
    };
    mixed(3 * lease);
    expectMostlyInRing();

    const burst = 100_000;
    for (let i = 0; i < burst; i++) book.issue("s", [a], now + lease, undefined, now);
    book.expire(now);
    expect(book.footprint().ringSlots).toBeLessThanOrEqual(4 * book.size);

    mixed(2 * lease);
    expectMostlyInRing();
    expect(book.footprint().ringSlots).toBeLessThan(burst / 2);
    const open = book.size;
    expect(book.expire(now + lease)).toHaveLength(open);
    expect([a.inFlight, book.size, book.inFlightOf("s")]).toEqual([0, 0, 0]);
  });

  it("S12 a ticket whose signature the ring cannot hold leaves the ring's tickets in place", () => {
    const real = hmac();
    let signed = 0;
    const sometimesShort: TicketSigner = {
      sign: (body) => (++signed > 1_024 ? "short" : real.sign(body)),
      verify: () => true,
    };
    const a = backend("a");
    const book = new TicketBook("r1", sometimesShort);
    const ids = Array.from({ length: 1_025 }, () => book.issue("s", [a], 1_000));
    expect(book.footprint().heldTickets).toBe(1);
    for (const id of ids) expect(book.has(id)).toBe(true);
  });

  it("S12 a lease queue compacted after a burst of reported tickets gives back its room", () => {
    const a = backend("a");
    const book = new TicketBook("r1", hmac());
    const kept = book.issue("s", [a], 3_600_000, undefined, 0);
    for (let i = 0; i < 100_000; i++) book.release(book.issue("s", [a], 3_600_000, undefined, 0));
    expect(book.footprint().queueSlots).toBeGreaterThan(100_000);
    expect(book.expire(1)).toEqual([]);
    expect(book.has(kept)).toBe(true);
    expect(book.footprint().queueSlots).toBeLessThanOrEqual(64);
  });
});
