/**
 * Named defaults of a registration's backends, with units in their names (the README's
 * Configuration section gives the values). A field left unset (proto zero value) takes the
 * default here. Each config section's defaults live with the subsystem that parses it.
 */
export const DEFAULT_WEIGHT = 1;
export const MAX_WEIGHT = 10_000;
export const DEFAULT_PROBE_INTERVAL_MS = 10_000;
export const DEFAULT_PROBE_TIMEOUT_MS = 1_000;
export const DEFAULT_HTTP_STATUS_MIN = 200;
export const DEFAULT_HTTP_STATUS_MAX = 399;
export const DEFAULT_QUOTA_BUCKETS = 6;
