/** How `fulcrum watch` shows a Watch message to a person: one line per change. */
import type { WatchResponse } from "../../gen/fulcrum/v1/balancer_pb.js";
import { HealthState } from "../../gen/fulcrum/v1/types_pb.js";

function healthName(state: HealthState): string {
  return HealthState[state] ?? String(state);
}

/** " DRAINING", " MAINTENANCE", both, or "". */
function marks(b: { draining: boolean; maintenance: boolean }): string {
  return `${b.draining ? " DRAINING" : ""}${b.maintenance ? " MAINTENANCE" : ""}`;
}

/** One line for `m`; empty for a heartbeat (nothing to show). */
export function describeWatchResponse(m: WatchResponse): string {
  const head = `v${m.version} ${m.service}`;
  const e = m.event;
  switch (e.case) {
    case "snapshot": {
      const list = e.value.backends.map((b) => `${b.backend?.id} ${healthName(b.health)}${marks(b)}`);
      return `${head} snapshot: ${list.length} backends${list.length ? ` (${list.join(", ")})` : ""}`;
    }
    case "healthChanged":
      return `${head} ${e.value.backendId} ${healthName(e.value.previous)} -> ${healthName(e.value.current)} (${e.value.reason})`;
    case "backendAdded":
      return `${head} + ${e.value.backend?.id} ${e.value.backend?.address} ${healthName(e.value.health)}`;
    case "backendRemoved":
      return `${head} - ${e.value.backendId} (${e.value.reason})`;
    case "backendUpdated":
      return `${head} ~ ${e.value.backend?.id} weight ${e.value.backend?.weight}${marks(e.value)}`;
    case "headroomCrossed":
      return `${head} ${e.value.backendId} ${e.value.dimension} headroom ${e.value.below ? "below" : "above"} ${e.value.threshold}`;
    case "configChanged":
      return `${head} config changed`;
    case "serviceRemoved":
      return `${head} service removed`;
    case "reset":
      return `${head} RESET (${e.value.reason})`;
    case "heartbeat":
      return "";
    default:
      return `${head} (unknown event)`;
  }
}
