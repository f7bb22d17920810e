import type { BackendSpec, HealthState, ServiceConfig } from "../model/specs.js";
import type { BackendStatus } from "../model/status.js";
import { sameJson } from "../shared/same-json.js";
import type { ServiceChange } from "./events.js";
import type { StoredBackend, StoredService } from "./registry-log.js";

/**
 * Pure planning of registry changes: from the service as it stands (a StoredService) to the
 * service after the change plus the list of changes Watch will report. Nothing here mutates;
 * ServiceRegistry appends the plan to the log and only then applies it.
 */

/** A planned change of one service. Empty `changes` means the request changes nothing. */
export interface Plan {
  readonly changes: ServiceChange[];
  readonly next: StoredService | undefined;
}

/** How Watch shows a stored backend; live counters are per replica and start at zero. */
export function storedStatus(backend: StoredBackend): BackendStatus {
  return {
    spec: backend.spec,
    health: backend.health,
    draining: backend.draining,
    inFlight: 0,
    consecutiveFailures: 0,
    ewmaLatencyMs: 0,
    quotaRemaining: {},
    pinnedSessions: 0,
    ejected: false,
    selections: 0,
    maintenance: backend.maintenance === true,
  };
}

function freshBackend(spec: BackendSpec, initial: HealthState, now: number): StoredBackend {
  return {
    spec,
    health: initial,
    draining: false,
    drainDeadline: 0,
    leaseExpiresAt: spec.leaseTtlMs > 0 ? now + spec.leaseTtlMs : 0,
  };
}

/** Register: a new service, or REPLACE / MERGE of an existing one (R1, R2, R7). */
export function planRegister(
  current: StoredService | undefined,
  name: string,
  config: ServiceConfig,
  specs: readonly BackendSpec[],
  mode: "replace" | "merge",
  now: number,
): Plan {
  if (!current) {
    const next: StoredService = {
      name,
      config,
      backends: specs.map((s) => freshBackend(s, config.health.initialState, now)),
    };
    return {
      changes: [
        {
          kind: "snapshot",
          status: { name, config, version: 0, backends: next.backends.map((b) => storedStatus(b)) },
        },
      ],
      next,
    };
  }
  const changes: ServiceChange[] = [];
  if (!sameJson(current.config, config)) changes.push({ kind: "config_changed", config });
  const byId = new Map(current.backends.map((b) => [b.spec.id, b]));
  const listed = specs.map((spec) => {
    const existing = byId.get(spec.id);
    if (!existing) {
      const fresh = freshBackend(spec, config.health.initialState, now);
      changes.push({ kind: "backend_added", backend: storedStatus(fresh) });
      return fresh;
    }
    if (sameJson(existing.spec, spec)) return existing;
    const leaseExpiresAt =
      spec.leaseTtlMs > 0 && existing.leaseExpiresAt === 0 ? now + spec.leaseTtlMs : existing.leaseExpiresAt;
    const updated = { ...existing, spec, leaseExpiresAt };
    changes.push({ kind: "backend_updated", backend: storedStatus(updated) });
    return updated;
  });
  let backends: StoredBackend[];
  if (mode === "merge") {
    const listedById = new Map(listed.map((b) => [b.spec.id, b]));
    backends = [
      ...current.backends.map((b) => listedById.get(b.spec.id) ?? b),
      ...listed.filter((b) => !byId.has(b.spec.id)),
    ];
  } else {
    const keep = new Set(specs.map((s) => s.id));
    for (const old of current.backends) {
      if (!keep.has(old.spec.id))
        changes.push({ kind: "backend_removed", backendId: old.spec.id, reason: "replaced" });
    }
    backends = listed;
  }
  const next = { name, config, backends };
  const reordered = !sameJson(
    backends.map((b) => b.spec.id),
    current.backends.map((b) => b.spec.id),
  );
  if (changes.length === 0 && reordered) {
    changes.push({
      kind: "snapshot",
      status: { name, config, version: 0, backends: backends.map((b) => storedStatus(b)) },
    });
  }
  return { changes, next };
}

/** Removes the listed backends (absent ones are a no-op, R2), or the whole service when none are listed (R3). */
export function planRemove(current: StoredService, ids: readonly string[], reason: string): Plan {
  if (ids.length === 0) return { changes: [{ kind: "service_removed" }], next: undefined };
  const gone = new Set(ids.filter((id) => current.backends.some((b) => b.spec.id === id)));
  return {
    changes: [...gone].map((backendId) => ({ kind: "backend_removed", backendId, reason })),
    next: { ...current, backends: current.backends.filter((b) => !gone.has(b.spec.id)) },
  };
}

/** Marks backends draining until `deadline` (R6); already-draining ones keep their deadline. */
export function planDrain(current: StoredService, ids: readonly string[], deadline: number): Plan {
  const targets = new Set(ids.length === 0 ? current.backends.map((b) => b.spec.id) : ids);
  const changes: ServiceChange[] = [];
  const backends = current.backends.map((b) => {
    if (!targets.has(b.spec.id) || b.draining) return b;
    const drained = { ...b, draining: true, drainDeadline: deadline };
    changes.push({ kind: "backend_updated", backend: storedStatus(drained) });
    return drained;
  });
  return { changes, next: { ...current, backends } };
}

/**
 * Who sets a health state: an `operator` (SetHealth, H6) or the health `policy` (reports,
 * probes). An operator's UNHEALTHY is maintenance (O10): it holds until an operator's HEALTHY,
 * and the policy's transitions leave such a backend alone.
 */
export type HealthSource = "operator" | "policy";

/** Sets one backend's health (H6, or a transition decided by the health policy; O10 above). */
export function planHealth(
  current: StoredService,
  backendId: string,
  health: HealthState,
  reason: string,
  source: HealthSource,
): Plan {
  const previous = current.backends.find((b) => b.spec.id === backendId);
  if (!previous) return { changes: [], next: current };
  const held = previous.maintenance === true;
  if (source === "policy" && held) return { changes: [], next: current };
  const maintenance = source === "operator" ? health === "unhealthy" : held;
  if (previous.health === health && held === maintenance) return { changes: [], next: current };
  const updated: StoredBackend = { ...previous, health, maintenance };
  const change: ServiceChange =
    previous.health === health
      ? { kind: "backend_updated", backend: storedStatus(updated) }
      : { kind: "health_changed", backendId, previous: previous.health, current: health, reason };
  return {
    changes: [change],
    next: { ...current, backends: current.backends.map((b) => (b.spec.id === backendId ? updated : b)) },
  };
}
