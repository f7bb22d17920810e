/**
 * The PinStore port: where session pins live (behaviour.md P4, P6, P7). The core declares
 * it; store/memory/memory-pin-store.ts (embedded, one process) and
 * store/redis/redis-pin-store.ts (every replica of one Redis or Redis Cluster) implement it,
 * and test/unit/sessions/pin-store-contract.ts is the one suite both pass.
 *
 * Contract shared by every method:
 * - A pin maps (service, sessionId) to one backend id. It lives until `end`, or until it
 *   goes `idleTtlMs` without a `pin` or `touch` (P7); an expired pin is gone for `get`,
 *   `touch`, `end` and every count, and no count ever includes it.
 * - Every replica using the same store sees the same pins (P4).
 * - Pins are per service: the same session id in two services is two sessions.
 * - Methods reject only on store failure (Redis down) or a store limit (a FulcrumError
 *   naming it); a caller's ordinary outcomes are results, never exceptions.
 */

/** A session's pin. */
export interface SessionPin {
  readonly backendId: string;
}

/** What `pin` did. */
export type PinResult =
  /** The session is now pinned to `backendId`; `previousBackendId` is the pin it replaced. */
  | { readonly kind: "pinned"; readonly backendId: string; readonly previousBackendId: string | undefined }
  /**
   * The session was already pinned (to `backendId`) and no replacement was asked for, or a
   * different replacement won a race: nothing changed except the idle TTL was refreshed.
   * The caller uses `backendId`; this is what makes a second switch a no-op (P2).
   */
  | { readonly kind: "existing"; readonly backendId: string }
  /** `backendId` already holds `limit` pins (P6); nothing changed. Try another backend. */
  | { readonly kind: "capacity"; readonly backendId: string; readonly limit: number };

/** Session pins of every service; see the file header for the shared contract. */
export interface PinStore {
  /** The session's pin, or undefined when it has none (never pinned, ended, or expired). */
  get(service: string, sessionId: string): Promise<SessionPin | undefined>;

  /**
   * Pins the session to `backendId` in one atomic step: when the session has no pin (or
   * its pin is `replacing`, the lost backend of a re-pin), count `backendId`'s live pins
   * and, if fewer than `maxPinsPerBackend`, set the pin with an idle TTL of `idleTtlMs`.
   * A session already pinned to anything else answers `existing`; pinning to the backend
   * it already has answers `existing` too, without a capacity check.
   * `maxPinsPerBackend` is an integer >= 0 or Infinity (no limit); see pinLimit().
   * `idleTtlMs` is an integer >= 1.
   */
  pin(
    service: string,
    sessionId: string,
    backendId: string,
    idleTtlMs: number,
    maxPinsPerBackend: number,
    replacing?: string,
  ): Promise<PinResult>;

  /**
   * Refreshes the idle TTL of the session's pin to `idleTtlMs` from now (on use, P7) and
   * returns it; undefined (and nothing created) when the session has no pin. One round
   * trip: a caller may use it instead of `get` on the hot path.
   */
  touch(service: string, sessionId: string, idleTtlMs: number): Promise<SessionPin | undefined>;

  /** Releases the session's pin (EndSession, P7); returns the backend it held, or undefined. */
  end(service: string, sessionId: string): Promise<string | undefined>;

  /** Live pins per backend of the service (GetService, pin capacity); backends with none are absent. */
  countByBackend(service: string): Promise<ReadonlyMap<string, number>>;

  /**
   * Forgets `backendId`'s pin count when the backend is removed, and returns how many live
   * pins it had. The sessions keep their pin records, so their next Select reports
   * SESSION_BACKEND_LOST (or re-pins) instead of silently starting over elsewhere; those
   * records go by `end`, a re-pin, or the idle TTL. If a backend with the same id comes
   * back, a `touch` of such a pin counts it again.
   */
  releaseBackend(service: string, backendId: string): Promise<number>;
}

/**
 * Throws a RangeError naming the argument unless `idleTtlMs` is an integer >= 1 and
 * `maxPinsPerBackend` (when given) an integer >= 0 or Infinity. Adapters call it first.
 */
export function assertPinArguments(idleTtlMs: number, maxPinsPerBackend?: number): void {
  if (!Number.isInteger(idleTtlMs) || idleTtlMs < 1) {
    throw new RangeError(`idleTtlMs: must be an integer >= 1, got ${idleTtlMs}`);
  }
  if (maxPinsPerBackend === undefined || maxPinsPerBackend === Number.POSITIVE_INFINITY) return;
  if (!Number.isInteger(maxPinsPerBackend) || maxPinsPerBackend < 0) {
    throw new RangeError(`maxPinsPerBackend: must be an integer >= 0 or Infinity, got ${maxPinsPerBackend}`);
  }
}
