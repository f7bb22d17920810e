import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../../src/config/load-config.js";

function yamlFile(text: string): string {
  const file = join(mkdtempSync(join(tmpdir(), "fulcrum-config-")), "fulcrum.yaml");
  writeFileSync(file, text);
  return file;
}

describe("config (O3)", () => {
  it("has the documented defaults", () => {
    const config = loadConfig();
    expect(config.grpc).toEqual({ host: "127.0.0.1", port: 4770, idleTimeoutMs: 120_000 });
    expect(config.web).toEqual({
      host: "127.0.0.1",
      port: 4771,
      corsOrigins: [],
      dashboard: true,
      prefaceTimeoutMs: 10_000,
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
    });
    expect(config.limits.maxErrorViolations).toBe(10);
    expect(config.limits.maxErrorTextBytes).toBe(200);
    expect(config.limits.maxSelectCount).toBe(64);
  });

  it("layers file < env < flags", () => {
    const file = yamlFile("grpc:\n  port: 5000\nweb:\n  port: 5001\nlimits:\n  maxServices: 7\n");
    const config = loadConfig({
      file,
      env: { FULCRUM_WEB_PORT: "6001", FULCRUM_LIMITS_MAX_SERVICES: "8" },
      overrides: { limits: { maxServices: 9 } },
    });
    expect(config.grpc.port).toBe(5000);
    expect(config.web.port).toBe(6001);
    expect(config.limits.maxServices).toBe(9);
  });

  it("reads settings without a default from the environment too (FULCRUM_REDIS_URL)", () => {
    const config = loadConfig({
      env: { FULCRUM_REDIS_URL: "redis://127.0.0.1:7000", FULCRUM_REDIS_TLS_CA_FILE: "/etc/ca.pem" },
    });
    expect(config.redis.url).toBe("redis://127.0.0.1:7000");
    expect(config.redis.tlsCaFile).toBe("/etc/ca.pem");
  });

  it("names every bad field", () => {
    const file = yamlFile("grpc:\n  port: 70000\nlimits:\n  maxServices: 0\n  bogus: 1\n");
    let message = "";
    try {
      loadConfig({ file, env: { FULCRUM_WATCH_HEARTBEAT_MS: "soon" } });
    } catch (error) {
      expect(error).toBeInstanceOf(ConfigError);
      message = (error as Error).message;
    }
    expect(message).toContain("grpc.port");
    expect(message).toContain("limits.maxServices");
    expect(message).toContain("bogus");
    expect(message).toContain("watch.heartbeatMs");
  });

  it("bounds the quota lag and the margin's ring (Q9, Q10)", () => {
    const message = (overrides: Record<string, unknown>) => {
      try {
        loadConfig({ overrides });
      } catch (error) {
        return (error as Error).message;
      }
      return "";
    };
    expect(message({ quota: { upstreamLagMs: 1_000 } })).toBe("");
    expect(message({ quota: { upstreamLagMs: 1_001 } })).toContain("quota.upstreamLagMs");
    expect(message({ quota: { estimateMargin: { samples: 10_001 } } })).toContain(
      "quota.estimateMargin.samples",
    );
  });

  it("reports an unreadable file by name", () => {
    expect(() => loadConfig({ file: "/nonexistent/fulcrum.yaml" })).toThrow(
      /cannot read config file \/nonexistent\/fulcrum.yaml/,
    );
  });
});

describe("environment variables (O3, O7)", () => {
  it("reads every setting, optional ones and numbers included", () => {
    const config = loadConfig({
      env: { FULCRUM_REDIS_URL: "redis://127.0.0.1:6390", FULCRUM_REDIS_CONNECT_TIMEOUT_MS: "250" },
    });
    expect(config.redis.url).toBe("redis://127.0.0.1:6390");
    expect(config.redis.connectTimeoutMs).toBe(250);
    const watch = loadConfig({
      env: {
        FULCRUM_WATCH_QUEUE_BYTES_PER_WATCHER: "65536",
        FULCRUM_WATCH_HISTORY_BYTES_PER_SERVICE: "1048576",
      },
    }).watch;
    expect([watch.queueBytesPerWatcher, watch.historyBytesPerService]).toEqual([65_536, 1_048_576]);
    expect(loadConfig({ env: { FULCRUM_WEB_CORS_ORIGINS: "http://a.example, *" } }).web.corsOrigins).toEqual([
      "http://a.example",
      "*",
    ]);
  });

  it("rejects an unknown FULCRUM_* variable naming the nearest setting", () => {
    expect(() => loadConfig({ env: { FULCRUM_LIMITS_MAX_SERVICE: "5" } })).toThrow(
      new ConfigError(
        "unknown environment variable FULCRUM_LIMITS_MAX_SERVICE; did you mean FULCRUM_LIMITS_MAX_SERVICES?",
      ),
    );
  });

  it("leaves the bench's FULCRUM_BENCH_* variables and other programs' variables alone", () => {
    const config = loadConfig({ env: { FULCRUM_BENCH_WATCHERS: "200", PATH: "/bin", FULCRUMX: "1" } });
    expect(config.grpc.port).toBe(4770);
  });
});
