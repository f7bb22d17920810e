/**
 * The load heap alone against a sort (S5): pools larger than any one sift's reach (up to 300
 * slots, so several levels of four children), random key changes with many ties, NaN and
 * Infinity, deletes, and random filters; after every step the heap's answers must be the
 * sort's. The least_load property tests check the picker; this one reaches the heap's deep
 * levels, where a sift that skipped a child would go unseen with small pools.
 */
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { LoadHeap } from "../../../src/balancer/load/load-heap.js";
import { createSeededRandom } from "../../../src/shared/random.js";

type Step = { kind: "set"; slot: number; key: number } | { kind: "delete"; slot: number };

const key = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }) },
  { weight: 2, arbitrary: fc.double({ min: 0, max: 100, noNaN: true }) },
  { weight: 1, arbitrary: fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY) },
);

/** (key, slot) order with NaN keys after every number, as the heap ranks them. */
function compare(a: [number, number], b: [number, number]): number {
  const nanA = Number.isNaN(a[1]);
  const nanB = Number.isNaN(b[1]);
  if (nanA !== nanB) return nanA ? 1 : -1;
  if (!nanA && a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[0] - b[0];
}

function expectSameAsSort(heap: LoadHeap, present: Map<number, number>, seed: number): void {
  const sorted = [...present.entries()].sort(compare);
  expect(heap.size).toBe(present.size);
  expect(heap.peek()).toBe(sorted[0]?.[0] ?? -1);
  for (const [slot, k] of present) expect(Object.is(heap.keyOf(slot), k)).toBe(true);
  const random = createSeededRandom(seed);
  const rejected = new Set(sorted.filter(() => random.next() < 0.7).map(([slot]) => slot));
  const accept = (slot: number) => !rejected.has(slot);
  const expected = sorted.find(([slot, k]) => accept(slot) && !Number.isNaN(k))?.[0] ?? -1;
  expect(heap.first(accept)).toBe(expected);
  if (expected >= 0) {
    const tiedKey = present.get(expected)!;
    const tied = sorted.filter(([slot, k]) => k === tiedKey && accept(slot)).map(([slot]) => slot);
    expect(tied).toContain(heap.sampleTied(tiedKey, accept, random));
  }
}

describe("load heap", () => {
  test.prop(
    [
      fc.integer({ min: 1, max: 300 }),
      fc.array(
        fc.oneof(
          { weight: 4, arbitrary: fc.record({ kind: fc.constant("set" as const), slot: fc.nat(), key }) },
          { weight: 1, arbitrary: fc.record({ kind: fc.constant("delete" as const), slot: fc.nat() }) },
        ),
        { minLength: 1, maxLength: 400, size: "max" },
      ),
      fc.integer(),
    ],
    { numRuns: 60 },
  )(
    "S5 the heap ranks (key, slot), NaN last, as a sort does, through sets and deletes",
    (slots, steps, seed) => {
      const heap = new LoadHeap(slots);
      const present = new Map<number, number>();
      steps.forEach((s, i) => {
        const slot = s.slot % slots;
        if (s.kind === "set") {
          heap.set(slot, s.key);
          present.set(slot, s.key);
        } else {
          heap.delete(slot);
          present.delete(slot);
        }
        if (i % 8 === 7 || i === steps.length - 1) expectSameAsSort(heap, present, seed + i);
      });
    },
  );
});
