import type { LayerFilter } from "./filters/filter-table.js";

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
   * Named filters from the layers around the balancer (negative availability, session pin
   * capacity, quota denials; filters/filter-table.ts); undefined for a plain Select.
   */
  readonly filters?: readonly LayerFilter[] | undefined;
  /** False: never an Unhealthy backend's probe selection (H2), e.g. for a session about to be pinned. */
  readonly allowProbe?: boolean;
}

/** Distinct backends a Select returns when the request leaves count unset (0). */
export const DEFAULT_SELECT_COUNT = 1;

/** A Select's fields as a transport gives them: count 0 means "unset". */
export type SelectQueryInput = Omit<SelectQuery, "count"> & { readonly count: number };

/** The query with the core's defaults applied (count 0 -> DEFAULT_SELECT_COUNT); limits are checked by the balancer. */
export function selectQueryOf(input: SelectQueryInput): SelectQuery {
  return { ...input, count: input.count || DEFAULT_SELECT_COUNT };
}
