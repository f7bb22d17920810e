/**
 * How a write (and a delete) reaches the two tiers (behaviour.md C3, C5, C11), after
 * composable L1/L2 write policies:
 *
 * - `sequential`: L1, then L2. An L1 failure stops the write (L2 not tried); an L2 failure
 *   after it is tolerated (the failure mode has logged and counted it).
 * - `optimisticParallel` (default): both at once, waiting for both; success if either
 *   succeeds, otherwise one TieredWriteError naming both failures.
 * - `race`: both at once; the first success returns, the other finishes in the background;
 *   both failing gives a TieredWriteError naming both.
 * - Failure mode `error` overrides all three with `writeL2First`: L2 first, and L1 only after
 *   L2 succeeded, so a failed L2 write leaves L1 untouched and the error propagates.
 * - `deleteTiers`: both at once; success unless both fail (C11).
 */

/** The write policy of one cache instance. */
export type WritePolicy = "sequential" | "optimisticParallel" | "race";

/** The default write policy. */
export const DEFAULT_WRITE_POLICY: WritePolicy = "optimisticParallel";

/** One tier's half of a write. */
export type WriteArm = () => void | Promise<void>;

/** Which tiers took the write, once both arms have finished. */
export interface ArmsSettled {
  readonly l1: boolean;
  readonly l2: boolean;
}

/** A write in progress: `done` follows the policy; `settled` waits for both arms and never rejects. */
export interface TieredWrite {
  readonly done: Promise<void>;
  readonly settled: Promise<ArmsSettled>;
}

/** Both tiers failed; the message names both failures. */
export class TieredWriteError extends Error {
  constructor(
    readonly operation: "write" | "delete",
    readonly l1Error: unknown,
    readonly l2Error: unknown,
  ) {
    super(`${operation} failed in both tiers: L1: ${describe(l1Error)}; L2: ${describe(l2Error)}`, {
      cause: l2Error,
    });
    this.name = "TieredWriteError";
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Outcome = { readonly ok: true } | { readonly ok: false; readonly error: unknown };

async function attempt(arm: WriteArm): Promise<Outcome> {
  try {
    await arm();
    return { ok: true };
  } catch (error) {
    return { ok: false, error };
  }
}

function failBoth(operation: "write" | "delete", l1: Outcome, l2: Outcome): never {
  const l1Error = l1.ok ? undefined : l1.error;
  const l2Error = l2.ok ? undefined : l2.error;
  throw new TieredWriteError(operation, l1Error, l2Error);
}

/** Runs a write under `policy` (failure modes other than `error`); see the file header. */
export function writeTiers(policy: WritePolicy, l1: WriteArm, l2: WriteArm): TieredWrite {
  if (policy === "sequential") {
    const settled = (async () => {
      const first = await attempt(l1);
      if (!first.ok) return { first, second: undefined };
      return { first, second: await attempt(l2) };
    })();
    const done = settled.then(({ first }) => {
      if (!first.ok) throw first.error;
    });
    return {
      done,
      settled: settled.then(({ first, second }) => ({ l1: first.ok, l2: second?.ok === true })),
    };
  }
  const a = attempt(l1);
  const b = attempt(l2);
  const both = Promise.all([a, b]);
  const settled = both.then(([x, y]) => ({ l1: x.ok, l2: y.ok }));
  if (policy === "optimisticParallel") {
    const done = both.then(([x, y]) => {
      if (!x.ok && !y.ok) failBoth("write", x, y);
    });
    return { done, settled };
  }
  const firstSuccess = new Promise<void>((resolve) => {
    const onOk = (o: Outcome) => (o.ok ? resolve() : undefined);
    void a.then(onOk);
    void b.then(onOk);
  });
  const bothFailed = both.then(([x, y]) => {
    if (!x.ok && !y.ok) failBoth("write", x, y);
  });
  return { done: Promise.race([firstSuccess, bothFailed]), settled };
}

/** Failure mode `error`: L2 first, L1 only after L2 succeeded; an L2 failure propagates. */
export async function writeL2First(l1: WriteArm, l2: WriteArm): Promise<void> {
  await l2();
  await l1();
}

/** Deletes from both tiers at once; success unless both fail (C11). */
export async function deleteTiers<T>(l1: () => T | Promise<T>, l2: () => Promise<T>): Promise<[T?, T?]> {
  const [x, y] = await Promise.allSettled([(async () => l1())(), l2()]);
  if (x.status === "rejected" && y.status === "rejected") {
    throw new TieredWriteError("delete", x.reason, y.reason);
  }
  return [x.status === "fulfilled" ? x.value : undefined, y.status === "fulfilled" ? y.value : undefined];
}
