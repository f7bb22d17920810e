import type { BackendState } from "./backend-state.js";

/** A Select in domain terms, after validation. */
export interface SelectQuery {
  readonly hashKey: string;
  readonly exclude: readonly string[];
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Distinct backends wanted, >= 1. */
  readonly count: number;
  readonly explain: boolean;
  /**
   * An extra per-request filter from the layers around the balancer (session pin capacity,
   * negative availability, quota denials); undefined for a plain Select.
   */
  readonly accept?: ((backend: BackendState) => boolean) | undefined;
  /** False: never an Unhealthy backend's probe selection (H2), e.g. for a session about to be pinned. */
  readonly allowProbe?: boolean;
}
