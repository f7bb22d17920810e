import type { BackendSpec, HealthCheckSpec, QuotaLimitSpec, ServiceConfig } from "./specs.js";

/** Every field optional, arrays whole: the shape of a request before defaults. */
export type DeepPartial<T> = T extends readonly (infer U)[]
  ? readonly DeepPartial<U>[]
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;

/** ServiceConfig as a request gives it: unset fields are undefined. */
export type ServiceConfigInput = DeepPartial<ServiceConfig>;

/** One backend as a request gives it. */
export type BackendInput = DeepPartial<Omit<BackendSpec, "host" | "port" | "quotas" | "healthCheck">> & {
  readonly address: string;
  readonly quotas?: readonly DeepPartial<QuotaLimitSpec>[];
  readonly healthCheck?: DeepPartial<HealthCheckSpec>;
};

/** REPLACE: the request is the whole service. MERGE: add or update the listed backends only. */
export type RegisterMode = "replace" | "merge";

/** The mode of a Register that names none. */
export const DEFAULT_REGISTER_MODE: RegisterMode = "replace";

/** A Register call in domain terms. */
export interface RegisterInput {
  readonly service: string;
  /** Undefined: keep the current config (MERGE) or use the defaults (REPLACE). */
  readonly config: ServiceConfigInput | undefined;
  readonly backends: readonly BackendInput[];
  /** Undefined: DEFAULT_REGISTER_MODE. */
  readonly mode: RegisterMode | undefined;
}
