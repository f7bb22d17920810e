/**
 * The services grpc-js libraries add to the gRPC port (reflection, grpc.health.v1) are not
 * bindings, so authorize.ts does not see them: this server interceptor does. With auth on,
 * reflection needs `admin` (behaviour.md A2); health stays open unless `protectHealth`, then
 * any known caller may ask. Every other path passes through untouched.
 */
import * as grpc from "@grpc/grpc-js";
import type { AccessTable } from "../../auth/access-table.js";
import { grpcCredentials } from "./call-credentials.js";

/** Options of grpcExtrasGuard. */
export interface GrpcExtrasGuardOptions {
  readonly table: () => AccessTable;
  readonly protectHealth: boolean;
}

type Need = "admin" | "known";

function needOf(path: string, protectHealth: boolean): Need | undefined {
  if (path.startsWith("/grpc.reflection.")) return "admin";
  if (protectHealth && path.startsWith("/grpc.health.v1.")) return "known";
  return undefined;
}

/** A grpc-js ServerInterceptor enforcing the rules above. */
export function grpcExtrasGuard(options: GrpcExtrasGuardOptions): grpc.ServerInterceptor {
  return (method, call) => {
    const need = needOf(method.path, options.protectHealth);
    if (!need) return new grpc.ServerInterceptingCall(call);
    return new grpc.ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, forward) {
            const principal = options.table().authenticate(grpcCredentials(metadata, call.getAuthContext()));
            if (!principal) {
              call.sendStatus({
                code: grpc.status.UNAUTHENTICATED,
                details: "missing or unknown credentials",
              });
              return;
            }
            if (need === "admin" && !principal.grants.admin) {
              call.sendStatus({ code: grpc.status.PERMISSION_DENIED, details: "missing scope admin" });
              return;
            }
            forward(metadata);
          },
        });
      },
    });
  };
}
