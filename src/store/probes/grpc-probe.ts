/**
 * grpc.health.v1 probe (behaviour.md H5): calls `grpc.health.v1.Health/Check` with the
 * check's service name ("" is the whole server) and passes on SERVING only; NOT_SERVING,
 * UNKNOWN, SERVICE_UNKNOWN and any call error fail. Uses @grpc/grpc-js with the health
 * service definition shipped by grpc-health-check; one short-lived plaintext channel per
 * check, so a check never rides on a channel stuck in reconnect backoff.
 */
import { type Client, credentials, makeGenericClientConstructor, type ServiceError } from "@grpc/grpc-js";
import { service as healthService } from "grpc-health-check";
import {
  type Probe,
  type ProbeOutcome,
  type ProbeTarget,
  probeFailed,
  probePassed,
} from "../../health/probe.js";
import { abortedOutcome, hostPort } from "./probe-io.js";

interface HealthCheckResponse {
  readonly status: string;
}

interface HealthClient extends Client {
  Check(
    request: { service: string },
    callback: (error: ServiceError | null, response?: HealthCheckResponse) => void,
  ): { cancel(): void };
}

const HealthClientConstructor = makeGenericClientConstructor(
  healthService as Parameters<typeof makeGenericClientConstructor>[0],
  "grpc.health.v1.Health",
) as unknown as new (
  address: string,
  creds: ReturnType<typeof credentials.createInsecure>,
) => HealthClient;

/** A Probe for checks of kind grpc. */
export function createGrpcProbe(): Probe {
  return { check: checkGrpc };
}

function checkGrpc(target: ProbeTarget, signal: AbortSignal): Promise<ProbeOutcome> {
  const probe = target.spec.probe;
  if (probe.kind !== "grpc") return Promise.resolve(probeFailed(`not a grpc check: ${probe.kind}`));
  if (signal.aborted) return Promise.resolve(abortedOutcome());
  const name = JSON.stringify(probe.service);
  return new Promise((resolve) => {
    const client = new HealthClientConstructor(
      hostPort(target.host, target.port),
      credentials.createInsecure(),
    );
    const done = (outcome: ProbeOutcome) => {
      signal.removeEventListener("abort", onAbort);
      client.close();
      resolve(outcome);
    };
    const call = client.Check({ service: probe.service }, (error, response) => {
      if (error) return done(probeFailed(`Check(${name}): ${error.details || error.message}`));
      const status = response?.status ?? "UNKNOWN";
      done(
        status === "SERVING"
          ? probePassed(`Check(${name}): SERVING`)
          : probeFailed(`Check(${name}): ${status}`),
      );
    });
    const onAbort = () => {
      call.cancel();
      done(abortedOutcome());
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
