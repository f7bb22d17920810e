/**
 * `--state <kind>.<field>=<value>` (repeatable): the command-line form of `state.<kind>.<field>`,
 * e.g. `--state pins.failureMode=l1Only --state quota.attempts=5`. Values made only of digits
 * are numbers; the schema (state-schema.ts) then checks kind, field and value and names the
 * field in its message.
 */
import { InvalidArgumentError } from "commander";

/** Parsed `--state` flags, shaped like the config's `state` section. */
export type StateOverrides = Record<string, Record<string, string | number>>;

/** Commander's reducer for one `--state` flag: adds `kind.field=value` to `previous`. */
export function collectStateFlag(value: string, previous: StateOverrides = {}): StateOverrides {
  const match = /^([A-Za-z]+)\.([A-Za-z0-9]+)=(.+)$/.exec(value);
  if (!match) throw new InvalidArgumentError(`must be <kind>.<field>=<value>, got ${JSON.stringify(value)}`);
  const [, kind = "", field = "", raw = ""] = match;
  const parsed = /^\d+$/.test(raw) ? Number(raw) : raw;
  return { ...previous, [kind]: { ...previous[kind], [field]: parsed } };
}
