/**
 * What the state-of-the-world and the delta stream share: the hooks they report to, their
 * limits, ACK/NACK accounting and writing with bounded buffering.
 */
import type * as grpc from "@grpc/grpc-js";
import type { ResourceCatalog } from "./resource-catalog.js";
import { type ResourceType, resourceTypeOf } from "./xds-protos.js";

/** A NACK as a client sent it: the rejected response and the client's own error. */
export interface Rejection {
  readonly node: string;
  readonly typeUrl: string;
  /** The version the client still runs (the last one it accepted). */
  readonly version: string;
  readonly nonce: string;
  readonly code: number;
  readonly message: string;
}

/** Where streams report (metrics and logs, X3). Hooks must not throw. */
export interface XdsObserver {
  pushed(type: ResourceType): void;
  acked(type: ResourceType): void;
  nacked(type: ResourceType, rejection: Rejection): void;
}

/** Limits of one stream. */
export interface StreamLimits {
  /** Resource names one stream may subscribe to, per type. */
  readonly maxResourceNames: number;
  /** Responses held unwritten for a slow client; past it, changes wait for `drain` and are then sent whole. */
  readonly maxQueuedResponses: number;
}

/** The parts of a request both protocols carry, as proto-loader decodes them. */
export interface RequestCommon {
  readonly node?: { readonly id?: string } | null;
  readonly type_url: string;
  readonly response_nonce: string;
  readonly error_detail?: { readonly code?: number; readonly message?: string } | null;
}

/** A duplex ADS call. */
export type AdsCall = grpc.ServerDuplexStream<unknown, object>;

/** An error that ends a stream with a status (bad input from the client). */
export class StreamError extends Error {
  constructor(
    readonly code: grpc.status,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Classifies `request` against the nonce of the last response of its type: "stale" (answers
 * an older response; a newer one is on its way), "ack", "nack", or "none" (not an answer).
 * A NACK is reported with the client's error.
 */
export function answerOf(
  request: RequestCommon & { readonly version_info?: string },
  type: ResourceType,
  lastNonce: string | undefined,
  node: string,
  observer: XdsObserver,
): "none" | "stale" | "ack" | "nack" {
  if (!request.response_nonce) return "none";
  if (request.response_nonce !== lastNonce) return "stale";
  if (!request.error_detail) {
    observer.acked(type);
    return "ack";
  }
  observer.nacked(type, {
    node,
    typeUrl: request.type_url,
    version: request.version_info ?? "",
    nonce: request.response_nonce,
    code: request.error_detail.code ?? 0,
    message: request.error_detail.message ?? "",
  });
  return "nack";
}

/** Checks a list of resource names against the limit, naming the field. */
export function checkNames(field: string, count: number, limits: StreamLimits): void {
  if (count > limits.maxResourceNames)
    throw new StreamError(
      8, // RESOURCE_EXHAUSTED
      `${field}: ${count} resource names, over xds.maxResourceNames=${limits.maxResourceNames}`,
    );
}

/** True when `call` can take another response without passing the buffering limit. */
export function writable(call: AdsCall, limits: StreamLimits): boolean {
  return call.writableLength < limits.maxQueuedResponses;
}

/** Per-type state every stream keeps: whether a change waits for the client to read. */
export interface PendingState {
  pending: boolean;
}

/**
 * What both stream kinds share: the call, the catalog they read, the client's node id (for
 * logs) and resending what waited while the client did not read.
 */
export abstract class AdsStream<State extends PendingState> {
  protected readonly types = new Map<ResourceType, State>();
  protected node = "(unknown node)";
  protected sequence = 0;

  constructor(
    protected readonly call: AdsCall,
    protected readonly catalog: ResourceCatalog,
    protected readonly observer: XdsObserver,
    protected readonly limits: StreamLimits,
  ) {
    call.on("drain", () => {
      for (const [type, state] of this.types) if (state.pending) this.send(type, false);
    });
  }

  /** Handles one request; throws StreamError for input that ends the stream. */
  abstract onRequest(request: RequestCommon): void;

  /** Sends what changed among `changed` services to the types that follow them. */
  abstract onCatalogChange(changed: ReadonlySet<string>): void;

  /** Sends the type's resources (unless `force`, only what changed). */
  protected abstract send(type: ResourceType, force: boolean): void;

  /** The resource type `request` asks for; notes the client's node id, sent on a stream's first request. */
  protected typeOf(request: RequestCommon): ResourceType {
    if (request.node?.id) this.node = request.node.id;
    const type = resourceTypeOf(request.type_url);
    if (!type) throw new StreamError(3, `type_url: ${JSON.stringify(request.type_url)} is not served here`);
    return type;
  }
}
