/**
 * The xDS server (X1-X3): the v3 Aggregated Discovery Service, state-of-the-world and delta,
 * on its own port over @grpc/grpc-js. It follows the registry through `XdsSource` (change
 * notifications plus service snapshots), rebuilds the resources of changed services on the
 * next turn of the event loop and pushes them to the streams that follow them.
 */
import * as grpc from "@grpc/grpc-js";
import type { ServiceStatus } from "../model/status.js";
import { type DeltaDiscoveryRequest, DeltaStream } from "./delta-stream.js";
import { ResourceCatalog } from "./resource-catalog.js";
import { type DiscoveryRequest, SotwStream } from "./sotw-stream.js";
import { checkAccess, type XdsAccess, type XdsAuthorizer } from "./stream-access.js";
import { type AdsCall, StreamError, type StreamLimits, type XdsObserver } from "./stream-support.js";
import { loadAdsService } from "./xds-protos.js";

/** How the xDS server reads membership. */
export interface XdsSource {
  /** The current status of `service`, or undefined when it is not registered. */
  describe(service: string): ServiceStatus | undefined;
  /** Calls `onChange(service)` after every change of a service (and once per service at start); returns the unsubscribe. */
  follow(onChange: (service: string) => void): () => void;
  /** Every registered service, re-read on the refresh interval (outlier ejection is not evented). */
  names(): readonly string[];
}

/** Stream kinds, for the open-streams gauge. */
export type XdsProtocol = "sotw" | "delta";

/** Where the server reports, beyond what each stream reports. */
export interface XdsServerObserver extends XdsObserver {
  streams(protocol: XdsProtocol, open: number): void;
  /** A stream ended with an error the client caused (the message names the field or limit). */
  rejected(message: string): void;
  /** Rebuilding resources after a change failed (a bug on our side); streams keep their last answer. */
  failed(cause: unknown): void;
}

/** Options of the xDS server. */
export interface XdsServerOptions extends StreamLimits {
  readonly host: string;
  readonly port: number;
  readonly maxStreams: number;
  /** How often every service is re-read, to follow changes that are not evented (ejections). */
  readonly refreshMs: number;
  readonly maxMessageBytes: number;
  readonly source: XdsSource;
  readonly observer: XdsServerObserver;
  /** With authorization on: what each stream may read (stream-access.ts); undefined serves everyone. */
  readonly authorize?: XdsAuthorizer | undefined;
  /** TLS (and mTLS) credentials; unset, plaintext. */
  readonly credentials?: grpc.ServerCredentials | undefined;
}

/** A running xDS server. */
export interface XdsServerHandle {
  readonly port: number;
  /** Ends every stream, then stops listening. */
  close(): Promise<void>;
}

type Stream = SotwStream | DeltaStream;

/** Starts the xDS server; resolves once it listens. */
export async function startXdsServer(options: XdsServerOptions): Promise<XdsServerHandle> {
  const catalog = new ResourceCatalog((service) => options.source.describe(service));
  const stopFollowing = followSource(catalog, options);
  const calls = new Map<AdsCall, XdsProtocol>();
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxMessageBytes,
    "grpc.max_send_message_length": options.maxMessageBytes,
  });
  server.addService(loadAdsService(), {
    StreamAggregatedResources: (call: AdsCall) => openStream(call, "sotw", catalog, calls, options),
    DeltaAggregatedResources: (call: AdsCall) => openStream(call, "delta", catalog, calls, options),
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync(
      `${options.host}:${options.port}`,
      options.credentials ?? grpc.ServerCredentials.createInsecure(),
      (error, bound) => (error ? reject(error) : resolve(bound)),
    ),
  );
  return {
    port,
    close() {
      stopFollowing();
      for (const call of calls.keys()) call.end();
      calls.clear();
      return new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
    },
  };
}

/**
 * Keeps the catalog in step with the source: a changed service is rebuilt once per turn of
 * the event loop, and every service is rebuilt each `refreshMs` (what changes without an
 * event, like quota headroom). Returns the function that stops it.
 */
function followSource(catalog: ResourceCatalog, options: XdsServerOptions): () => void {
  const dirty = new Set<string>();
  const flush = () => {
    const names = [...dirty];
    dirty.clear();
    // Runs from setImmediate: a throw here would end the process, not one request.
    try {
      catalog.refresh(names);
    } catch (cause) {
      options.observer.failed(cause);
    }
  };
  const markDirty = (service: string) => {
    if (dirty.size === 0) setImmediate(flush);
    dirty.add(service);
  };
  const unfollow = options.source.follow(markDirty);
  const refresher = setInterval(() => {
    for (const name of [...catalog.names(), ...options.source.names()]) markDirty(name);
  }, options.refreshMs);
  refresher.unref();
  return () => {
    unfollow();
    clearInterval(refresher);
  };
}

/** Ends a stream with `code`: emit('error') makes grpc-js send the status; destroy(error) would reset the stream without one. */
function refuse(
  call: AdsCall,
  code: grpc.status,
  message: string,
  observer: XdsServerOptions["observer"],
): void {
  observer.rejected(message);
  call.emit(
    "error",
    Object.assign(new Error(message), { code, details: message, metadata: new grpc.Metadata() }),
  );
}

/** Admits one ADS stream (stream limit, credentials) and serves it until it ends. */
function openStream(
  call: AdsCall,
  protocol: XdsProtocol,
  catalog: ResourceCatalog,
  calls: Map<AdsCall, XdsProtocol>,
  options: XdsServerOptions,
): void {
  const { observer } = options;
  const count = () => [...calls.values()].filter((p) => p === protocol).length;
  if (calls.size >= options.maxStreams) {
    refuse(
      call,
      grpc.status.RESOURCE_EXHAUSTED,
      `${calls.size} xDS streams open, the limit xds.maxStreams`,
      observer,
    );
    return;
  }
  const verdict = options.authorize?.(call.metadata, call.getAuthContext());
  if (typeof verdict === "string") {
    refuse(call, grpc.status.UNAUTHENTICATED, verdict, observer);
    return;
  }
  const access: XdsAccess | undefined = verdict;
  const stream: Stream =
    protocol === "sotw"
      ? new SotwStream(call, catalog, observer, options)
      : new DeltaStream(call, catalog, observer, options);
  const stopListening = catalog.listen((changed) => stream.onCatalogChange(changed));
  calls.set(call, protocol);
  observer.streams(protocol, count());
  const finish = () => {
    if (!calls.delete(call)) return;
    stopListening();
    observer.streams(protocol, count());
  };
  call.on("data", (request: DiscoveryRequest & DeltaDiscoveryRequest) => {
    try {
      if (access) checkAccess(request, access);
      stream.onRequest(request);
    } catch (error) {
      const failure =
        error instanceof StreamError ? error : new StreamError(grpc.status.INTERNAL, String(error));
      finish();
      refuse(call, failure.code, failure.message, observer);
    }
  });
  call.on("end", () => {
    finish();
    call.end();
  });
  for (const event of ["cancelled", "error", "close"]) call.on(event, finish);
}
