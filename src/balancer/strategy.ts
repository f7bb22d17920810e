import type { Clock } from "../shared/clock.js";
import type { FieldViolation } from "../shared/errors.js";
import type { Random } from "../shared/random.js";
import type { BackendState } from "./backend-state.js";
import type { QuotaView } from "./quota-view.js";

/** Settings as registered: flat, named like the proto fields (snake_case; durations as `<name>_ms`). */
export type StrategySettings = Readonly<Record<string, number | string | boolean>>;

/** The per-request candidate filter a picker must honour: true when `backend` may be returned. */
export type Accept = (backend: BackendState) => boolean;

/** Picker classes V8 inlines at one call site (its polymorphism limit); see StrategyDefinition.inlinedPick. */
export const MAX_INLINED_PICKS = 4;

/** Accepts every backend. Pickers may compare against it to take a fast path. */
export const ACCEPT_ALL: Accept = () => true;

/** What a pick may know about the request beyond the candidate filter. */
export interface PickContext {
  /** Affinity key; empty when the caller gave none. */
  readonly hashKey: string;
  /** Remaining quota per backend (most_available, the quota filter). */
  readonly quota: QuotaView;
  /** In-flight calls of the whole service right now (bounded-load hashing). */
  readonly serviceInFlight: number;
}

/**
 * A strategy's picker over one pool of backends (the grpc-js picker idea): built when the
 * snapshot is rebuilt (or a slow-start step passes), then called synchronously per request.
 * `pick` returns a backend that `accept` accepts, or undefined; it never throws.
 */
export interface Picker {
  pick(accept: Accept, context: PickContext): BackendState | undefined;
  /**
   * The strategy's score of `backend` for explain (load, weight, hash score, headroom); works
   * for any backend of the service, not only this pool's. Called only when explain is asked.
   */
  score?(backend: BackendState, context: PickContext): number;
  /**
   * Called once the picker's snapshot is replaced: it stops following its backends (load
   * watchers). A disposed picker still answers, correctly but without its index's speed.
   */
  dispose?(): void;
}

/** The backends a picker serves, with the weights it should use (slow start applied). */
export interface PickerPool {
  /** In registration order. */
  readonly backends: readonly BackendState[];
  /** Effective weight of each backend (index-aligned): spec weight times the slow-start factor, > 0. */
  readonly weights: readonly number[];
  /**
   * Effective capacity of each backend (index-aligned): max_connections when > 0, else the
   * weight, times the slow-start factor; > 0.
   */
  readonly capacities: readonly number[];
}

/** Services a picker may use; injected so tests assert exact sequences. */
export interface PickerDeps {
  readonly random: Random;
  readonly clock: Clock;
}

/**
 * A strategy registered by name (behaviour.md S17): `validate` runs at Register time and
 * names bad settings by their proto field (e.g. `table_size`); nothing is validated per request.
 * `create` trusts settings that passed `validate` (a proto zero value means the default).
 */
export interface StrategyDefinition {
  /** The lower-case proto enum name, e.g. `power_of_two` for STRATEGY_POWER_OF_TWO. */
  readonly name: string;
  /** True for hash strategies: with an empty hash key they yield nothing and the chain continues (S7). */
  readonly usesHashKey: boolean;
  /** True when the picker reads the pool's effective weights or capacities (slow start applies, S14). */
  readonly usesEffectiveWeights: boolean;
  /**
   * True for the few strategies whose pick is a handful of instructions (at most
   * MAX_INLINED_PICKS of them): a pool calls their picker as a method, which V8 inlines while it
   * sees at most four picker classes at the call; the others through the `pick` read once per
   * build, which skips the lookup by class a method call makes past four classes (pool.ts).
   */
  readonly inlinedPick?: boolean;
  validate(settings: StrategySettings): FieldViolation[];
  create(pool: PickerPool, settings: StrategySettings, deps: PickerDeps): Picker;
}
