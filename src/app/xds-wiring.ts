/**
 * Connects the xDS server to one replica: membership through a Watch subscription of every
 * service plus the services' own status, reports into metrics and the log (X3).
 */
import type * as grpc from "@grpc/grpc-js";
import type { FulcrumConfig } from "../config/schema.js";
import type { Logger } from "../observability/logger.js";
import type { Metrics } from "../observability/metrics.js";
import type { XdsAuthorizer } from "../xds/stream-access.js";
import { startXdsServer, type XdsServerHandle } from "../xds/xds-server.js";
import type { Core } from "./build-core.js";

/** How the xDS port checks its callers: authorization (when on) and TLS (when configured). */
export interface XdsSecurity {
  readonly authorize?: XdsAuthorizer | undefined;
  readonly credentials?: grpc.ServerCredentials | undefined;
}

/** Starts the xDS server of `core` on `config.xds`. */
export function startXds(
  core: Core,
  config: FulcrumConfig,
  metrics: Metrics,
  logger: Logger,
  security: XdsSecurity,
): Promise<XdsServerHandle> {
  return startXdsServer({
    ...config.xds,
    ...security,
    maxMessageBytes: config.limits.maxMessageBytes,
    source: {
      describe: (service) => core.services.status(service),
      names: () => core.registry.names(),
      follow(onChange) {
        const watcher = core.watchHub.subscribe([], new Map());
        void (async () => {
          for await (const message of watcher) if (message.service) onChange(message.service);
        })().catch((cause: unknown) => logger.error({ err: cause }, "xDS stopped following the registry"));
        return () => watcher.close();
      },
    },
    observer: {
      pushed: (type) => metrics.recordXds("push", type),
      acked: (type) => metrics.recordXds("ack", type),
      nacked(type, rejection) {
        metrics.recordXds("nack", type);
        logger.warn(
          { xds: rejection },
          `xDS client ${rejection.node} rejected (NACK) ${type}: ${rejection.message}`,
        );
      },
      streams: (protocol, open) => metrics.setXdsStreams(protocol, open),
      rejected: (message) => logger.warn({ xds: { message } }, `xDS stream ended: ${message}`),
      failed: (cause) =>
        logger.error({ err: cause }, "xDS resources could not be rebuilt; streams keep their last answer"),
    },
  });
}
