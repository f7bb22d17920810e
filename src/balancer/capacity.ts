import type { BackendState } from "./backend-state.js";

/**
 * A backend's registered capacity, the figure loads are divided by and interleaved WRR
 * weighs with: max_connections when set (> 0), else the weight. Slow start scales it in pools.
 */
export function registeredCapacity(backend: BackendState): number {
  return backend.spec.maxConnections > 0 ? backend.spec.maxConnections : backend.spec.weight;
}
