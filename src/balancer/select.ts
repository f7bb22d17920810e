import type { BackendState } from "./backend-state.js";
import type { Explanation } from "./explanation.js";
import { explainSelection } from "./explanation.js";
import type { SelectQuery } from "./select-query.js";
import type { Snapshot } from "./snapshot.js";

/** The tagged result of a pick: it never throws. */
export type SelectDecision =
  | {
      readonly kind: "picked";
      readonly backends: readonly BackendState[];
      readonly degraded: boolean;
      readonly explanation?: Explanation;
    }
  | { readonly kind: "unavailable"; readonly message: string; readonly explanation?: Explanation };

const acceptAll = () => true;

/** The per-request filter: exclude and required labels. */
function requestFilter(query: SelectQuery): (backend: BackendState) => boolean {
  const labelEntries = Object.entries(query.labels);
  if (query.exclude.length === 0 && labelEntries.length === 0) return acceptAll;
  const excluded = new Set(query.exclude);
  return (backend) => {
    if (excluded.has(backend.spec.id)) return false;
    for (const [key, value] of labelEntries) if (backend.spec.labels[key] !== value) return false;
    return true;
  };
}

/**
 * Picks up to `count` distinct backends from a snapshot: request filters first, then the
 * strategy and its fallbacks (S9, S11).
 */
export function selectFromSnapshot(snapshot: Snapshot, query: SelectQuery): SelectDecision {
  const filter = requestFilter(query);
  const chosen: BackendState[] = [];
  const accept = query.count === 1 ? filter : (b: BackendState) => filter(b) && !chosen.includes(b);
  const context = { hashKey: query.hashKey };
  while (chosen.length < query.count) {
    let picked: BackendState | undefined;
    for (const picker of snapshot.pickers) {
      picked = picker.pick(accept, context);
      if (picked) break;
    }
    if (!picked) break;
    chosen.push(picked);
  }
  const explanation = query.explain ? explainSelection(snapshot, query, filter, chosen) : undefined;
  if (chosen.length === 0) {
    return {
      kind: "unavailable",
      message: unavailableMessage(snapshot, query),
      ...(explanation && { explanation }),
    };
  }
  return { kind: "picked", backends: chosen, degraded: false, ...(explanation && { explanation }) };
}

function unavailableMessage(snapshot: Snapshot, query: SelectQuery): string {
  if (snapshot.backends.length === 0) return "service has no backends";
  if (snapshot.eligible.length === 0)
    return `none of ${snapshot.backends.length} backends is eligible (unhealthy or draining)`;
  const why = [
    query.exclude.length > 0 && "exclude",
    Object.keys(query.labels).length > 0 && "labels",
  ].filter(Boolean);
  return `no eligible backend left after ${why.join(" and ")} (${snapshot.eligible.length} eligible before)`;
}
