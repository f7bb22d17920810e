/** HealthCheck (a service's or a backend's active probe) <-> the core's HealthCheckSpec. */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type * as T from "../../../gen/fulcrum/v1/types_pb.js";
import type { BackendInput } from "../../model/input.js";
import type * as M from "../../model/specs.js";
import type { FieldViolation } from "../../shared/errors.js";
import { fromMs, toMs } from "./primitives.js";

/** A HealthCheck as the registry's input; `path` names the message for violations. */
export function decodeHealthCheck(
  check: T.HealthCheck,
  path: string,
  bad: FieldViolation[],
): BackendInput["healthCheck"] {
  const timing = {
    intervalMs: toMs(check.interval, `${path}.interval`, bad),
    timeoutMs: toMs(check.timeout, `${path}.timeout`, bad),
    port: check.port,
  };
  switch (check.probe.case) {
    case "tcp":
      return { probe: { kind: "tcp" }, ...timing };
    case "grpc":
      return { probe: { kind: "grpc", service: check.probe.value.service }, ...timing };
    case "http": {
      const h = check.probe.value;
      return {
        probe: {
          kind: "http",
          path: h.path,
          expectedStatusMin: h.expectedStatusMin,
          expectedStatusMax: h.expectedStatusMax,
          host: h.host,
        },
        ...timing,
      };
    }
    default:
      return { ...timing };
  }
}

/** A resolved HealthCheckSpec as the proto shows it. */
export function encodeHealthCheck(check: M.HealthCheckSpec): MessageInitShape<typeof T.HealthCheckSchema> {
  const p = check.probe;
  let probe: MessageInitShape<typeof T.HealthCheckSchema>["probe"];
  if (p.kind === "tcp") probe = { case: "tcp", value: {} };
  else if (p.kind === "grpc") probe = { case: "grpc", value: { service: p.service } };
  else
    probe = {
      case: "http",
      value: {
        path: p.path,
        expectedStatusMin: p.expectedStatusMin,
        expectedStatusMax: p.expectedStatusMax,
        host: p.host,
      },
    };
  return { probe, interval: fromMs(check.intervalMs), timeout: fromMs(check.timeoutMs), port: check.port };
}
