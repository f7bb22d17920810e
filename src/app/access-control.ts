/**
 * Assembles authorization (behaviour.md A2) and the secure-by-default rule (A3) from config:
 * with `auth.tokensFile`, every binding is wrapped by authorize.ts, both transports put the
 * caller's credentials in the context, and the gRPC port's extras (reflection, health) are
 * guarded. Without it, the server only starts on loopback addresses (or with `--insecure`).
 */
import type { ContextValues } from "@connectrpc/connect";
import type * as grpc from "@grpc/grpc-js";
import { allows, scopeFor } from "../auth/scopes.js";
import { ConfigError } from "../config/load-config.js";
import type { FulcrumConfig } from "../config/schema.js";
import type { Logger } from "../observability/logger.js";
import type { ConnectServerOptions, HttpRoute } from "../rpc/connect-server.js";
import type { GrpcCallInfo, ServiceBinding } from "../rpc/grpc-server.js";
import { authorizeBinding } from "../rpc/interceptors/authorize.js";
import {
  CALL_CREDENTIALS,
  credentialsOfGrpcCall,
  credentialsOfHttpRequest,
  grpcCredentials,
} from "../rpc/interceptors/call-credentials.js";
import { grpcExtrasGuard } from "../rpc/interceptors/grpc-extras-guard.js";
import type { XdsAuthorizer } from "../xds/stream-access.js";
import { openAccessFile } from "./access-file.js";

/** What the servers need from access control; all pass-through when auth is off. */
export interface AccessControl {
  /** Wraps a binding with authorization (identity when auth is off). */
  wrap(binding: ServiceBinding): ServiceBinding;
  readonly grpcContextValues?: (call: GrpcCallInfo) => ContextValues;
  readonly grpcInterceptors?: grpc.ServerInterceptor[];
  readonly webContextValues?: ConnectServerOptions["contextValues"];
  /** Runs before the web port's plain HTTP routes: answers 401 when probes are protected. */
  readonly httpGuard?: HttpRoute;
  /** What each xDS stream may read (`watch:<service>`), from the token in its metadata. */
  readonly xdsAuthorize?: XdsAuthorizer;
  close(): void;
}

/** True for addresses only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host);
}

function requireLoopbackOrInsecure(config: FulcrumConfig, logger: Logger): void {
  const exposed = [...new Set([config.grpc.host, config.web.host, config.xds.host])].filter(
    (host) => !isLoopback(host),
  );
  if (exposed.length === 0) {
    logger.warn("no auth.tokensFile: every caller may do everything; serving on loopback only");
    return;
  }
  if (!config.auth.insecure)
    throw new ConfigError(
      `refusing to serve without authorization on ${exposed.join(", ")}: set auth.tokensFile (--tokens-file), bind loopback, or pass --insecure`,
    );
  logger.warn(
    { hosts: exposed },
    "--insecure: serving WITHOUT authorization on a non-loopback address; anyone who can reach it may change and read everything",
  );
}

/** Access control from config; throws ConfigError for a bad tokens file or an unsafe bind. */
export function createAccessControl(config: FulcrumConfig, logger: Logger): AccessControl {
  const file = config.auth.tokensFile;
  if (!file) {
    requireLoopbackOrInsecure(config, logger);
    return { wrap: (binding) => binding, close() {} };
  }
  const access = openAccessFile(file, config.auth.reloadCheckMs, logger);
  const table = access.current;
  const protect = config.auth.protectProbes;
  return {
    wrap: (binding) => authorizeBinding(binding, { table }),
    grpcContextValues: credentialsOfGrpcCall,
    grpcInterceptors: [grpcExtrasGuard({ table, protectHealth: protect })],
    webContextValues: credentialsOfHttpRequest,
    xdsAuthorize: (metadata, connection) => {
      const principal = table().authenticate(grpcCredentials(metadata, connection));
      if (!principal)
        return "missing or unknown credentials: send `authorization: Bearer <token>` in the stream's metadata, or a client certificate the tokens file maps";
      return (service) =>
        allows(principal.grants, "watch", service) ? undefined : scopeFor("watch", service);
    },
    ...(protect && {
      httpGuard: (req, res) => {
        const credentials = credentialsOfHttpRequest(req).get(CALL_CREDENTIALS);
        if (table().authenticate(credentials)) return false;
        res.writeHead(401, { "content-type": "text/plain", "www-authenticate": "Bearer" });
        res.end("missing or unknown credentials\n");
        return true;
      },
    }),
    close: access.close,
  };
}
