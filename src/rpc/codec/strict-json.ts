/**
 * The strict JSON contract of the web port (docs/behaviour.md O5): a Connect or gRPC-Web JSON
 * request may not carry a field its message does not define, nor an enum name its enum does
 * not define. protobuf-es rejects both when `ignoreUnknownFields` is false, but its error
 * names only the message type; this check walks the parsed JSON beside the message
 * descriptor first, so the caller is told the field path (`config.strategy.strategy`) and
 * what would have been accepted. Shapes that are wrong in other ways (a string for a number,
 * a bad Duration) are left to protobuf-es, which rejects them too.
 */
import type { DescField, DescMessage, Registry } from "@bufbuild/protobuf";
import type { FieldViolation } from "../../shared/errors.js";
import { unknownEnumValue } from "./enum-names.js";
import { ERROR_DETAIL_TYPES } from "./error-details.js";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Well-known types have their own JSON forms (Duration as "1.5s", Any with "@type"): protobuf-es checks those. */
function hasOwnJsonForm(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

function fieldNamed(desc: DescMessage, key: string): DescField | undefined {
  return desc.fields.find((f) => f.jsonName === key || f.name === key);
}

/** The first problem with one value of `field` (a singular value, a list item or a map value). */
function checkValue(field: DescField, value: Json, path: string): FieldViolation | undefined {
  if (value === null) return undefined;
  const desc = field.fieldKind === "scalar" ? undefined : (field.enum ?? field.message);
  if (!desc) return undefined;
  if (desc.kind === "enum") {
    if (typeof value !== "string" || desc.values.some((v) => v.name === value)) return undefined;
    return { field: path, description: unknownEnumValue(desc, value) };
  }
  return checkMessage(desc, value, path);
}

/** The first unknown field or unknown enum name in `json` read as a `desc` message; undefined when none. */
export function checkMessage(desc: DescMessage, json: Json, path = ""): FieldViolation | undefined {
  if (!isObject(json) || hasOwnJsonForm(desc)) return undefined;
  const at = (name: string) => (path ? `${path}.${name}` : name);
  for (const [key, value] of Object.entries(json)) {
    const field = fieldNamed(desc, key);
    if (!field) {
      const known = desc.fields.map((f) => f.name).join(", ");
      return { field: at(key), description: `unknown field of ${desc.typeName}; known: ${known}` };
    }
    const problem = checkField(field, value, at(field.name));
    if (problem) return problem;
  }
  return undefined;
}

function checkField(field: DescField, value: Json, path: string): FieldViolation | undefined {
  if (field.fieldKind === "list" && Array.isArray(value)) {
    for (const [i, item] of value.entries()) {
      const problem = checkValue(field, item, `${path}[${i}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  if (field.fieldKind === "map" && isObject(value)) {
    for (const [key, item] of Object.entries(value)) {
      const problem = checkValue(field, item, `${path}[${JSON.stringify(key)}]`);
      if (problem) return problem;
    }
    return undefined;
  }
  return checkValue(field, value, path);
}

/** Parses `text` as JSON; undefined when it is not JSON (protobuf-es then reports that). */
function parseJson(text: string): Json | undefined {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return undefined;
  }
}

/** What connect-node's JSON serialization of one method reads with (its `jsonOptions`). */
export interface StrictJsonOptions {
  readonly ignoreUnknownFields: false;
  /** Types an Any in an answer may hold (error details). */
  readonly registry: Registry;
  readonly textDecoder: { decode(input?: Uint8Array): string };
}

/**
 * JSON read options for requests of `desc`: unknown fields rejected, and before protobuf-es
 * parses the text, the first unknown field or enum name is handed to `reject` as a violation
 * naming its path; `reject` returns the error to throw (INVALID_ARGUMENT with its details).
 */
export function strictJsonOptions(
  desc: DescMessage,
  reject: (violation: FieldViolation) => Error,
): StrictJsonOptions {
  const utf8 = new TextDecoder();
  return {
    ignoreUnknownFields: false,
    registry: ERROR_DETAIL_TYPES,
    textDecoder: {
      decode(input) {
        const text = utf8.decode(input);
        const json = parseJson(text);
        const problem = json === undefined ? undefined : checkMessage(desc, json);
        if (problem) throw reject(problem);
        return text;
      },
    },
  };
}
