/**
 * Server-wide limits on what a request may ask for. Every one is explicit and configurable
 * (config/schema.ts); a request past one gets INVALID_ARGUMENT or RESOURCE_EXHAUSTED naming it.
 */
export interface RegistryLimits {
  readonly maxServices: number;
  readonly maxBackendsPerService: number;
  readonly maxNameLength: number;
  readonly maxLabelsPerBackend: number;
  /** UTF-8 bytes of one label's key plus value (memory is bounded by bytes, not only counts). */
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

/**
 * How large an error answer may grow. Status message and details travel in HTTP/2 trailers,
 * which clients cap (grpc-js: 8 KiB of metadata), so both are bounded; these defaults keep the
 * largest answer (message, 10 violations) near 5 KiB.
 */
export const DEFAULT_MAX_ERROR_VIOLATIONS = 10;
/** UTF-8 bytes of an error message and of each violation's field and description. */
export const DEFAULT_MAX_ERROR_TEXT_BYTES = 200;
