import type { Clock } from "../shared/clock.js";
import type { FieldViolation } from "../shared/errors.js";
import type { Random } from "../shared/random.js";
import type { BackendState } from "./backend-state.js";

/** Settings as registered: flat, named like the proto fields (snake_case). */
export type StrategySettings = Readonly<Record<string, number | string | boolean>>;

/** What a pick may know about the request beyond the candidate filter. */
export interface PickContext {
  /** Affinity key; empty when the caller gave none. */
  readonly hashKey: string;
}

/**
 * A strategy's picker over one snapshot's eligible backends (the grpc-js picker idea): built
 * when the snapshot is rebuilt, then called synchronously per request. `accept` is the
 * per-request filter (exclude, labels, distinct); a picker returns an accepted backend or
 * undefined, and never throws.
 */
export interface Picker {
  pick(accept: (backend: BackendState) => boolean, context: PickContext): BackendState | undefined;
}

/** Services a picker may use; injected so tests assert exact sequences. */
export interface PickerDeps {
  readonly random: Random;
  readonly clock: Clock;
}

/**
 * A strategy registered by name (behaviour.md S17): `validate` runs at Register time and
 * names bad settings by field; nothing is validated per request.
 */
export interface StrategyDefinition {
  readonly name: string;
  validate(settings: StrategySettings): FieldViolation[];
  create(backends: readonly BackendState[], settings: StrategySettings, deps: PickerDeps): Picker;
}
