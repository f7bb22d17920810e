/**
 * The QuotaLimiter contract suite (docs/architecture.md: one contract suite per port, run against
 * every implementation): memory in memory-quota-limiter.test.ts, a real single Redis and a
 * real 3-master Redis Cluster in test/integration/quota-limiter.test.ts. Time is always a
 * ManualClock: every implementation takes `now` from its caller.
 */
import { describe, expect, it } from "vitest";
import type { QuotaAlgorithm, QuotaLimitSpec } from "../../../src/model/specs.js";
import {
  type BackendQuotaKey,
  MARKED_DIMENSION,
  type QuotaLimiter,
  type Reservation,
} from "../../../src/quota/quota-limiter.js";
import { earliestRecoveryMs, recoveryMs, remainingRatio } from "../../../src/quota/quota-status.js";
import { ManualClock } from "../../../src/shared/manual-clock.js";

/** What the suite needs from an implementation under test. */
export interface QuotaLimiterHarness {
  readonly limiter: QuotaLimiter;
  /** Keys or entries still stored, and how many of them never expire; omit to skip that test. */
  stored?(): Promise<{ count: number; withoutExpiry: number }>;
  dispose?(): Promise<void>;
}

const START = 1_700_000_040_000; // the start of a 10 s bucket and of a minute

function limit(
  dimension: string,
  value: number,
  algorithm: QuotaAlgorithm = "sliding_window",
): QuotaLimitSpec {
  return { dimension, limit: value, windowMs: 60_000, algorithm, buckets: 6 };
}

const RPM = limit("requests", 3);
const TPM = limit("tokens", 1_000);
const LLM = [RPM, TPM];
/** 1,000 tokens per 3 s in 60 buckets of 50 ms, as a gateway registers a provider key (Q9). */
const PROVIDER_TOKENS: QuotaLimitSpec = {
  dimension: "tokens",
  limit: 1_000,
  windowMs: 3_000,
  algorithm: "sliding_window",
  buckets: 60,
};

let backendSeq = 0;

/** Tokens left on a PROVIDER_TOKENS backend at each of `offsetsMs` after START, moving the clock there. */
async function tokensLeftAt(
  l: QuotaLimiter,
  key: BackendQuotaKey,
  clock: ManualClock,
  offsetsMs: readonly number[],
): Promise<number[]> {
  const left: number[] = [];
  for (const offsetMs of offsetsMs) {
    clock.advance(START + offsetMs - clock.now());
    left.push((await l.remaining(key, [PROVIDER_TOKENS], clock.now())).dimensions.tokens!.remaining);
  }
  return left;
}

