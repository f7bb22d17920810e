/**
 * Randomness as the core sees it: injected so tests assert exact sequences (tower's style).
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /**
   * Random bits in one draw (its float is a multiple of 2^-bits); at least 32, and 32 when
   * absent. Lets a caller split one draw into several indexes when they fit.
   */
  readonly bits?: number;
}

/** Random bits in a draw of a Random that does not say. */
export const MIN_RANDOM_BITS = 32;

/** Math.random, for production: V8 fills the 52 bits of the mantissa (xorshift128+). */
export const systemRandom: Random = { next: () => Math.random(), bits: 52 };

/**
 * A seeded generator (mulberry32, public domain, Tommy Ettinger): fast, 32-bit state, good
 * enough for sampling and tie-breaks; never for anything secret.
 */
export function createSeededRandom(seed: number): Random {
  let state = seed >>> 0;
  return {
    next() {
      state = (state + 0x6d2b79f5) >>> 0;
      let t = state;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random.next() * n);
}
