/** A Select in domain terms, after validation. */
export interface SelectQuery {
  readonly hashKey: string;
  readonly exclude: readonly string[];
  readonly zone: string;
  readonly labels: Readonly<Record<string, string>>;
  /** Distinct backends wanted, >= 1. */
  readonly count: number;
  readonly explain: boolean;
}
