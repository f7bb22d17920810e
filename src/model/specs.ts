/**
 * The registration model in domain terms: what a service and its backends are, with every
 * default resolved and every duration in milliseconds. rpc/codec/ converts to and from proto.
 */

/** Health of one backend (behaviour.md H1). */
export type HealthState = "healthy" | "degraded" | "unhealthy" | "recovering";

/** How a service routes the Selects of one session (behaviour.md P1). */
export type RoutingMode = "per_command" | "stateful" | "hybrid";

export type QuotaAlgorithm = "sliding_window" | "token_bucket" | "fixed_window";

/** A limit on one dimension of a backend's usage (behaviour.md Q1). */
export interface QuotaLimitSpec {
  readonly dimension: string;
  readonly limit: number;
  readonly windowMs: number;
  readonly algorithm: QuotaAlgorithm;
  readonly buckets: number;
}

/** An active check (behaviour.md H5). */
export interface HealthCheckSpec {
  readonly probe:
    | { readonly kind: "tcp" }
    | { readonly kind: "grpc"; readonly service: string }
    | {
        readonly kind: "http";
        readonly path: string;
        readonly expectedStatusMin: number;
        readonly expectedStatusMax: number;
        readonly host: string;
      };
  readonly intervalMs: number;
  readonly timeoutMs: number;
  /** 0: the backend's own port. */
  readonly port: number;
}

/** One backend as registered. */
export interface BackendSpec {
  readonly id: string;
  readonly address: string;
  readonly host: string;
  readonly port: number;
  readonly weight: number;
  readonly zone: string;
  readonly tier: number;
  readonly labels: Readonly<Record<string, string>>;
  /** 0: unlimited. */
  readonly maxConnections: number;
  readonly quotas: readonly QuotaLimitSpec[];
  readonly healthCheck: HealthCheckSpec | undefined;
  /** 0: no lease. */
  readonly leaseTtlMs: number;
}

/** A strategy by registered name, its raw settings, and an optional fallback (S9, S17). */
export interface StrategySpec {
  readonly name: string;
  readonly settings: Readonly<Record<string, number | string | boolean>>;
  readonly fallback: StrategySpec | undefined;
}

export interface HealthPolicy {
  readonly failureThreshold: number;
  readonly recoverySuccesses: number;
  readonly probeIntervalMs: number;
  readonly allowedStates: readonly HealthState[];
  readonly initialState: HealthState;
  readonly check: HealthCheckSpec | undefined;
  /** 0: never. */
  readonly deregisterCriticalAfterMs: number;
}

export interface OutlierPolicy {
  readonly enabled: boolean;
  readonly intervalMs: number;
  readonly baseEjectionTimeMs: number;
  readonly maxEjectionTimeMs: number;
  readonly maxEjectionPercent: number;
  readonly successRate: EjectionRule & { readonly stdevFactor: number };
  readonly failurePercentage: EjectionRule & { readonly threshold: number };
}

export interface EjectionRule {
  readonly enforcementPercentage: number;
  readonly minimumHosts: number;
  readonly requestVolume: number;
}

export interface QuotaPolicy {
  readonly filterThreshold: number;
  readonly shadow: boolean;
  readonly watchThresholds: readonly number[];
}

export interface SessionPolicy {
  readonly routingMode: RoutingMode;
  /** Empty: the NNTP default set. */
  readonly statefulCommands: readonly string[];
  readonly modeReaderStateful: boolean;
  readonly idleTtlMs: number;
  readonly allowRepin: boolean;
  readonly negativeTtlMs: number;
}

export interface SlowStartPolicy {
  readonly windowMs: number;
  readonly aggression: number;
  readonly minWeightPercent: number;
}

export interface LoadPolicy {
  readonly panicThresholdPercent: number;
  readonly failOpen: boolean;
  readonly slowStart: SlowStartPolicy | undefined;
  readonly backpressureSoftPercent: number;
  readonly backpressureHardPercent: number;
  readonly zoneMinHealthyPercent: number;
  readonly ticketLeaseMs: number;
}

/** Everything a service can tune, resolved. */
export interface ServiceConfig {
  readonly strategy: StrategySpec;
  readonly health: HealthPolicy;
  readonly outlier: OutlierPolicy;
  readonly quota: QuotaPolicy;
  readonly session: SessionPolicy;
  readonly load: LoadPolicy;
}
