import { describe, expect, it } from "vitest";
import {
  DEFAULT_NEGATIVE_MAX_FACTS,
  NegativeAvailability,
} from "../../../src/sessions/negative-availability.js";
import { DEFAULT_NEGATIVE_TTL_MS } from "../../../src/sessions/parse-session-policy.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";

describe("P8 negative availability", () => {
  it("P8 a NOT_FOUND fact skips that backend for that key until negative_ttl passes", () => {
    const clock = new ManualClock();
    const table = new NegativeAvailability({ clock });
    table.report("news", "b1", "<a@b>", DEFAULT_NEGATIVE_TTL_MS);
    const skip = table.skipper("news", "<a@b>");
    expect(skip("b1")).toBe(true);
    expect(skip("b2")).toBe(false);
    expect(table.lacks("news", "b1", "<a@b>")).toBe(true);
    clock.advance(DEFAULT_NEGATIVE_TTL_MS - 1);
    expect(skip("b1")).toBe(true);
    clock.advance(1);
    expect(skip("b1")).toBe(false);
    expect(table.size).toBe(0);
  });

  it("P8 facts are per key and per service; other keys and services are untouched", () => {
    const table = new NegativeAvailability({ clock: new ManualClock() });
    table.report("news", "b1", "k1", 1_000);
    expect(table.lacks("news", "b1", "k2")).toBe(false);
    expect(table.lacks("other", "b1", "k1")).toBe(false);
    expect(table.skipper("news", "k2")("b1")).toBe(false);
  });

  it("P8 it is separate from exclude: an empty key skips nothing and a report without a key is ignored", () => {
    const table = new NegativeAvailability({ clock: new ManualClock() });
    table.report("news", "b1", "", 1_000);
    table.report("news", "b1", "k", 0);
    expect(table.size).toBe(0);
    expect(table.skipper("news", "")("b1")).toBe(false);
    expect(table.lacks("news", "b1", "")).toBe(false);
  });

  it("P8 a repeated report extends the fact; forget drops it", () => {
    const clock = new ManualClock();
    const table = new NegativeAvailability({ clock });
    table.report("news", "b1", "k", 1_000);
    clock.advance(900);
    table.report("news", "b1", "k", 1_000);
    clock.advance(900);
    expect(table.lacks("news", "b1", "k")).toBe(true);
    table.forget("news", "b1", "k");
    expect(table.lacks("news", "b1", "k")).toBe(false);
  });

  it("P8 forgetBackend drops one backend's facts, or a whole service's", () => {
    const table = new NegativeAvailability({ clock: new ManualClock() });
    table.report("news", "b1", "k1", 1_000);
    table.report("news", "b1", "k2", 1_000);
    table.report("news", "b2", "k1", 1_000);
    table.report("mail", "b1", "k1", 1_000);
    table.forgetBackend("news", "b1");
    expect(table.lacks("news", "b1", "k1")).toBe(false);
    expect(table.lacks("news", "b2", "k1")).toBe(true);
    table.forgetBackend("news");
    expect(table.lacks("news", "b2", "k1")).toBe(false);
    expect(table.lacks("mail", "b1", "k1")).toBe(true);
  });

  it("P8 the table is bounded, evicting the least recently used fact (a hit makes a fact recent)", () => {
    const table = new NegativeAvailability({ clock: new ManualClock(), maxFacts: 3 });
    table.report("s", "b", "k1", 1_000);
    table.report("s", "b", "k2", 1_000);
    table.report("s", "b", "k3", 1_000);
    expect(table.lacks("s", "b", "k1")).toBe(true);
    table.report("s", "b", "k4", 1_000);
    expect(table.size).toBe(3);
    expect(table.lacks("s", "b", "k2")).toBe(false);
    for (const key of ["k1", "k3", "k4"]) expect(table.lacks("s", "b", key), key).toBe(true);
  });

  it("P8 purgeExpired drops every expired fact on the clock", () => {
    const clock = new ManualClock();
    const table = new NegativeAvailability({ clock });
    for (let i = 0; i < 10; i++) table.report("s", "b", `k${i}`, i < 5 ? 100 : 1_000);
    clock.advance(100);
    expect(table.purgeExpired()).toBe(5);
    expect(table.size).toBe(5);
  });

  it("O3 maxFacts is validated with a message naming the field", () => {
    expect(DEFAULT_NEGATIVE_MAX_FACTS).toBeGreaterThan(0);
    expect(() => new NegativeAvailability({ maxFacts: 0 })).toThrow(/negativeAvailability.maxFacts/);
    expect(() => new NegativeAvailability({ maxFacts: 1.5 })).toThrow(/maxFacts/);
  });
});
