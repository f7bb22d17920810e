import type { BackendState } from "./backend-state.js";
import type { SelectQuery } from "./select-query.js";
import type { Snapshot } from "./snapshot.js";

/** The decision trace of one Select (behaviour.md S16). */
export interface Explanation {
  readonly strategy: string;
  readonly filters: readonly { readonly filter: string; readonly removed: number }[];
  readonly candidates: readonly {
    readonly backendId: string;
    readonly removedBy: string;
    readonly score: number;
    readonly picked: boolean;
  }[];
  readonly reason: string;
}

/**
 * Rebuilds why each backend was or was not a candidate. Runs only when the caller asked for
 * explain, so the hot path pays nothing for it.
 */
export function explainSelection(
  snapshot: Snapshot,
  query: SelectQuery,
  requestFilter: (backend: BackendState) => boolean,
  chosen: readonly BackendState[],
): Explanation {
  const eligible = new Set(snapshot.eligible);
  const excluded = new Set(query.exclude);
  const removedCounts = new Map<string, number>();
  const candidates = snapshot.backends.map((backend) => {
    let removedBy = "";
    if (!eligible.has(backend)) removedBy = backend.draining ? "draining" : `health:${backend.health}`;
    else if (excluded.has(backend.spec.id)) removedBy = "exclude";
    else if (!requestFilter(backend)) removedBy = "labels";
    if (removedBy) removedCounts.set(removedBy, (removedCounts.get(removedBy) ?? 0) + 1);
    return {
      backendId: backend.spec.id,
      removedBy,
      score: backend.inFlight,
      picked: chosen.includes(backend),
    };
  });
  const picked = chosen.map((backend) => backend.spec.id);
  return {
    strategy: snapshot.strategy,
    filters: [...removedCounts].map(([filter, removed]) => ({ filter, removed })),
    candidates,
    reason: picked.length
      ? `${snapshot.strategy} picked ${picked.join(", ")} from ${candidates.filter((c) => !c.removedBy).length} candidates`
      : "no candidate left after filters",
  };
}
