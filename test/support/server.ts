import { type App, type AppDeps, createApp } from "../../src/app/create-app.js";
import { loadConfig } from "../../src/config/load-config.js";
import type { FulcrumConfigInput } from "../../src/config/schema.js";

/** A real Fulcrum on free loopback ports, silent, with optional config overrides and injected deps. */
export async function startFulcrum(
  overrides: FulcrumConfigInput = {},
  deps: Partial<AppDeps> = {},
): Promise<App> {
  const config = loadConfig({
    overrides: {
      logLevel: "silent",
      ...overrides,
      grpc: { port: 0, ...overrides.grpc },
      web: { port: 0, ...overrides.web },
      xds: { port: 0, ...overrides.xds },
    },
  });
  return createApp(config, deps);
}
