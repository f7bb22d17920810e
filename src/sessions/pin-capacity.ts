/**
 * Pin capacity (behaviour.md P6): a backend holds at most max_connections - 1 pinned
 * sessions, so one connection slot always stays free for per-command traffic; a backend
 * with max_connections 0 (unlimited) takes any number of pins, and one with
 * max_connections 1 takes none. The count that matters is the PinStore's (shared by every
 * replica); the store enforces the limit atomically in `pin`, and these helpers let Select
 * skip full backends before it tries.
 */

/** What pin capacity needs to know of a candidate backend (a BackendSpec fits). */
export interface PinCandidate {
  readonly id: string;
  /** 0: unlimited. */
  readonly maxConnections: number;
}

/** The most pins a backend with `maxConnections` may hold: Infinity for 0, else max_connections - 1. */
export function pinLimit(maxConnections: number): number {
  if (maxConnections <= 0) return Number.POSITIVE_INFINITY;
  return maxConnections - 1;
}

/** True when `candidate` holds fewer pins than its limit, per `counts` (backend id → live pins). */
export function hasPinRoom(candidate: PinCandidate, counts: ReadonlyMap<string, number>): boolean {
  return (counts.get(candidate.id) ?? 0) < pinLimit(candidate.maxConnections);
}

/**
 * A predicate for Select's candidate filter when a session is about to pin: keeps the
 * backends with a free pin slot per `counts` (from PinStore.countByBackend).
 */
export function pinCapacityFilter(counts: ReadonlyMap<string, number>): (candidate: PinCandidate) => boolean {
  return (candidate) => hasPinRoom(candidate, counts);
}
