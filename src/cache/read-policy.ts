/**
 * How a read combines the two tiers (behaviour.md C2), after composable L1/L2 read policies:
 *
 * - `sequential` (default): L1; on a miss, L2. An L2 error is a miss, or propagates under
 *   failure mode `error`.
 * - `race`: first hit wins. The L1 answers synchronously, so it always finishes first: on an
 *   L1 hit the L2 read is cancelled before it is sent; on an L1 miss the L2 answer decides,
 *   and an L2 error with that L1 miss is a miss (in every failure mode).
 * - `parallel`: both tiers, waiting for both; the hit with the longer remaining TTL wins,
 *   an entry with no expiry beats any TTL, ties go to L1. An L2 error leaves the L1 answer,
 *   or propagates under failure mode `error`.
 */
import type { L2Error } from "./ports.js";

/** The read policy of one cache instance. */
export type ReadPolicy = "sequential" | "race" | "parallel";

/** The default read policy. */
export const DEFAULT_READ_POLICY: ReadPolicy = "sequential";

/** A value found in one tier, with its times (epoch ms; 0 = never). */
export interface TierHit<V> {
  readonly value: V;
  readonly freshUntil: number;
  readonly expiresAt: number;
  readonly source: "l1" | "l2";
}

/** What an L2 read gave, after retries, suppression and corrupt-record checks. */
export type L2Read<V> =
  | { readonly kind: "hit"; readonly hit: TierHit<V> }
  | { readonly kind: "miss" }
  | { readonly kind: "error"; readonly error: L2Error };

/** Milliseconds `hit` has left at `now`; Infinity when it never expires. */
export function remainingMs(hit: { readonly expiresAt: number }, now: number): number {
  return hit.expiresAt === 0 ? Number.POSITIVE_INFINITY : hit.expiresAt - now;
}

/** The parallel rule: the longer remaining TTL wins, no expiry beats any TTL, ties go to L1. */
export function pickLonger<V>(
  l1: TierHit<V> | undefined,
  l2: TierHit<V> | undefined,
  now: number,
): TierHit<V> | undefined {
  if (l1 === undefined) return l2;
  if (l2 === undefined) return l1;
  return remainingMs(l2, now) > remainingMs(l1, now) ? l2 : l1;
}

/**
 * Applies `policy` to an L1 answer already known (`l1`) and an L2 read started on demand.
 * `propagate` is true under failure mode `error`: an L2 error then throws (except in race).
 */
export async function readTiers<V>(
  policy: ReadPolicy,
  l1: TierHit<V> | undefined,
  readL2: () => Promise<L2Read<V>>,
  propagate: boolean,
  now: () => number,
): Promise<TierHit<V> | undefined> {
  if (l1 !== undefined && policy !== "parallel") return l1;
  const l2 = await readL2();
  if (l2.kind === "error") {
    if (propagate && policy !== "race") throw l2.error;
    return l1;
  }
  const l2Hit = l2.kind === "hit" ? l2.hit : undefined;
  return policy === "parallel" ? pickLonger(l1, l2Hit, now()) : l2Hit;
}
