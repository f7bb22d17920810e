/** How an unknown enum value is told to the caller: the value given and every name the enum knows. */
import type { DescEnum } from "@bufbuild/protobuf";

/** `unknown value "X"; expected A, B, C` (numbers are shown bare). */
export function unknownEnumValue(desc: DescEnum, given: string | number): string {
  const shown = typeof given === "number" ? String(given) : JSON.stringify(given);
  return `unknown value ${shown}; expected ${desc.values.map((v) => v.name).join(", ")}`;
}
