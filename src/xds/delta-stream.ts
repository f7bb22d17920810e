/**
 * One incremental ADS stream (DeltaAggregatedResources): the client subscribes and
 * unsubscribes by name (or "*" for every Listener / Cluster), tells what it already has in
 * `initial_resource_versions`, and gets only resources whose content changed plus the names
 * of removed ones. ACK and NACK are accounted as on a state-of-the-world stream.
 */
import { AdsStream, answerOf, checkNames, type RequestCommon, writable } from "./stream-support.js";
import { type ResourceType, TYPE_URL } from "./xds-protos.js";

/** A DeltaDiscoveryRequest as proto-loader decodes it. */
export interface DeltaDiscoveryRequest extends RequestCommon {
  readonly resource_names_subscribe: readonly string[];
  readonly resource_names_unsubscribe: readonly string[];
  readonly initial_resource_versions: Readonly<Record<string, string>>;
}

interface TypeState {
  readonly names: Set<string>;
  wildcard: boolean;
  /** Content keys of what the client holds, by name. */
  readonly sent: Map<string, string>;
  nonce: string | undefined;
  pending: boolean;
}

const WILDCARD = "*";

/** One delta stream's subscriptions and what the client holds. */
export class DeltaStream extends AdsStream<TypeState> {
  /** Handles one DeltaDiscoveryRequest; throws StreamError for input that ends the stream. */
  onRequest(request: DeltaDiscoveryRequest): void {
    const type = this.typeOf(request);
    const state = this.types.get(type) ?? this.open(type, request);
    answerOf(request, type, state.nonce, this.node, this.observer);
    for (const name of request.resource_names_subscribe) {
      if (name === WILDCARD) state.wildcard = true;
      else state.names.add(name);
    }
    for (const name of request.resource_names_unsubscribe) {
      if (name === WILDCARD) state.wildcard = false;
      else state.names.delete(name);
      state.sent.delete(name);
    }
    checkNames("resource_names_subscribe", state.names.size, this.limits);
    this.send(type);
  }

  /** Sends what changed among `changed` services to every type that follows them. */
  onCatalogChange(changed: ReadonlySet<string>): void {
    for (const [type, state] of this.types)
      if (state.wildcard || [...changed].some((name) => state.names.has(name) || state.sent.has(name)))
        this.send(type);
  }

  private open(type: ResourceType, request: DeltaDiscoveryRequest): TypeState {
    const initial = Object.entries(request.initial_resource_versions ?? {});
    checkNames("initial_resource_versions", initial.length, this.limits);
    const state: TypeState = {
      names: new Set(),
      // A first request naming nothing is a wildcard subscription (LDS and CDS only).
      wildcard: (type === "listener" || type === "cluster") && request.resource_names_subscribe.length === 0,
      sent: new Map(),
      nonce: undefined,
      pending: false,
    };
    for (const [name, version] of initial) {
      const service = this.catalog.get(name);
      // The client already holds this version: not resent until it changes.
      if (service?.version === version) state.sent.set(name, service.byType[type].key);
      else state.sent.set(name, "");
    }
    this.types.set(type, state);
    return state;
  }

  /** Sends resources whose content the client does not hold, and the names of removed ones. */
  protected send(type: ResourceType): void {
    const state = this.types.get(type)!;
    if (!writable(this.call, this.limits)) {
      state.pending = true;
      return;
    }
    state.pending = false;
    const wanted = new Set([...state.names, ...(state.wildcard ? this.catalog.names() : [])]);
    const resources: object[] = [];
    for (const name of wanted) {
      const service = this.catalog.get(name);
      const resource = service?.byType[type];
      if (!service || !resource || state.sent.get(name) === resource.key) continue;
      state.sent.set(name, resource.key);
      resources.push({ name, version: service.version, resource: resource.body });
    }
    const removed = [...state.sent.keys()].filter((name) => !this.catalog.get(name) || !wanted.has(name));
    for (const name of removed) state.sent.delete(name);
    if (resources.length === 0 && removed.length === 0) return;
    state.nonce = `${++this.sequence}`;
    this.call.write({
      system_version_info: "",
      resources,
      type_url: TYPE_URL[type],
      removed_resources: removed,
      nonce: state.nonce,
      control_plane: { identifier: "fulcrum" },
    });
    this.observer.pushed(type);
  }
}
