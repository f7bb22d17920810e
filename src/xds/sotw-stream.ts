/**
 * One state-of-the-world ADS stream (StreamAggregatedResources). Each response of a type
 * lists every subscribed resource of that type that exists (for LDS and CDS a missing one is
 * a deletion); a response is sent when the client asks or subscribes to something new, and
 * pushed unasked when the content of a subscribed resource changes. An ACK gets no reply; a
 * NACK is reported and the client keeps what it last accepted until the next change.
 */
import { shortHash, type XdsResource } from "./service-resources.js";
import { AdsStream, answerOf, checkNames, type RequestCommon, writable } from "./stream-support.js";
import { type ResourceType, TYPE_URL } from "./xds-protos.js";

/** A DiscoveryRequest as proto-loader decodes it. */
export interface DiscoveryRequest extends RequestCommon {
  readonly version_info: string;
  readonly resource_names: readonly string[];
}

interface TypeState {
  /** "all": a wildcard subscription (LDS or CDS asked with no names). */
  names: ReadonlySet<string> | "all";
  /** Content keys of what the last response held, by name. */
  sent: ReadonlyMap<string, string>;
  nonce: string | undefined;
  /** A change arrived while the client was not reading. */
  pending: boolean;
}

/** X3: version_info of a response: the service version for one resource, a hash of name=version pairs otherwise. */
function versionInfoOf(resources: readonly { name: string; version: string }[]): string {
  if (resources.length === 0) return "0";
  if (resources.length === 1) return resources[0]!.version;
  const pairs = resources.map((r) => `${r.name}=${r.version}`).sort();
  return `h${shortHash(pairs.join("\n"))}`;
}

function sameKeys(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [name, key] of a) if (b.get(name) !== key) return false;
  return true;
}

function sameNames(a: ReadonlySet<string> | "all", b: ReadonlySet<string> | "all"): boolean {
  if (a === "all" || b === "all") return a === b;
  return a.size === b.size && [...a].every((name) => b.has(name));
}

/** One SotW stream's subscriptions and what it was last sent. */
export class SotwStream extends AdsStream<TypeState> {
  /** Handles one DiscoveryRequest; throws StreamError for input that ends the stream. */
  onRequest(request: DiscoveryRequest): void {
    const type = this.typeOf(request);
    checkNames("resource_names", request.resource_names.length, this.limits);
    const state = this.types.get(type);
    if (answerOf(request, type, state?.nonce, this.node, this.observer) === "stale") return;
    const wildcard =
      (type === "listener" || type === "cluster") &&
      request.resource_names.length === 0 &&
      (!state || state.names === "all");
    const names = wildcard ? "all" : new Set(request.resource_names);
    if (state && sameNames(state.names, names)) return;
    this.types.set(type, { names, sent: state?.sent ?? new Map(), nonce: state?.nonce, pending: false });
    this.send(type, true);
  }

  /** Pushes every subscribed type whose resources changed among `changed` services. */
  onCatalogChange(changed: ReadonlySet<string>): void {
    for (const [type, state] of this.types) {
      const names = state.names;
      if (names === "all" || [...changed].some((name) => names.has(name))) this.send(type, false);
    }
  }

  private subscribed(
    state: TypeState,
    type: ResourceType,
  ): { name: string; version: string; resource: XdsResource }[] {
    const names = state.names === "all" ? [...this.catalog.names()] : [...state.names];
    return names.flatMap((name) => {
      const service = this.catalog.get(name);
      return service ? [{ name, version: service.version, resource: service.byType[type] }] : [];
    });
  }

  /** Sends the type's resources; unless `force`, only when their content changed. */
  protected send(type: ResourceType, force: boolean): void {
    const state = this.types.get(type);
    if (!state) return;
    if (!writable(this.call, this.limits)) {
      state.pending = true;
      return;
    }
    const current = this.subscribed(state, type);
    const keys = new Map(current.map((entry) => [entry.name, entry.resource.key]));
    if (!force && sameKeys(keys, state.sent)) return;
    const version = versionInfoOf(current);
    const nonce = `${++this.sequence}:${version}`;
    Object.assign(state, { sent: keys, nonce, pending: false });
    this.call.write({
      version_info: version,
      resources: current.map((entry) => entry.resource.body),
      type_url: TYPE_URL[type],
      nonce,
      control_plane: { identifier: "fulcrum" },
    });
    this.observer.pushed(type);
  }
}
