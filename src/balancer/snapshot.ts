import type { ServiceConfig } from "../registry/model.js";
import type { BackendState } from "./backend-state.js";
import { findStrategy } from "./strategies/catalog.js";
import type { Picker, PickerDeps } from "./strategy.js";

/**
 * An immutable view of one service for the Select hot path (architecture.md, the picker
 * idea). Rebuilt when membership, health, drain or weights change; never per request.
 */
export interface Snapshot {
  readonly version: number;
  readonly strategy: string;
  /** Every backend, in registration order. */
  readonly backends: readonly BackendState[];
  /** Backends whose health is allowed and that are not draining. */
  readonly eligible: readonly BackendState[];
  /** The strategy's picker, then its fallbacks in order (S9). */
  readonly pickers: readonly Picker[];
}

/** Why a backend is not eligible for any request, or undefined when it is. */
export function ineligibleReason(backend: BackendState, config: ServiceConfig): string | undefined {
  if (backend.draining) return "draining";
  if (!config.health.allowedStates.includes(backend.health)) return backend.health;
  return undefined;
}

/** Builds the snapshot of a service's current backends. */
export function buildSnapshot(
  backends: readonly BackendState[],
  config: ServiceConfig,
  version: number,
  deps: PickerDeps,
): Snapshot {
  const eligible = backends.filter((backend) => ineligibleReason(backend, config) === undefined);
  const pickers: Picker[] = [];
  for (let spec = config.strategy as ServiceConfig["strategy"] | undefined; spec; spec = spec.fallback) {
    const strategy = findStrategy(spec.name);
    if (strategy) pickers.push(strategy.create(eligible, spec.settings, deps));
  }
  return { version, strategy: config.strategy.name, backends, eligible, pickers };
}
