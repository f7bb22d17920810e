/**
 * OpenTelemetry tracing of every RPC on the gRPC and web ports, from the OTEL_* variables
 * (config/tracing-settings.ts says when it is on). Off, this is a pass-through and the SDK is
 * never loaded: no wrapper, no span, no header read on the Select path. On, the SDK starts
 * (observability/tracer-provider.ts), each binding is wrapped by rpc/interceptors/trace.ts,
 * and both transports add the call's trace context to the handler context
 * (rpc/interceptors/trace-context.ts).
 */
import { packageVersion } from "../config/package-version.js";
import { tracingSettings } from "../config/tracing-settings.js";
import type { Logger } from "../observability/logger.js";
import { withGrpcTraceCarrier, withHttpTraceCarrier } from "../rpc/interceptors/trace-context.js";
import type { AccessControl } from "./access-control.js";

/** What the servers need from tracing. */
export interface Tracing {
  /**
   * `access` with tracing added to its per-call hooks: a span around every binding (outside
   * authorization, so refused calls are traced too) and the trace context in both
   * transports' context values. `access` itself when tracing is off.
   */
  around(access: AccessControl): AccessControl;
  /** Exports what is queued (at most `deadlineMs`) and stops. */
  close(deadlineMs: number): Promise<void>;
}

const OFF: Tracing = { around: (access) => access, close: async () => {} };

/** What tracing needs from the rest of the app. */
export interface TracingDeps {
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly logger: Logger;
  /** The strategy of a registered service, for Select spans. */
  readonly strategyOf: (service: string) => string | undefined;
}

/** Starts tracing when the environment asks for it; throws ConfigError naming a bad OTEL_* variable. */
export async function startTracing(deps: TracingDeps): Promise<Tracing> {
  const settings = tracingSettings(deps.env);
  if (!settings) return OFF;
  const [{ startRpcTracer }, { traceBinding }] = await Promise.all([
    import("../observability/tracer-provider.js"),
    import("../rpc/interceptors/trace.js"),
  ]);
  const { tracer, propagator, close } = await startRpcTracer(settings, packageVersion());
  // Endpoints and headers are not logged: either may hold a credential.
  deps.logger.info({ exporters: settings.exporters, protocol: settings.protocol }, "tracing every RPC");
  const options = { tracer, propagator, strategyOf: deps.strategyOf };
  return {
    around: (access) => ({
      ...access,
      wrap: (binding) => traceBinding(access.wrap(binding), options),
      grpcContextValues: withGrpcTraceCarrier(access.grpcContextValues),
      webContextValues: withHttpTraceCarrier(access.webContextValues),
    }),
    close,
  };
}
