/**
 * Whether and where RPC traces are exported, from the standard OpenTelemetry variables only
 * (no FULCRUM_* setting, no config-file key). Tracing is off unless asked for, so an unset
 * environment costs nothing:
 * - OTEL_SDK_DISABLED=true: off, whatever else is set.
 * - OTEL_TRACES_EXPORTER set: `none` is off; `otlp` and `console` (alone or comma-separated) are on.
 * - OTEL_TRACES_EXPORTER unset: on, as `otlp`, only when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT or
 *   OTEL_EXPORTER_OTLP_ENDPOINT is set (the specification's default exporter is otlp to
 *   localhost; Fulcrum does not send spans to an address nobody named).
 * The OTLP protocol is OTEL_EXPORTER_OTLP_TRACES_PROTOCOL, else OTEL_EXPORTER_OTLP_PROTOCOL,
 * else http/protobuf. Endpoints, headers, timeouts, batching (OTEL_BSP_*), sampling
 * (OTEL_TRACES_SAMPLER) and the resource (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES) are
 * read by the OpenTelemetry SDK itself.
 */
import type { OtlpProtocol, TraceExporterKind, TracingSettings } from "../observability/tracer-provider.js";
import { ConfigError } from "./load-config.js";

const EXPORTERS: readonly string[] = ["otlp", "console", "none"];
const PROTOCOLS: readonly string[] = ["http/protobuf", "http/json", "grpc"];

type Environment = Readonly<Record<string, string | undefined>>;

function set(env: Environment, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function exportersOf(env: Environment): TraceExporterKind[] {
  const named = set(env, "OTEL_TRACES_EXPORTER");
  if (named === undefined) {
    const endpoint =
      set(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") ?? set(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
    return endpoint ? ["otlp"] : [];
  }
  const names = [...new Set(named.split(",").map((name) => name.trim().toLowerCase()))];
  for (const name of names)
    if (!EXPORTERS.includes(name))
      throw new ConfigError(
        `OTEL_TRACES_EXPORTER: unknown exporter ${JSON.stringify(name)} (${EXPORTERS.join(", ")})`,
      );
  return names.includes("none") ? [] : (names as TraceExporterKind[]);
}

function protocolOf(env: Environment): OtlpProtocol {
  const variable = set(env, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
    ? "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"
    : "OTEL_EXPORTER_OTLP_PROTOCOL";
  const protocol = set(env, variable) ?? "http/protobuf";
  if (!PROTOCOLS.includes(protocol))
    throw new ConfigError(
      `${variable}: unknown protocol ${JSON.stringify(protocol)} (${PROTOCOLS.join(", ")})`,
    );
  return protocol as OtlpProtocol;
}

/** The tracing settings `env` asks for; undefined when tracing is off. Throws ConfigError naming a bad variable. */
export function tracingSettings(env: Environment): TracingSettings | undefined {
  if (set(env, "OTEL_SDK_DISABLED")?.toLowerCase() === "true") return undefined;
  const exporters = exportersOf(env);
  if (exporters.length === 0) return undefined;
  return { exporters, protocol: protocolOf(env) };
}
