/** The result of one call to a backend, as Report carries it. */
export type CallResult = "success" | "failure" | "timeout" | "rejected" | "rate_limited" | "not_found";

/** One outcome in domain terms. Either `ticket`, or `service` + `backendId`, names the call. */
export interface Outcome {
  readonly ticket: string;
  readonly service: string;
  readonly backendId: string;
  /** Undefined when the request left it unset: rejected by validation. */
  readonly result: CallResult | undefined;
  readonly latencyMs: number;
  readonly usage: Readonly<Record<string, number>>;
  readonly retryAfterMs: number;
  readonly resourceKey: string;
  readonly remaining: Readonly<Record<string, number>>;
}
