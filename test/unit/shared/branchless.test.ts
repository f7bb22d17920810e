import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { selectInt } from "../../../src/shared/branchless.js";

describe("selectInt", () => {
  test.prop([
    fc.boolean(),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
    fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  ])("is condition ? ifTrue : ifFalse for every int32 pair", (condition, ifTrue, ifFalse) => {
    expect(selectInt(condition, ifTrue, ifFalse)).toBe(condition ? ifTrue : ifFalse);
  });
});
