/**
 * Server-wide limits on what a request may ask for. Every one is explicit and configurable
 * (config/schema.ts); a request past one gets INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming it.
 */
export interface RegistryLimits {
  readonly maxServices: number;
  readonly maxBackendsPerService: number;
  readonly maxNameLength: number;
  readonly maxLabelsPerBackend: number;
  /** UTF-8 bytes of one label's key plus value (issue 10 item 9: memory is bounded by bytes, not only counts). */
  readonly maxLabelBytes: number;
  readonly maxQuotasPerBackend: number;
  readonly maxSelectCount: number;
  readonly maxExclude: number;
}

export const DEFAULT_REGISTRY_LIMITS: RegistryLimits = {
  maxServices: 10_000,
  maxBackendsPerService: 10_000,
  maxNameLength: 253,
  maxLabelsPerBackend: 64,
  maxLabelBytes: 1_024,
  maxQuotasPerBackend: 16,
  maxSelectCount: 64,
  maxExclude: 1_024,
};
