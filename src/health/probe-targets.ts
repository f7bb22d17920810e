/**
 * Which backends of a service get an active check, and how (behaviour.md H5): a backend's
 * own check wins over the service's check (`config.health.check`); without either, the
 * backend is checked only passively (Reports).
 */
import type { BackendSpec, HealthCheckSpec, HealthPolicy } from "../model/specs.js";

/** One backend to check, as the scheduler holds it. `port` is the backend's own port. */
export interface ProberTarget {
  readonly backendId: string;
  readonly host: string;
  readonly port: number;
  readonly spec: HealthCheckSpec;
}

/** The check of one backend, or undefined when it has none. */
export function checkOf(
  backend: BackendSpec,
  policy: Pick<HealthPolicy, "check">,
): HealthCheckSpec | undefined {
  return backend.healthCheck ?? policy.check;
}

/**
 * The targets of a service's backends, in the given order, skipping backends without a check;
 * pass the result to `Prober.sync(service, targets)` after every membership or config change.
 */
export function probeTargetsOf(
  backends: Iterable<BackendSpec>,
  policy: Pick<HealthPolicy, "check">,
): ProberTarget[] {
  const targets: ProberTarget[] = [];
  for (const backend of backends) {
    const spec = checkOf(backend, policy);
    if (spec) targets.push({ backendId: backend.id, host: backend.host, port: backend.port, spec });
  }
  return targets;
}
