import { describe, expect, it } from "vitest";
import { startTracing } from "../../../src/app/tracing.js";
import { ConfigError } from "../../../src/config/load-config.js";
import { tracingSettings } from "../../../src/config/tracing-settings.js";
import { createLogger } from "../../../src/observability/logger.js";
import type { ServiceBinding } from "../../../src/rpc/grpc-server.js";

const ENDPOINT = "http://127.0.0.1:4318";

describe("tracing settings from OTEL_* (A6)", () => {
  it("is off with no OTEL_* variable, with exporter none, and with OTEL_SDK_DISABLED", () => {
    expect(tracingSettings({})).toBeUndefined();
    expect(
      tracingSettings({ OTEL_SERVICE_NAME: "lb", OTEL_EXPORTER_OTLP_PROTOCOL: "http/json" }),
    ).toBeUndefined();
    expect(
      tracingSettings({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT }),
    ).toBeUndefined();
    expect(tracingSettings({ OTEL_SDK_DISABLED: "true", OTEL_TRACES_EXPORTER: "otlp" })).toBeUndefined();
  });

  it("is on with an OTLP endpoint or a named exporter; the protocol defaults to http/protobuf", () => {
    expect(tracingSettings({ OTEL_EXPORTER_OTLP_ENDPOINT: ENDPOINT })).toEqual({
      exporters: ["otlp"],
      protocol: "http/protobuf",
    });
    expect(
      tracingSettings({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${ENDPOINT}/v1/traces` })?.exporters,
    ).toEqual(["otlp"]);
    expect(tracingSettings({ OTEL_TRACES_EXPORTER: "otlp,console" })?.exporters).toEqual(["otlp", "console"]);
    expect(
      tracingSettings({
        OTEL_TRACES_EXPORTER: "otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL: "grpc",
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: "http/json",
      })?.protocol,
    ).toBe("http/json");
  });

  it("names the variable and the accepted values when one is wrong", () => {
    expect(() => tracingSettings({ OTEL_TRACES_EXPORTER: "jaeger" })).toThrow(ConfigError);
    expect(() => tracingSettings({ OTEL_TRACES_EXPORTER: "jaeger" })).toThrow(
      'OTEL_TRACES_EXPORTER: unknown exporter "jaeger" (otlp, console, none)',
    );
    expect(() =>
      tracingSettings({ OTEL_TRACES_EXPORTER: "otlp", OTEL_EXPORTER_OTLP_PROTOCOL: "udp" }),
    ).toThrow('OTEL_EXPORTER_OTLP_PROTOCOL: unknown protocol "udp" (http/protobuf, http/json, grpc)');
  });

  it("off, leaves access control's per-call hooks as they are: no wrapper on the Select path", async () => {
    const tracing = await startTracing({
      env: {},
      logger: createLogger("silent"),
      strategyOf: () => undefined,
    });
    const access = { wrap: (binding: ServiceBinding) => binding, close() {} };
    expect(tracing.around(access)).toBe(access);
  });
});
