/**
 * The OpenTelemetry SDK as tracing-settings.ts asks for it: a tracer provider with a batch
 * processor per OTLP exporter (or a simple one for `console`), and the W3C trace-context
 * propagator. Everything else the SDK reads from the OTEL_* variables itself: the exporter's
 * endpoint, headers, timeout and compression, batching (OTEL_BSP_*), sampling
 * (OTEL_TRACES_SAMPLER, default parent-based always-on), span limits, and the resource
 * (OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES; service.name defaults to `fulcrum`). Nothing
 * global is registered: only Fulcrum's own spans go through this provider.
 */
import type { TextMapPropagator, Tracer } from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  defaultResource,
  detectResources,
  envDetector,
  resourceFromAttributes,
} from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  SimpleSpanProcessor,
  type SpanExporter,
  type SpanProcessor,
} from "@opentelemetry/sdk-trace-base";

/** How spans leave the process. */
export type TraceExporterKind = "otlp" | "console";
/** OTLP's transports, as OTEL_EXPORTER_OTLP_PROTOCOL names them. */
export type OtlpProtocol = "http/protobuf" | "http/json" | "grpc";

/** Where spans go (config/tracing-settings.ts reads them from OTEL_*). */
export interface TracingSettings {
  readonly exporters: readonly TraceExporterKind[];
  readonly protocol: OtlpProtocol;
}

/** A running tracer and how to stop it. */
export interface RpcTracer {
  readonly tracer: Tracer;
  readonly propagator: TextMapPropagator;
  /** Exports what is still queued, waiting at most `deadlineMs`, then stops. */
  close(deadlineMs: number): Promise<void>;
}

/** Each exporter package is loaded only when its protocol is asked for. */
async function otlpExporter(protocol: OtlpProtocol): Promise<SpanExporter> {
  switch (protocol) {
    case "http/protobuf":
      return new (await import("@opentelemetry/exporter-trace-otlp-proto")).OTLPTraceExporter();
    case "http/json":
      return new (await import("@opentelemetry/exporter-trace-otlp-http")).OTLPTraceExporter();
    case "grpc":
      return new (await import("@opentelemetry/exporter-trace-otlp-grpc")).OTLPTraceExporter();
  }
}

async function processorsOf(settings: TracingSettings): Promise<SpanProcessor[]> {
  return Promise.all(
    settings.exporters.map(async (kind) =>
      kind === "console"
        ? new SimpleSpanProcessor(new ConsoleSpanExporter())
        : new BatchSpanProcessor(await otlpExporter(settings.protocol)),
    ),
  );
}

/** Starts the SDK for `settings`; `version` becomes service.version. */
export async function startRpcTracer(settings: TracingSettings, version: string): Promise<RpcTracer> {
  const resource = defaultResource()
    .merge(resourceFromAttributes({ "service.name": "fulcrum", "service.version": version }))
    .merge(detectResources({ detectors: [envDetector] }));
  const provider = new BasicTracerProvider({ resource, spanProcessors: await processorsOf(settings) });
  return {
    tracer: provider.getTracer("fulcrum", version),
    propagator: new W3CTraceContextPropagator(),
    async close(deadlineMs) {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, deadlineMs);
      });
      await Promise.race([provider.shutdown().catch(() => undefined), deadline]);
      clearTimeout(timer);
    },
  };
}
