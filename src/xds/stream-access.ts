/**
 * Who may read what over xDS (behaviour.md A2, X1): with authorization on, a stream presents
 * a bearer token in its metadata (or a mapped client certificate) when it opens, and every resource it asks for is a service
 * it needs `watch:<service>` on. A wildcard subscription (all listeners or all clusters) needs
 * `watch:*`. Resource names are Fulcrum service names, so one check covers every type.
 */
import * as grpc from "@grpc/grpc-js";
import { StreamError } from "./stream-support.js";

/** What one stream may read: undefined when `service` is allowed, else the scope it lacks. */
export type XdsAccess = (service: string) => string | undefined;

/**
 * Decides a stream's access from its metadata and its connection's verified client
 * certificate (mTLS) when it opens: its access, or a string saying why it is not authenticated.
 */
export type XdsAuthorizer = (
  metadata: grpc.Metadata,
  connection: ReturnType<grpc.ServerDuplexStream<unknown, unknown>["getAuthContext"]>,
) => XdsAccess | string;

/** The parts of a SotW or delta request that name resources. */
export interface NamedRequest {
  readonly type_url?: string;
  readonly response_nonce?: string;
  readonly resource_names?: readonly string[];
  readonly resource_names_subscribe?: readonly string[];
}

const WILDCARD_TYPES = [".Listener", ".Cluster"];

/** Throws PERMISSION_DENIED naming the first scope `request` needs and `access` lacks. */
export function checkAccess(request: NamedRequest, access: XdsAccess): void {
  const delta = request.resource_names_subscribe !== undefined;
  const names = (delta ? request.resource_names_subscribe : request.resource_names) ?? [];
  const wildcardType = WILDCARD_TYPES.some((suffix) => request.type_url?.endsWith(suffix));
  // No names on LDS/CDS is a wildcard subscription: every SotW request of a wildcard client,
  // but on a delta stream only the first request of a type (later ones are ACKs or changes).
  const wildcard = names.length === 0 && wildcardType && (!delta || !request.response_nonce);
  const asked = wildcard ? ["*"] : names;
  for (const name of asked) {
    const missing = access(name);
    if (missing) throw new StreamError(grpc.status.PERMISSION_DENIED, `missing scope ${missing}`);
  }
}
