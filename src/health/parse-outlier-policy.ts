/** The `outlier` section of a service config (H7): passive ejection by success rate and failure percentage. */
import type { PolicyParser } from "../model/policy-parser.js";

export const DEFAULT_OUTLIER_INTERVAL_MS = 10_000;
export const DEFAULT_BASE_EJECTION_TIME_MS = 30_000;
export const DEFAULT_MAX_EJECTION_TIME_MS = 300_000;
export const DEFAULT_MAX_EJECTION_PERCENT = 10;
/** Standard deviations (in thousandths) below the mean success rate that eject: 1900 = 1.9. */
export const DEFAULT_SUCCESS_RATE_STDEV_FACTOR = 1900;
export const DEFAULT_FAILURE_PERCENTAGE_THRESHOLD = 85;
export const DEFAULT_ENFORCEMENT_PERCENTAGE = 100;
export const DEFAULT_SUCCESS_RATE_MINIMUM_HOSTS = 5;
export const DEFAULT_FAILURE_PERCENTAGE_MINIMUM_HOSTS = 5;
export const DEFAULT_EJECTION_REQUEST_VOLUME = 100;
export const DEFAULT_FAILURE_PERCENTAGE_REQUEST_VOLUME = 50;

const MAX_HOSTS = 100_000;
const MAX_REQUEST_VOLUME = 10_000_000;

/** Parses `config.outlier`, recording every bad field under `path`. */
export const parseOutlierPolicy: PolicyParser<"outlier"> = (input, path, v) => {
  const o = input ?? {};
  const sr = o.successRate ?? {};
  const fp = o.failurePercentage ?? {};
  const int = (field: string, value: number | undefined, max: number, fallback: number) =>
    v.intInRange(`${path}.${field}`, value || undefined, 1, max, fallback);
  const duration = (field: string, value: number | undefined, fallback: number) =>
    v.duration(`${path}.${field}`, value, fallback);
  return {
    enabled: o.enabled ?? false,
    intervalMs: duration("interval", o.intervalMs, DEFAULT_OUTLIER_INTERVAL_MS),
    baseEjectionTimeMs: duration("base_ejection_time", o.baseEjectionTimeMs, DEFAULT_BASE_EJECTION_TIME_MS),
    maxEjectionTimeMs: duration("max_ejection_time", o.maxEjectionTimeMs, DEFAULT_MAX_EJECTION_TIME_MS),
    maxEjectionPercent: int("max_ejection_percent", o.maxEjectionPercent, 100, DEFAULT_MAX_EJECTION_PERCENT),
    successRate: {
      stdevFactor: int(
        "success_rate.stdev_factor",
        sr.stdevFactor,
        MAX_HOSTS,
        DEFAULT_SUCCESS_RATE_STDEV_FACTOR,
      ),
      enforcementPercentage: int(
        "success_rate.enforcement_percentage",
        sr.enforcementPercentage,
        100,
        DEFAULT_ENFORCEMENT_PERCENTAGE,
      ),
      minimumHosts: int(
        "success_rate.minimum_hosts",
        sr.minimumHosts,
        MAX_HOSTS,
        DEFAULT_SUCCESS_RATE_MINIMUM_HOSTS,
      ),
      requestVolume: int(
        "success_rate.request_volume",
        sr.requestVolume,
        MAX_REQUEST_VOLUME,
        DEFAULT_EJECTION_REQUEST_VOLUME,
      ),
    },
    failurePercentage: {
      threshold: int("failure_percentage.threshold", fp.threshold, 100, DEFAULT_FAILURE_PERCENTAGE_THRESHOLD),
      enforcementPercentage: int(
        "failure_percentage.enforcement_percentage",
        fp.enforcementPercentage,
        100,
        DEFAULT_ENFORCEMENT_PERCENTAGE,
      ),
      minimumHosts: int(
        "failure_percentage.minimum_hosts",
        fp.minimumHosts,
        MAX_HOSTS,
        DEFAULT_FAILURE_PERCENTAGE_MINIMUM_HOSTS,
      ),
      requestVolume: int(
        "failure_percentage.request_volume",
        fp.requestVolume,
        MAX_REQUEST_VOLUME,
        DEFAULT_FAILURE_PERCENTAGE_REQUEST_VOLUME,
      ),
    },
  };
};
