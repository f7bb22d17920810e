import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { fc, test } from "@fast-check/vitest";
import { describe, expect } from "vitest";
import { SelectResponseSchema, SelectStreamResponseSchema } from "../../../gen/fulcrum/v1/balancer_pb.js";
import type { BackendSpec } from "../../../src/model/specs.js";
import {
  EncodingCache,
  encodeSelection,
  encodeSelectResponseFast,
  encodeSelectStreamResponse,
  encodeSelectStreamResponseFast,
} from "../../../src/rpc/codec/index.js";

const text = fc.string({ unit: "grapheme", maxLength: 12 });
const spec = fc.record({
  id: text,
  address: text,
  zone: text,
  labels: fc.dictionary(text, text, { maxKeys: 3 }),
});

describe("SelectResponse hand-written encoding", () => {
  test.prop([
    fc.array(spec, { maxLength: 4 }),
    text,
    fc.boolean(),
    fc.nat({ max: 2 ** 40 }),
    fc.constantFrom<"per_command" | "stateful" | undefined>(undefined, "per_command", "stateful"),
    fc.boolean(),
  ])(
    "O10 is byte for byte what toBinary writes (probe flag included), and decodes to the same message",
    (specs, ticket, degraded, version, mode, probe) => {
      const backends = specs.map((s) => ({ spec: s as unknown as BackendSpec }));
      const cache = new EncodingCache();
      const message = encodeSelection(
        { backends, ticket, degraded, version, explanation: undefined, probe },
        mode,
        cache,
      );
      const fast = encodeSelectResponseFast(message, cache);
      expect(fast).toBeDefined();
      expect(Buffer.from(fast!)).toEqual(Buffer.from(toBinary(SelectResponseSchema, message)));
      expect(fromBinary(SelectResponseSchema, fast!)).toEqual(
        fromBinary(SelectResponseSchema, toBinary(SelectResponseSchema, message)),
      );
    },
  );

  test.prop([
    fc.array(spec, { maxLength: 3 }),
    text,
    fc.nat({ max: 2 ** 40 }),
    fc.oneof(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.constant(0n)),
  ])(
    "SelectStreamResponse: byte for byte what toBinary writes (ids past 2^53 declined to the generic encoder)",
    (specs, ticket, version, requestId) => {
      const backends = specs.map((s) => ({ spec: s as unknown as BackendSpec }));
      const cache = new EncodingCache();
      const response = encodeSelection(
        { backends, ticket, degraded: false, version, explanation: undefined },
        undefined,
        cache,
      );
      const message = encodeSelectStreamResponse(requestId, { response });
      const fast = encodeSelectStreamResponseFast(message, cache);
      if (requestId > BigInt(Number.MAX_SAFE_INTEGER)) {
        expect(fast).toBeUndefined();
        return;
      }
      expect(Buffer.from(fast!)).toEqual(Buffer.from(toBinary(SelectStreamResponseSchema, message)));
    },
  );

  test.prop([text])("declines a message with an explanation, leaving it to the generic encoder", (reason) => {
    const message = encodeSelection(
      {
        backends: [],
        ticket: "t",
        degraded: false,
        version: 1,
        explanation: { strategy: "round_robin", filters: [], candidates: [], reason },
      },
      undefined,
      new EncodingCache(),
    );
    expect(encodeSelectResponseFast(message, new EncodingCache())).toBeUndefined();
  });
});
