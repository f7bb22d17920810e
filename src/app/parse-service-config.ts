/** The service config parser: one parser per section, each from the subsystem that owns the section. */
import { parseLoadPolicy } from "../balancer/parse-load-policy.js";
import { parseStrategy } from "../balancer/strategies/parse-strategy.js";
import { parseHealthPolicy } from "../health/parse-health-policy.js";
import { parseOutlierPolicy } from "../health/parse-outlier-policy.js";
import { type ServiceConfigParser, serviceConfigParser } from "../model/policy-parser.js";
import { parseQuotaPolicy } from "../quota/parse-quota-policy.js";
import { parseSessionPolicy } from "../sessions/parse-session-policy.js";

/** Resolves a requested service config (undefined: every default), recording every bad field. */
export const parseServiceConfig: ServiceConfigParser = serviceConfigParser({
  strategy: parseStrategy,
  health: parseHealthPolicy,
  outlier: parseOutlierPolicy,
  quota: parseQuotaPolicy,
  session: parseSessionPolicy,
  load: parseLoadPolicy,
});
