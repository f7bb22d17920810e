/**
 * Integer weights for the round-robin schedules (smooth and interleaved WRR), which need whole
 * numbers. Registered weights are integers and pass through, divided by their gcd (the
 * schedule is the same, the cycle shorter); fractional weights (slow start) are scaled by
 * WEIGHT_RESOLUTION and rounded, never below 1.
 */

/** Steps per unit of weight when effective weights are fractional. */
export const WEIGHT_RESOLUTION = 100;
/** Products of cycle length and largest weight stay below this, so the schedules' arithmetic is exact. */
const MAX_EXACT_PRODUCT = 2 ** 50;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Whole-number weights (>= 1) proportional to `weights`, reduced by their gcd. */
export function integerWeights(weights: readonly number[]): number[] {
  let scaled = weights.map((w) => Math.max(1, Math.round(w)));
  if (!weights.every(Number.isInteger)) {
    const total = weights.reduce((sum, w) => sum + w, 0);
    const max = Math.max(...weights);
    const resolution = total * max * WEIGHT_RESOLUTION ** 2 < MAX_EXACT_PRODUCT ? WEIGHT_RESOLUTION : 1;
    scaled = weights.map((w) => Math.max(1, Math.round(w * resolution)));
  }
  const divisor = scaled.reduce(gcd, 0) || 1;
  return scaled.map((w) => w / divisor);
}
