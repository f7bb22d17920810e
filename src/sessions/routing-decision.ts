/**
 * The session routing rules (behaviour.md P1, P2, P5) as one pure function: given a
 * service's SessionPolicy, the session's current pin and the Select's command, what must
 * Select do? No I/O, no clock: the caller reads the pin (PinStore.touch or get) and passes
 * `now`.
 *
 * | mode        | no pin, per-command command | no pin, stateful command | pinned             |
 * |-------------|-----------------------------|--------------------------|--------------------|
 * | PER_COMMAND | per_command                 | reject                   | (pinned column)    |
 * | HYBRID      | per_command                 | pin_new                  | use_pin/lost/repin |
 * | STATEFUL    | pin_new                     | pin_new                  | use_pin/lost/repin |
 *
 * Pinned: `use_pin` while the pinned backend is usable; when it is unhealthy (its health
 * is outside the allowed states), draining past its deadline, or gone from the snapshot,
 * `repin` if the service allows it, else `lost` (SESSION_BACKEND_LOST). A draining backend
 * keeps its pins until the deadline (P5). An existing pin is honoured whatever the mode,
 * so a config change never breaks a live session: the switch is one-way (P2), a second
 * stateful command is a no-op, and only a session id without a pin (new, or ended) starts
 * fresh.
 */
import type { HealthState, SessionPolicy } from "../model/specs.js";
import { classifierFor } from "./command-classifier.js";
import type { SessionPin } from "./pin-store.js";
import {
  type LostCause,
  type SessionRefusal,
  sessionBackendLost,
  statefulNotAllowed,
} from "./session-refusals.js";

/** The session_mode Select reports (proto SessionMode). */
export type SessionMode = "per_command" | "stateful";

/** What Select must do for one session; see the file header. */
export type SessionDecision =
  /** Balance normally; do not pin. session_mode PER_COMMAND. */
  | { readonly kind: "per_command"; readonly sessionMode: "per_command" }
  /**
   * Pick a backend with a free pin slot and pin the session to it (establishPin), then
   * return it. session_mode STATEFUL. `trigger` says why: a STATEFUL service's first
   * Select, or a HYBRID session's first stateful command.
   */
  | {
      readonly kind: "pin_new";
      readonly sessionMode: "stateful";
      readonly trigger: "stateful_service" | "stateful_command";
    }
  /** Return the pinned backend (and refresh the idle TTL). session_mode STATEFUL. */
  | { readonly kind: "use_pin"; readonly sessionMode: "stateful"; readonly backendId: string }
  /**
   * The pinned backend is lost and the service allows re-pinning: pick another backend and
   * pin with `replacing: fromBackendId` (establishPin). session_mode STATEFUL.
   */
  | {
      readonly kind: "repin";
      readonly sessionMode: "stateful";
      readonly fromBackendId: string;
      readonly cause: LostCause;
    }
  /** A stateful command on a PER_COMMAND service: answer `refusal` (STATEFUL_NOT_ALLOWED). */
  | { readonly kind: "reject"; readonly reason: "STATEFUL_NOT_ALLOWED"; readonly refusal: SessionRefusal }
  /** The pinned backend is lost and re-pinning is off: answer `refusal` (SESSION_BACKEND_LOST). */
  | {
      readonly kind: "lost";
      readonly reason: "SESSION_BACKEND_LOST";
      readonly backendId: string;
      readonly cause: LostCause;
      readonly refusal: SessionRefusal;
    };

/** What the rules need of the pinned backend as the current snapshot has it (BackendState fits). */
export interface PinnedBackendView {
  readonly health: HealthState;
  readonly draining: boolean;
  /** Epoch ms; 0 when not draining (or no deadline). */
  readonly drainDeadline: number;
  /** Held out by an operator's UNHEALTHY (O10): lost whatever states the service allows. */
  readonly maintenance?: boolean;
}

/** Input of decideSessionRoute. */
export interface SessionRouteInput {
  readonly service: string;
  /** The Select's session_id; "" when it carries none. */
  readonly sessionId: string;
  readonly policy: SessionPolicy;
  /** The Select's command; "" when it carries none. */
  readonly command: string;
  /** The session's pin from the PinStore, or undefined. */
  readonly pin: SessionPin | undefined;
  /** The pinned backend in the current snapshot; undefined when it is not registered. Unused without a pin. */
  readonly pinnedBackend: PinnedBackendView | undefined;
  /** Epoch ms, from the caller's Clock. */
  readonly now: number;
  /** Health states a pinned backend may be in (the service's H7 filter); default all but unhealthy. */
  readonly allowedStates?: readonly HealthState[];
}

/** The health states a pinned backend may be in when the caller gives none: all but unhealthy. */
export const DEFAULT_PIN_ALLOWED_STATES: readonly HealthState[] = ["healthy", "degraded", "recovering"];

const PER_COMMAND: SessionDecision = { kind: "per_command", sessionMode: "per_command" };

/**
 * Why the pinned backend cannot serve, or undefined when it can (P5): removed (absent),
 * unhealthy (health outside `allowedStates`), or draining with its deadline reached.
 */
export function pinnedBackendLoss(
  backend: PinnedBackendView | undefined,
  now: number,
  allowedStates: readonly HealthState[] = DEFAULT_PIN_ALLOWED_STATES,
): LostCause | undefined {
  if (backend === undefined) return "removed";
  if (backend.draining && backend.drainDeadline > 0 && now >= backend.drainDeadline) return "drained";
  if (backend.maintenance || !allowedStates.includes(backend.health)) return "unhealthy";
  return undefined;
}

function pinnedDecision(input: SessionRouteInput, backendId: string): SessionDecision {
  const cause = pinnedBackendLoss(input.pinnedBackend, input.now, input.allowedStates);
  if (cause === undefined) return { kind: "use_pin", sessionMode: "stateful", backendId };
  if (input.policy.allowRepin)
    return { kind: "repin", sessionMode: "stateful", fromBackendId: backendId, cause };
  return {
    kind: "lost",
    reason: "SESSION_BACKEND_LOST",
    backendId,
    cause,
    refusal: sessionBackendLost(input.service, input.sessionId, backendId, cause),
  };
}

/**
 * The session rules of P1, P2 and P5 for one Select; pure and total. With `sessionId` ""
 * (a Select without a session) there is nothing to pin: the answer is `per_command`
 * (report SESSION_MODE_UNSPECIFIED), or `reject` for a stateful command on a PER_COMMAND
 * service.
 */
export function decideSessionRoute(input: SessionRouteInput): SessionDecision {
  const hasSession = input.sessionId !== "";
  if (hasSession && input.pin) return pinnedDecision(input, input.pin.backendId);
  const mode = input.policy.routingMode;
  if (hasSession && mode === "stateful") {
    return { kind: "pin_new", sessionMode: "stateful", trigger: "stateful_service" };
  }
  if (mode === "stateful" || !classifierFor(input.policy).isStateful(input.command)) return PER_COMMAND;
  if (mode === "per_command") {
    return {
      kind: "reject",
      reason: "STATEFUL_NOT_ALLOWED",
      refusal: statefulNotAllowed(input.service, input.command),
    };
  }
  if (!hasSession) return PER_COMMAND;
  return { kind: "pin_new", sessionMode: "stateful", trigger: "stateful_command" };
}
