/** The `quota` section of a service config (Q5, Q8): the headroom filter, shadow mode and Watch thresholds. */
import type { PolicyParser } from "../model/policy-parser.js";

/** Remaining-ratio thresholds whose crossing Watch reports when the config names none. */
export const DEFAULT_QUOTA_WATCH_THRESHOLDS = [0.1, 0] as const;
/** 0: the headroom filter is off. */
export const DEFAULT_QUOTA_FILTER_THRESHOLD = 0;

/** Parses `config.quota`, recording every bad field under `path`. */
export const parseQuotaPolicy: PolicyParser<"quota"> = (input, path, v) => {
  const q = input ?? {};
  const thresholds = q.watchThresholds?.length ? q.watchThresholds : DEFAULT_QUOTA_WATCH_THRESHOLDS;
  thresholds.forEach((t, i) => {
    v.numberInRange(`${path}.watch_thresholds[${i}]`, t, 0, 1, 0);
  });
  return {
    filterThreshold: v.numberInRange(
      `${path}.filter_threshold`,
      q.filterThreshold,
      0,
      1,
      DEFAULT_QUOTA_FILTER_THRESHOLD,
    ),
    shadow: q.shadow ?? false,
    watchThresholds: [...thresholds] as number[],
  };
};
