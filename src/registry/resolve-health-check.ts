import type { DeepPartial } from "../model/input.js";
import type { HealthCheckSpec } from "../model/specs.js";
import type { Violations } from "../model/violations.js";
import * as D from "./defaults.js";

const MAX_PROBE_PORT = 65_535;

/** Applies defaults to an active check and records bad fields under `path`. */
export function resolveHealthCheck(
  input: DeepPartial<HealthCheckSpec>,
  path: string,
  v: Violations,
): HealthCheckSpec {
  const timing = {
    intervalMs: v.duration(`${path}.interval`, input.intervalMs, D.DEFAULT_PROBE_INTERVAL_MS),
    timeoutMs: v.duration(`${path}.timeout`, input.timeoutMs, D.DEFAULT_PROBE_TIMEOUT_MS),
    port: v.intInRange(`${path}.port`, input.port, 0, MAX_PROBE_PORT, 0),
  };
  const probe = input.probe;
  switch (probe?.kind) {
    case "tcp":
      return { probe: { kind: "tcp" }, ...timing };
    case "grpc":
      return { probe: { kind: "grpc", service: probe.service ?? "" }, ...timing };
    case "http": {
      const min = v.intInRange(
        `${path}.http.expected_status_min`,
        probe.expectedStatusMin || undefined,
        100,
        599,
        D.DEFAULT_HTTP_STATUS_MIN,
      );
      const max = v.intInRange(
        `${path}.http.expected_status_max`,
        probe.expectedStatusMax || undefined,
        100,
        599,
        D.DEFAULT_HTTP_STATUS_MAX,
      );
      if (max < min)
        v.add(`${path}.http.expected_status_max`, `must be >= expected_status_min (${min}), got ${max}`);
      const pathValue = probe.path || "/";
      if (!pathValue.startsWith("/"))
        v.add(`${path}.http.path`, `must start with "/", got ${JSON.stringify(pathValue)}`);
      return {
        probe: {
          kind: "http",
          path: pathValue,
          expectedStatusMin: min,
          expectedStatusMax: max,
          host: probe.host ?? "",
        },
        ...timing,
      };
    }
    default:
      v.add(path, "needs one probe: tcp, grpc or http");
      return { probe: { kind: "tcp" }, ...timing };
  }
}