/** Registers the contract tests for one implementation, built fresh per test by `factory`. */
export function describeQuotaLimiterContract(
  name: string,
  factory: () => QuotaLimiterHarness | Promise<QuotaLimiterHarness>,
): void {
  const withLimiter =
    (test: (l: QuotaLimiter, clock: ManualClock, h: QuotaLimiterHarness) => Promise<void>) => async () => {
      const h = await factory();
      try {
        await test(h.limiter, new ManualClock(START), h);
      } finally {
        await h.dispose?.();
      }
    };
  // A fresh backend per test keeps tests independent on a shared server.
  const backend = () => ({ service: "llm-api", backendId: `b${++backendSeq}-${process.pid}` });

  describe(`QuotaLimiter contract: ${name}`, () => {
    it(
      "Q1 Q2: sliding window admits up to the limit, recovers bucket by bucket",
      withLimiter(async (l, clock) => {
        const key = backend();
        for (let i = 0; i < 3; i++) {
          expect((await l.reserve(key, [RPM], {}, clock.now())).ok).toBe(true);
          clock.advance(10_000);
        }
        const refused = await l.reserve(key, [RPM], {}, clock.now());
        expect(refused).toMatchObject({
          ok: false,
          reason: "limit",
          dimension: "requests",
          // A unit leaves a whole window after the end of the bucket it was admitted in.
          retryAfterMs: 40_000,
        });
        expect(refused.status.dimensions.requests).toMatchObject({ remaining: 0, usage: 3, limit: 3 });
        clock.advance(39_999);
        expect((await l.remaining(key, [RPM], clock.now())).dimensions.requests!.remaining).toBe(0);
        clock.advance(1);
        expect((await l.remaining(key, [RPM], clock.now())).dimensions.requests!.remaining).toBe(1);
        expect((await l.reserve(key, [RPM], {}, clock.now())).ok).toBe(true);
      }),
    );

    it(
      "Q1 Q2: fixed window gives everything back at the window edge",
      withLimiter(async (l, clock) => {
        const key = backend();
        const spec = limit("requests", 2, "fixed_window");
        clock.advance(30_000);
        await l.reserve(key, [spec], {}, clock.now());
        await l.reserve(key, [spec], {}, clock.now());
        expect(await l.reserve(key, [spec], {}, clock.now())).toMatchObject({
          ok: false,
          retryAfterMs: 30_000,
        });
        clock.advance(30_000);
        expect((await l.remaining(key, [spec], clock.now())).dimensions.requests!.remaining).toBe(2);
      }),
    );

    it(
      "Q1 Q2: token bucket recovers continuously",
      withLimiter(async (l, clock) => {
        const key = backend();
        const spec = limit("tokens", 600, "token_bucket");
        expect((await l.reserve(key, [spec], { tokens: 600 }, clock.now())).ok).toBe(true);
        expect(await l.reserve(key, [spec], { tokens: 10 }, clock.now())).toMatchObject({
          ok: false,
          retryAfterMs: 1_000,
        });
        clock.advance(1_000);
        expect((await l.reserve(key, [spec], { tokens: 10 }, clock.now())).ok).toBe(true);
        clock.advance(30_000);
        expect((await l.remaining(key, [spec], clock.now())).dimensions.tokens!.remaining).toBe(300);
      }),
    );

    it(
      "Q3: reserve is all or nothing across dimensions; requests defaults to 1, others to 0",
      withLimiter(async (l, clock) => {
        const key = backend();
        const refused = await l.reserve(key, LLM, { tokens: 1_001 }, clock.now());
        expect(refused).toMatchObject({ ok: false, reason: "cost_exceeds_limit", dimension: "tokens" });
        expect(refused.ok || refused.retryAfterMs).toBe(Number.POSITIVE_INFINITY);
        const first = await l.reserve(key, LLM, { tokens: 900 }, clock.now());
        expect(first.ok && first.reservation.dimensions.map((d) => d.amount)).toEqual([1, 900]);
        expect(await l.reserve(key, LLM, { tokens: 200 }, clock.now())).toMatchObject({
          ok: false,
          dimension: "tokens",
        });
        const status = await l.remaining(key, LLM, clock.now());
        expect(status.dimensions.requests!.usage).toBe(1); // the refused reserve charged nothing
        const noTokens = await l.reserve(key, LLM, {}, clock.now());
        expect(noTokens.ok && noTokens.reservation.dimensions.map((d) => d.amount)).toEqual([1, 0]);
      }),
    );

    it(
      "Q3: true-up refunds or charges the difference; a dimension absent from usage keeps its reservation",
      withLimiter(async (l, clock) => {
        const key = backend();
        const r = await l.reserve(key, LLM, { tokens: 500 }, clock.now());
        if (!r.ok) throw new Error("expected ok");
        clock.advance(5_000);
        const settled = await l.trueUp(r.reservation, { tokens: 200 }, clock.now());
        expect(settled.status!.dimensions).toMatchObject({ requests: { usage: 1 }, tokens: { usage: 200 } });
        const r2 = await l.reserve(key, LLM, { tokens: 300 }, clock.now());
        if (!r2.ok) throw new Error("expected ok");
        const over = await l.trueUp(r2.reservation, { tokens: 1_100, requests: 1 }, clock.now());
        expect(over.status!.dimensions.tokens).toMatchObject({ usage: 1_300, remaining: 0 });
        expect(remainingRatio(over.status!)).toBe(0);
        expect(await l.remaining(key, LLM, clock.now())).toEqual(over.status);
      }),
    );

    it(
      "Q3: release refunds the whole reservation; a refund after its bucket left the window is moot",
      withLimiter(async (l, clock) => {
        const key = backend();
        const r = await l.reserve(key, LLM, { tokens: 400 }, clock.now());
        if (!r.ok) throw new Error("expected ok");
        const released = await l.release(r.reservation, clock.now());
        expect(released.status!.dimensions).toMatchObject({ requests: { usage: 0 }, tokens: { usage: 0 } });
        const late = await l.reserve(key, LLM, { tokens: 400 }, clock.now());
        if (!late.ok) throw new Error("expected ok");
        clock.advance(60_000);
        await l.reserve(key, LLM, { tokens: 100 }, clock.now());
        const after = await l.release(late.reservation, clock.now());
        expect(after.status!.dimensions.tokens!.usage).toBe(100);
      }),
    );

    it(
      "Q3: settling with nothing to change touches nothing",
      withLimiter(async (l, clock) => {
        const key = backend();
        const r = await l.reserve(key, LLM, { tokens: 10 }, clock.now());
        if (!r.ok) throw new Error("expected ok");
        expect(await l.trueUp(r.reservation, { tokens: 10 }, clock.now())).toEqual({
          status: undefined,
          ignored: [],
        });
      }),
    );

    it(
      "Q4: RATE_LIMITED retry_after marks the backend exhausted until then; a mark never shortens",
      withLimiter(async (l, clock) => {
        const key = backend();
        await l.markExhausted(key, clock.now() + 5_000, clock.now());
        await l.markExhausted(key, clock.now() + 1_000, clock.now());
        const refused = await l.reserve(key, LLM, {}, clock.now());
        expect(refused).toMatchObject({
          ok: false,
          reason: "marked",
          dimension: MARKED_DIMENSION,
          retryAfterMs: 5_000,
        });
        const status = await l.remaining(key, LLM, clock.now());
        expect(status.markedForMs).toBe(5_000);
        expect(remainingRatio(status)).toBe(0);
        expect(status.dimensions.tokens!.remaining).toBe(1_000);
        clock.advance(5_000);
        expect((await l.reserve(key, LLM, {}, clock.now())).ok).toBe(true);
        const unlimited = backend();
        await l.markExhausted(unlimited, clock.now() + 100, clock.now());
        expect(await l.reserve(unlimited, [], {}, clock.now())).toMatchObject({
          ok: false,
          reason: "marked",
        });
      }),
    );

    it(
      "Q4: upstream remaining lowers the local view, never raises it",
      withLimiter(async (l, clock) => {
        const key = backend();
        await l.reserve(key, LLM, { tokens: 100 }, clock.now());
        const lowered = await l.correct(key, LLM, { tokens: 250, requests: 3 }, clock.now());
        expect(lowered.status.dimensions.tokens).toMatchObject({ remaining: 250, usage: 750 });
        expect(lowered.status.dimensions.requests).toMatchObject({ remaining: 2 });
        const kept = await l.correct(key, LLM, { tokens: 900, other: 1 }, clock.now());
        expect(kept.status.dimensions.tokens!.remaining).toBe(250);
        expect(kept.ignored).toEqual(["other"]);
        const bucket = [limit("tokens", 1_000, "token_bucket")];
        const tb = await l.correct(key, bucket, { tokens: 0 }, clock.now());
        expect(tb.status.dimensions.tokens).toMatchObject({ remaining: 0, usage: 1_000 });
      }),
    );

    it(
      "Q9: an upstream remaining that matches what is held changes nothing; units leave when the upstream frees them",
      withLimiter(async (l, clock) => {
        const key = backend();
        const reserved = await l.reserve(key, [PROVIDER_TOKENS], { tokens: 600 }, clock.now());
        if (!reserved.ok) throw new Error("the first reserve must fit");
        clock.advance(40);
        await l.trueUp(reserved.reservation, { tokens: 600 }, clock.now());
        clock.advance(2_760); // t = 2.8 s: the provider still holds the 600
        const seen = await l.correct(key, [PROVIDER_TOKENS], { tokens: 400 }, clock.now());
        expect(seen.status.dimensions.tokens).toMatchObject({ remaining: 400, usage: 600 });
        // The provider frees them at 3.0 s; Fulcrum at most one bucket later, not a window after 2.8 s.
        clock.advance(249); // t = 3.049 s
        expect((await l.remaining(key, [PROVIDER_TOKENS], clock.now())).dimensions.tokens!.remaining).toBe(
          400,
        );
        clock.advance(1); // t = 3.05 s
        expect((await l.remaining(key, [PROVIDER_TOKENS], clock.now())).dimensions.tokens!.remaining).toBe(
          1_000,
        );
      }),
    );

    it(
      "Q9: usage above a reservation counts from when the call was admitted, not from the report",
      withLimiter(async (l, clock) => {
        const key = backend();
        const reserved = await l.reserve(key, [PROVIDER_TOKENS], { tokens: 100 }, clock.now());
        if (!reserved.ok) throw new Error("the first reserve must fit");
        clock.advance(2_000); // a long call: the report comes 2 s later with 700 used
        const settled = await l.trueUp(reserved.reservation, { tokens: 700 }, clock.now());
        expect(settled.status!.dimensions.tokens).toMatchObject({ usage: 700, remaining: 300 });
        clock.advance(1_050); // t = 3.05 s: a window after the admission's bucket ended
        expect((await l.remaining(key, [PROVIDER_TOKENS], clock.now())).dimensions.tokens!.remaining).toBe(
          1_000,
        );
      }),
    );

    it(
      "Q9: a reservation counts from when the upstream may count the call; its true-up comes off the same bucket",
      withLimiter(async (l, clock) => {
        const key = backend();
        clock.advance(40); // 10 ms before the end of a 50 ms bucket
        const options = { upstreamLagMs: 20 };
        const lagged = await l.reserve(key, [PROVIDER_TOKENS], { tokens: 300 }, clock.now(), options);
        if (!lagged.ok) throw new Error("the first reserve must fit");
        const plain = await l.reserve(key, [PROVIDER_TOKENS], { tokens: 100 }, clock.now());
        if (!plain.ok) throw new Error("the second reserve must fit");
        clock.advance(30); // t = 70 ms: the call came back using 200 of its 300
        const settled = await l.trueUp(lagged.reservation, { tokens: 200 }, clock.now());
        expect(settled.status!.dimensions.tokens).toMatchObject({ usage: 300, remaining: 700 });
        // Without the lag, 40 ms's units leave at 3.05 s; the upstream may have counted them
        // as late as 60 ms, so they stay until a window after that bucket ends, 3.1 s.
        expect(await tokensLeftAt(l, key, clock, [3_050, 3_099, 3_100])).toEqual([800, 800, 1_000]);
      }),
    );

    it(
      "Q9: usage held from an upstream's remaining leaves after its hold, not a window after",
      withLimiter(async (l, clock) => {
        const key = backend();
        const reserved = await l.reserve(key, [PROVIDER_TOKENS], { tokens: 100 }, clock.now());
        if (!reserved.ok) throw new Error("the first reserve must fit");
        clock.advance(40);
        const held = { units: { tokens: 300, images: 5 }, holdMs: 250 };
        const settled = await l.trueUp(reserved.reservation, { tokens: 100 }, clock.now(), held);
        expect(settled.status!.dimensions.tokens).toMatchObject({ usage: 400, remaining: 600 });
        // Held from 40 ms for 250 ms: it leaves with the bucket that ends the window at 300 ms;
        // the call's own units stay until a window after its admission's bucket, 3.05 s.
        const left = await tokensLeftAt(l, key, clock, [299, 300, 3_049, 3_050]);
        expect(left).toEqual([600, 900, 900, 1_000]);
      }),
    );

    it(
      "Q9: a hold never outlasts a charge made at the same time, and a token bucket drains it as usual",
      withLimiter(async (l, clock) => {
        const key = backend();
        const bucket = limit("tokens", 600, "token_bucket");
        const limits = [PROVIDER_TOKENS, { ...bucket, dimension: "bucketed" }];
        const reserved = await l.reserve(key, limits, { tokens: 10 }, clock.now());
        if (!reserved.ok) throw new Error("the first reserve must fit");
        const held = { units: { tokens: 200, bucketed: 60 }, holdMs: 60_000 };
        const settled = await l.trueUp(reserved.reservation, { tokens: 10 }, clock.now(), held);
        expect(settled.status!.dimensions).toMatchObject({ tokens: { usage: 210 }, bucketed: { usage: 60 } });
        clock.advance(3_049);
        expect((await l.remaining(key, limits, clock.now())).dimensions.tokens!.usage).toBe(210);
        clock.advance(1); // t = 3.05 s: the window after the bucket the charge went into
        const later = await l.remaining(key, limits, clock.now());
        expect(later.dimensions.tokens!.usage).toBe(0);
        // The token bucket drains the 60 at 600 per minute like any charge: 30.5 gone after 3.05 s.
        expect(later.dimensions.bucketed!.usage).toBe(29.5);
      }),
    );

    it(
      "Q5 S8: remaining ratio is the min over dimensions; recovery is when the filter passes again",
      withLimiter(async (l, clock) => {
        const key = backend();
        await l.reserve(key, LLM, { tokens: 500 }, clock.now());
        const status = await l.remaining(key, LLM, clock.now());
        expect(remainingRatio(status)).toBeCloseTo(0.5);
        expect(recoveryMs(status, 0.6)).toBe(70_000);
        expect(recoveryMs(status, 0.5)).toBe(0);
        const other = backend();
        clock.advance(20_000);
        await l.reserve(other, LLM, { tokens: 1_000 }, clock.now());
        const otherStatus = await l.remaining(other, LLM, clock.now());
        expect(earliestRecoveryMs([status, otherStatus], clock.now(), 0.6)).toBe(50_000);
      }),
    );

    it(
      "Q7: shadow mode takes the cost regardless and says what enforcement would have done; check changes nothing",
      withLimiter(async (l, clock) => {
        const key = backend();
        for (let i = 0; i < 3; i++) await l.reserve(key, [RPM], {}, clock.now());
        const checked = await l.check(key, [RPM], {}, clock.now());
        expect(checked).toMatchObject({ ok: false, reason: "limit", retryAfterMs: 70_000 });
        const shadow = await l.reserve(key, [RPM], {}, clock.now(), { mode: "shadow" });
        expect(shadow.ok).toBe(true);
        expect(shadow.ok && shadow.shadowDenial).toMatchObject({ reason: "limit", dimension: "requests" });
        expect(shadow.status.dimensions.requests!.usage).toBe(4);
        const fresh = backend();
        const fine = await l.reserve(fresh, [RPM], {}, clock.now(), { mode: "shadow" });
        expect(fine.ok && fine.shadowDenial).toBeUndefined();
        expect((await l.check(fresh, [RPM], {}, clock.now())).ok).toBe(true);
        expect((await l.remaining(fresh, [RPM], clock.now())).dimensions.requests!.usage).toBe(1);
      }),
    );

    it(
      "Q8: cost and usage dimensions without a limit are ignored and listed",
      withLimiter(async (l, clock) => {
        const key = backend();
        const r = await l.reserve(key, [RPM], { requests: 1, tokens: 50, images: 2 }, clock.now());
        expect(r.ignored).toEqual(["tokens", "images"]);
        if (!r.ok) throw new Error("expected ok");
        const settled = await l.trueUp(r.reservation, { requests: 1, tokens: 70 }, clock.now());
        expect(settled.ignored).toEqual(["tokens"]);
        expect((await l.reserve(backend(), [], { tokens: 5 }, clock.now())).ok).toBe(true);
      }),
    );

    it(
      "Q1: a changed window starts the dimension afresh; a changed limit keeps the usage",
      withLimiter(async (l, clock) => {
        const key = backend();
        await l.reserve(key, [TPM], { tokens: 800 }, clock.now());
        const raised = { ...TPM, limit: 2_000 };
        expect((await l.remaining(key, [raised], clock.now())).dimensions.tokens!.remaining).toBe(1_200);
        const rewindowed = { ...TPM, windowMs: 30_000 };
        expect((await l.remaining(key, [rewindowed], clock.now())).dimensions.tokens!.remaining).toBe(1_000);
      }),
    );

    it(
      "Q10: a cost that fits by itself is refused while its margin has no room; only the cost is charged",
      withLimiter(async (l, clock) => {
        const key = backend();
        const limits = [RPM, PROVIDER_TOKENS];
        expect((await l.reserve(key, limits, { tokens: 800 }, clock.now())).ok).toBe(true);
        clock.advance(100);
        // 150 tokens fit the 200 left, 225 do not: room comes back when the 800 leave, at 3.05 s.
        const margin = { tokens: 1.5, requests: 0.5 };
        const refused = await l.reserve(key, limits, { tokens: 150 }, clock.now(), { margin });
        expect(refused).toMatchObject({
          ok: false,
          reason: "limit",
          dimension: "tokens",
          retryAfterMs: 2_950,
        });
        expect(refused.status.dimensions.tokens).toMatchObject({ usage: 800, remaining: 200 });
        const fits = await l.reserve(key, limits, { tokens: 150 }, clock.now(), { margin: { tokens: 1.3 } });
        expect(fits.ok).toBe(true);
        expect(fits.status.dimensions.tokens).toMatchObject({ usage: 950, remaining: 50 });
        // A margin never asks for more than the limit: 40 tokens x 100 need an empty window.
        clock.advance(2_950);
        const huge = { margin: { tokens: 100 } };
        const waits = await l.reserve(key, limits, { tokens: 40 }, clock.now(), huge);
        expect(waits).toMatchObject({ ok: false, reason: "limit", dimension: "tokens", retryAfterMs: 100 });
        const shadow = await l.reserve(key, limits, { tokens: 40 }, clock.now(), { ...huge, mode: "shadow" });
        expect(shadow).toMatchObject({ ok: true, shadowDenial: { reason: "limit", retryAfterMs: 100 } });
        if (!shadow.ok) throw new Error("shadow always takes the cost");
        expect(shadow.status.dimensions.tokens).toMatchObject({ usage: 190 });
        await l.release(shadow.reservation, clock.now());
        clock.advance(100);
        const empty = await l.reserve(key, limits, { tokens: 40 }, clock.now(), huge);
        expect(empty.ok).toBe(true);
        expect(empty.status.dimensions.tokens).toMatchObject({ usage: 40 });
      }),
    );

    it(
      "Q3: a reservation settles against the limits it was made under, and is plain JSON",
      withLimiter(async (l, clock) => {
        const key = backend();
        const r = await l.reserve(key, LLM, { tokens: 600 }, clock.now());
        if (!r.ok) throw new Error("expected ok");
        const copy = JSON.parse(JSON.stringify(r.reservation)) as Reservation;
        const settled = await l.trueUp(copy, { tokens: 100 }, clock.now());
        expect(settled.status!.dimensions.tokens!.usage).toBe(100);
      }),
    );

    it(
      "O2: nothing is left behind without an expiry",
      withLimiter(async (l, clock, h) => {
        if (!h.stored) return;
        const key = backend();
        const bucket = limit("tokens", 100, "token_bucket");
        await l.reserve(key, [RPM, bucket], { tokens: 5 }, clock.now());
        await l.markExhausted(key, clock.now() + 1_000, clock.now());
        const stored = await h.stored();
        expect(stored.count).toBeGreaterThan(0);
        expect(stored.withoutExpiry).toBe(0);
      }),
    );
  });
}
