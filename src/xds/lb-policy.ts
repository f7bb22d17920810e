/**
 * What a Fulcrum strategy becomes over xDS. Proxyless gRPC (grpc-js-xds 1.14, grpcio 1.51)
 * accepts only ROUND_ROBIN and RING_HASH in `Cluster.lb_policy`, and its round robin ignores
 * endpoint weights (only locality weights count), so:
 * - weighted strategies (smooth_weighted, interleaved_weighted, weighted_random) become
 *   ROUND_ROBIN over one locality per backend whose `load_balancing_weight` is the backend's
 *   weight: the client's locality picker then spreads calls by weight;
 * - hashing strategies (ring_hash, maglev, rendezvous) become RING_HASH, endpoint weights
 *   sizing each backend's share of the ring, keyed by the `fulcrum-hash-key` request header;
 * - everything else (round_robin, random, least_load, power_of_two, most_available) becomes
 *   ROUND_ROBIN over equally weighted localities: least-request and load-aware picks stay
 *   Select-only, as neither client implements them through `lb_policy`.
 * A strategy's fallback is a Select-time concept and is not carried.
 */

/** The Cluster.lb_policy enum values Fulcrum emits. */
export type XdsLbPolicy = "ROUND_ROBIN" | "RING_HASH";

/** How one service's strategy is carried over xDS. */
export interface LbMapping {
  readonly lbPolicy: XdsLbPolicy;
  /** True when each backend's weight becomes its locality's weight (weighted round robin). */
  readonly weightedLocalities: boolean;
}

/** The request header a RING_HASH route hashes on. */
export const HASH_KEY_HEADER = "fulcrum-hash-key";

const WEIGHTED = new Set(["smooth_weighted", "interleaved_weighted", "weighted_random"]);
const HASHING = new Set(["ring_hash", "maglev", "rendezvous"]);

/** The xDS form of the strategy registered as `strategy`. */
export function lbMappingOf(strategy: string): LbMapping {
  if (HASHING.has(strategy)) return { lbPolicy: "RING_HASH", weightedLocalities: false };
  return { lbPolicy: "ROUND_ROBIN", weightedLocalities: WEIGHTED.has(strategy) };
}
