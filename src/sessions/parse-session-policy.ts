/** The `session` section of a service config (P1-P6): routing mode, stateful commands, pin and negative TTLs. */
import type { PolicyParser } from "../model/policy-parser.js";
import type { RoutingMode } from "../model/specs.js";

export const DEFAULT_ROUTING_MODE: RoutingMode = "hybrid";
/** A pin nobody used for this long is released (P3). */
export const DEFAULT_SESSION_IDLE_TTL_MS = 600_000;
/** How long a NOT_FOUND keeps a backend out for its resource key (P6). */
export const DEFAULT_NEGATIVE_TTL_MS = 60_000;

/** Parses `config.session`, recording every bad field under `path`. */
export const parseSessionPolicy: PolicyParser<"session"> = (input, path, v) => {
  const s = input ?? {};
  const statefulCommands = (s.statefulCommands ?? []).map((cmd, i) => {
    const upper = (cmd ?? "").trim().toUpperCase();
    if (!upper) v.add(`${path}.stateful_commands[${i}]`, "must not be empty");
    return upper;
  });
  return {
    routingMode: s.routingMode ?? DEFAULT_ROUTING_MODE,
    statefulCommands,
    modeReaderStateful: s.modeReaderStateful ?? false,
    idleTtlMs: v.duration(`${path}.idle_ttl`, s.idleTtlMs, DEFAULT_SESSION_IDLE_TTL_MS),
    allowRepin: s.allowRepin ?? false,
    negativeTtlMs: v.duration(`${path}.negative_ttl`, s.negativeTtlMs, DEFAULT_NEGATIVE_TTL_MS),
  };
};
