/**
 * Wire primitives every message family shares: google.protobuf.Duration <-> milliseconds and
 * proto enums <-> the core's lower-case names. Problems are collected as field violations so
 * one request reports all of them at once.
 */
import { create, type DescEnum } from "@bufbuild/protobuf";
import { type Duration, DurationSchema } from "@bufbuild/protobuf/wkt";
import { type FieldViolation, invalidArgument } from "../../shared/errors.js";
import { unknownEnumValue } from "./enum-names.js";

/** A Duration in ms; undefined when unset. A negative or non-finite duration is a violation of `field`. */
export function toMs(
  duration: Duration | undefined,
  field: string,
  bad: FieldViolation[],
): number | undefined {
  if (!duration) return undefined;
  const ms = Number(duration.seconds) * 1000 + duration.nanos / 1e6;
  if (ms < 0 || !Number.isFinite(ms)) bad.push({ field, description: `must not be negative, got ${ms} ms` });
  return ms;
}

/** Milliseconds as a Duration (whole seconds plus nanos). */
export function fromMs(ms: number): Duration {
  const seconds = Math.floor(ms / 1000);
  return create(DurationSchema, { seconds: BigInt(seconds), nanos: Math.round((ms - seconds * 1000) * 1e6) });
}

/**
 * An enum number as the core's lower-case name (STRATEGY_ROUND_ROBIN -> "round_robin");
 * undefined for the zero value (UNSPECIFIED: the core applies its default). A number the enum
 * does not define selects no behaviour we know: a violation of `field` naming the known values
 * (docs/behaviour.md O5).
 */
export function enumName(
  desc: DescEnum,
  value: number,
  field: string,
  bad: FieldViolation[],
): string | undefined {
  const known = desc.value[value];
  if (known === undefined) {
    bad.push({ field, description: unknownEnumValue(desc, value) });
    return undefined;
  }
  return value === 0 ? undefined : known.localName.toLowerCase();
}

/** The core's lower-case name as an enum number: "round_robin" -> Strategy.ROUND_ROBIN. */
export function enumValue<E extends Record<string, string | number>>(e: E, name: string): E[keyof E] {
  return e[name.toUpperCase() as keyof E];
}

/** Throws INVALID_ARGUMENT naming every collected violation; returns when there are none. */
export function throwIfBad(bad: readonly FieldViolation[]): void {
  if (bad.length > 0) throw invalidArgument(bad);
}
