/**
 * Establishing a pin (behaviour.md P2, P4, P6) for a `pin_new` or `repin` decision: read
 * the live pin counts once, let the balancer pick among backends with a free pin slot, and
 * pin atomically in the PinStore. When the store answers `capacity` (another replica filled
 * the backend since the counts were read) the backend is set aside and another is picked,
 * up to `maxAttempts` times; when every candidate is full the answer is PIN_CAPACITY.
 * When another replica pinned the same session first, its pin wins (`existing`), so a
 * session is never pinned twice.
 */
import { hasPinRoom, type PinCandidate, pinLimit } from "./pin-capacity.js";
import type { PinStore } from "./pin-store.js";
import { pinCapacityExhausted, type SessionRefusal } from "./session-refusals.js";

/** How many backends establishPin offers to the store before answering PIN_CAPACITY. */
export const DEFAULT_PIN_ATTEMPTS = 3;

/** Input of establishPin. */
export interface EstablishPinRequest<T extends PinCandidate> {
  readonly store: PinStore;
  readonly service: string;
  readonly sessionId: string;
  /** The service's SessionPolicy.idleTtlMs. */
  readonly idleTtlMs: number;
  /** For a `repin` decision: the lost backend (never picked again here). */
  readonly replacing?: string;
  /**
   * The balancer's pick over its eligible backends, keeping only those `accept` allows;
   * undefined when none is left. It must have no side effects (no in-flight slot, no
   * reservation): a pick may be turned down for capacity and another made. Reserve after.
   */
  pick(accept: (candidate: PinCandidate) => boolean): T | undefined;
  /** Default DEFAULT_PIN_ATTEMPTS. */
  readonly maxAttempts?: number;
}

/** What establishPin did. */
export type EstablishPinOutcome<T> =
  /** Pinned to `backend`; return it with session_mode STATEFUL. */
  | { readonly kind: "pinned"; readonly backend: T; readonly previousBackendId: string | undefined }
  /** Another Select of this session pinned it first: decide again with this pin (use_pin). */
  | { readonly kind: "existing"; readonly backendId: string }
  /** Every candidate is at its pin limit: answer `refusal` (PIN_CAPACITY). */
  | { readonly kind: "capacity"; readonly refusal: SessionRefusal }
  /** The pick found nothing, and not for pin capacity: the caller's usual UNAVAILABLE path. */
  | { readonly kind: "none" };

/** Picks a backend with a free pin slot and pins the session to it; see the file header. */
export async function establishPin<T extends PinCandidate>(
  request: EstablishPinRequest<T>,
): Promise<EstablishPinOutcome<T>> {
  const { store, service, sessionId } = request;
  const counts = await store.countByBackend(service);
  const full = new Set<string>();
  const accept = (candidate: PinCandidate): boolean => {
    if (candidate.id === request.replacing || full.has(candidate.id)) return false;
    if (hasPinRoom(candidate, counts)) return true;
    full.add(candidate.id);
    return false;
  };
  const attempts = request.maxAttempts ?? DEFAULT_PIN_ATTEMPTS;
  for (let attempt = 0; attempt < attempts; attempt++) {
    const backend = request.pick(accept);
    if (backend === undefined) break;
    const limit = pinLimit(backend.maxConnections);
    const result = await store.pin(
      service,
      sessionId,
      backend.id,
      request.idleTtlMs,
      limit,
      request.replacing,
    );
    if (result.kind === "pinned")
      return { kind: "pinned", backend, previousBackendId: result.previousBackendId };
    if (result.kind === "existing") return { kind: "existing", backendId: result.backendId };
    full.add(backend.id);
  }
  if (full.size === 0) return { kind: "none" };
  return { kind: "capacity", refusal: pinCapacityExhausted(service, sessionId, full.size) };
}
