import * as http2 from "node:http2";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { REQUEST_CLOSED, reasonOfH2Close, reasonOfNodeError } from "../../../src/rpc/web-abort-reason.js";

/** A Node-style error carrying `code`, as sockets and streams raise them. */
function nodeError(message: string, code: string, cause?: unknown): Error {
  return Object.assign(new Error(message, cause === undefined ? {} : { cause }), { code });
}

describe("web abort reasons", () => {
  it("an HTTP/2 close without an error code is the shared closed reason", () => {
    const { NGHTTP2_NO_ERROR, NGHTTP2_STREAM_CLOSED } = http2.constants;
    for (const rstCode of [undefined, NGHTTP2_NO_ERROR, NGHTTP2_STREAM_CLOSED, 0x99])
      expect(reasonOfH2Close(rstCode)).toBe(REQUEST_CLOSED);
    expect(REQUEST_CLOSED.code).toBe(Code.Canceled);
  });

  it("an HTTP/2 reset names its error code and maps it", () => {
    const { constants } = http2;
    const cases: [number, Code][] = [
      [constants.NGHTTP2_CANCEL, Code.Canceled],
      [constants.NGHTTP2_PROTOCOL_ERROR, Code.Internal],
      [constants.NGHTTP2_REFUSED_STREAM, Code.Unavailable],
      [constants.NGHTTP2_ENHANCE_YOUR_CALM, Code.ResourceExhausted],
      [constants.NGHTTP2_HTTP_1_1_REQUIRED, Code.PermissionDenied],
    ];
    for (const [rstCode, code] of cases) expect(reasonOfH2Close(rstCode).code).toBe(code);
    expect(reasonOfH2Close(constants.NGHTTP2_CANCEL).rawMessage).toBe(
      "http/2 stream closed with error code CANCEL (0x8)",
    );
  });

  it("a socket error maps by the first Node code along its cause chain and keeps the error as cause", () => {
    const reset = nodeError("aborted", "ECONNRESET");
    const aborted = reasonOfNodeError(reset);
    expect(aborted.code).toBe(Code.Aborted);
    expect(aborted.rawMessage).toBe("aborted");
    expect(aborted.cause).toBe(reset);
    expect(reasonOfNodeError(new Error("wrapped", { cause: nodeError("x", "ETIMEDOUT") })).code).toBe(
      Code.Unavailable,
    );
    expect(reasonOfNodeError(nodeError("late write", "ERR_STREAM_WRITE_AFTER_END")).code).toBe(Code.Aborted);
    expect(reasonOfNodeError(new Error("other")).code).toBe(Code.Internal);
    const already = new ConnectError("mine", Code.NotFound);
    expect(reasonOfNodeError(already)).toBe(already);
  });
});
