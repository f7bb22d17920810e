/**
 * `condition ? ifTrue : ifFalse` for int32 values, without a branch. Where the condition is a
 * fresh random draw (the coin of a weighted draw, which of two drawn backends is second), the CPU
 * mispredicts a branch on it about half the time, about 5 ns each on a 2020s x86 core: more than
 * the rest of such a pick. V8 turns `+condition` into a 0 or 1 without branching, so the mask
 * below costs a few integer operations whatever the draw.
 */
export function selectInt(condition: boolean, ifTrue: number, ifFalse: number): number {
  return ifFalse ^ ((ifFalse ^ ifTrue) & -+condition);
}
