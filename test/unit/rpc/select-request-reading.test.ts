import { create, type DescMessage, fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { SelectRequestSchema, SelectStreamRequestSchema } from "../../../gen/fulcrum/v1/balancer_pb.js";
import { messageDecoder } from "../../../src/rpc/codec/index.js";

const text = fc.oneof(fc.string({ maxLength: 12 }), fc.string({ unit: "grapheme", maxLength: 200 }));
const selectInit = fc.record(
  {
    service: text,
    hashKey: text,
    sessionId: text,
    command: text,
    zone: text,
    resourceKey: text,
    exclude: fc.array(text, { maxLength: 2 }),
    labels: fc.dictionary(text, text, { maxKeys: 2 }),
    cost: fc.dictionary(text, fc.double({ noNaN: true }), { maxKeys: 2 }),
    count: fc.nat(),
    explain: fc.boolean(),
  },
  { requiredKeys: [] },
);
const streamInit = fc.record(
  { requestId: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), select: selectInit },
  { requiredKeys: [] },
);

/** What decoding `bytes` gives: the message, or that it threw. */
function outcome(decode: (bytes: Buffer) => unknown, bytes: Uint8Array) {
  try {
    return { message: decode(Buffer.from(bytes)) };
  } catch {
    return { threw: true };
  }
}

function sameAsFromBinary(desc: DescMessage, bytes: Uint8Array) {
  expect(outcome(messageDecoder(desc), bytes)).toEqual(outcome((b) => fromBinary(desc, b), bytes));
}

describe("SelectRequest and SelectStreamRequest hand-written reading", () => {
  test.prop([selectInit])("reads every SelectRequest exactly as fromBinary does", (init) => {
    sameAsFromBinary(SelectRequestSchema, toBinary(SelectRequestSchema, create(SelectRequestSchema, init)));
  });

  test.prop([streamInit])("reads every SelectStreamRequest exactly as fromBinary does", (init) => {
    sameAsFromBinary(
      SelectStreamRequestSchema,
      toBinary(SelectStreamRequestSchema, create(SelectStreamRequestSchema, init)),
    );
  });

  test.prop([
    fc.uint8Array({ maxLength: 40 }),
    fc.constantFrom(SelectRequestSchema, SelectStreamRequestSchema),
  ])(
    "arbitrary bytes: the same message or the same refusal as fromBinary (invalid UTF-8, truncation, unknown fields)",
    (bytes, desc) => sameAsFromBinary(desc, bytes),
  );

  test.prop([fc.uint8Array({ maxLength: 30 })])(
    "a service field with arbitrary bytes inside is read or refused like fromBinary",
    (inner) => {
      const bytes = Buffer.concat([Buffer.from([0x0a, inner.length]), inner]);
      sameAsFromBinary(SelectRequestSchema, bytes);
      sameAsFromBinary(SelectStreamRequestSchema, Buffer.concat([Buffer.from([0x12, bytes.length]), bytes]));
    },
  );
});
