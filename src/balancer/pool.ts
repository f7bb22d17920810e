import type { SlowStartPolicy } from "../model/specs.js";
import type { BackendState } from "./backend-state.js";
import { registeredCapacity } from "./capacity.js";
import { slowStartFactor, slowStartRefreshMs } from "./slow-start.js";
import type {
  Accept,
  PickContext,
  Picker,
  PickerDeps,
  PickerPool,
  StrategyDefinition,
  StrategySettings,
} from "./strategy.js";

/** One strategy of a service's chain (primary, then fallbacks, S9), resolved by name. */
export interface ChainLink {
  readonly definition: StrategyDefinition;
  readonly settings: StrategySettings;
}

/** What every pool of one snapshot shares. */
export interface PoolPlan {
  readonly chain: readonly ChainLink[];
  readonly slowStart: SlowStartPolicy | undefined;
  readonly deps: PickerDeps;
}

/**
 * A set of backends a request may be served from (a tier, or a tier's zone), with the
 * service's strategy chain built over it. Pickers are built on first use and kept for the
 * snapshot's life; while a backend is in slow start (S14) the weight-aware ones are rebuilt
 * with fresh effective weights every slow-start step (SLOW_START_REFRESH_STEPS per window),
 * never per request.
 */
export class Pool {
  /** Position in the chain of the picker that made the last pick (0: the primary); for explain. */
  lastLink = -1;
  private pickers: Picker[] | undefined;
  private refreshAt = Number.NEGATIVE_INFINITY;
  /**
   * The primary picker's `pick`, read once per build and called on the picker, unless the
   * strategy's pick is inlined (StrategyDefinition.inlinedPick): a method call looks `pick` up
   * by the picker's class on every request, a megamorphic lookup once the process has seen more
   * than four picker classes there (about 70 instructions per pick, counted with callgrind).
   */
  private primaryPick: Picker["pick"] = () => undefined;
  private primary: Picker | undefined;
  private readonly inlinedPick: boolean;

  constructor(
    readonly backends: readonly BackendState[],
    private readonly plan: PoolPlan,
  ) {
    this.inlinedPick = plan.chain[0]?.definition.inlinedPick === true;
  }

  /** The first pick of the chain that yields one; undefined when none does. Never throws. */
  pick(accept: Accept, context: PickContext): BackendState | undefined {
    if (this.refreshAt !== Number.POSITIVE_INFINITY) this.refresh();
    const first = this.inlinedPick
      ? this.primary!.pick(accept, context)
      : this.primaryPick.call(this.primary, accept, context);
    const pickers = this.pickers!;
    if (first || pickers.length === 1) {
      this.lastLink = 0;
      return first;
    }
    for (let i = 1; i < pickers.length; i++) {
      const backend = pickers[i]!.pick(accept, context);
      if (backend) {
        this.lastLink = i;
        return backend;
      }
    }
    return undefined;
  }

  /** Lets go of the pickers (their load watchers): the snapshot holding this pool was replaced. */
  dispose(): void {
    if (this.pickers) for (const picker of this.pickers) picker.dispose?.();
  }

  /** The picker of the chain's link `index` (0: the primary). */
  picker(index: number): Picker | undefined {
    return this.current()[index];
  }

  private current(): Picker[] {
    if (this.refreshAt !== Number.POSITIVE_INFINITY) this.refresh();
    return this.pickers!;
  }

  /** Builds the chain on first use, and again when a slow-start step is due (`refreshAt`, -Infinity until built). */
  private refresh(): void {
    if (this.pickers === undefined) this.use(this.build(undefined));
    else if (this.plan.deps.clock.now() >= this.refreshAt) this.use(this.build(this.pickers));
  }

  private use(pickers: Picker[]): void {
    this.pickers = pickers;
    this.primary = pickers[0]!;
    this.primaryPick = this.primary.pick;
  }

  /** Builds the chain; on a slow-start refresh only the weight-aware pickers are replaced. */
  private build(previous: Picker[] | undefined): Picker[] {
    const { chain, slowStart, deps } = this.plan;
    const now = deps.clock.now();
    const weights: number[] = [];
    const capacities: number[] = [];
    let ramping = false;
    for (const backend of this.backends) {
      const factor = slowStartFactor(backend.activeSince, now, slowStart);
      if (factor < 1) ramping = true;
      weights.push(backend.spec.weight * factor);
      capacities.push(registeredCapacity(backend) * factor);
    }
    this.refreshAt = ramping && slowStart ? now + slowStartRefreshMs(slowStart) : Number.POSITIVE_INFINITY;
    const pool: PickerPool = { backends: this.backends, weights, capacities };
    return chain.map((link, i) => {
      if (previous && !link.definition.usesEffectiveWeights) return previous[i]!;
      previous?.[i]?.dispose?.();
      return link.definition.create(pool, link.settings, deps);
    });
  }
}
