/**
 * A Node request (HTTP/1.1 or HTTP/2) as the UniversalServerRequest connect-es handlers take:
 * connect-node's universalRequestFromNodeRequest, field for field, except that a request that
 * closes without an error aborts its signal with one shared reason (web-abort-reason.ts).
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import type { ContextValues } from "@connectrpc/connect";
import type { UniversalServerRequest } from "@connectrpc/connect/protocol";
import { REQUEST_CLOSED, reasonOfH2Close, reasonOfNodeError } from "./web-abort-reason.js";

type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** Node's request headers as fetch Headers: HTTP/2 pseudo-headers left out, repeated values appended. */
function webHeaders(nodeHeaders: http.IncomingHttpHeaders): Headers {
  const headers = new Headers();
  for (const name of Object.keys(nodeHeaders)) {
    if (name.startsWith(":")) continue;
    const value: string | string[] | number | undefined = nodeHeaders[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const one of value) headers.append(name, one);
    else headers.append(name, typeof value === "number" ? String(value) : value);
  }
  return headers;
}

async function* chunksOf(req: NodeRequest): AsyncIterable<Uint8Array> {
  for await (const chunk of req) yield chunk as Uint8Array;
}

/**
 * Aborts `controller` when the exchange is over. HTTP/2: when the request closes, with the
 * reset code's reason. HTTP/1.1: on a request error, or when the response closes (the request
 * closes as soon as its body is read, long before the call ends).
 */
function abortWhenClosed(req: NodeRequest, res: NodeResponse, controller: AbortController): void {
  if ("stream" in req) {
    const stream = req.stream;
    req.once("close", () => controller.abort(reasonOfH2Close(stream.rstCode)));
    return;
  }
  const onError = (error: unknown) => {
    req.off("error", onError);
    res.off("close", onClose);
    controller.abort(reasonOfNodeError(error));
  };
  const onClose = () => {
    req.off("error", onError);
    res.off("close", onClose);
    // The response can close before the request's error is emitted.
    controller.abort(req.errored ? reasonOfNodeError(req.errored) : REQUEST_CLOSED);
  };
  req.once("error", onError);
  res.once("close", onClose);
}

/** The request's URL, from its authority and path; undefined when it names no host or one no URL can hold. */
function urlOf(req: NodeRequest): string | undefined {
  const authority = "authority" in req ? req.authority : req.headers.host;
  if (authority === undefined) return undefined;
  const protocol = "encrypted" in req.socket && req.socket.encrypted ? "https" : "http";
  try {
    return new URL(req.url ?? "", `${protocol}://${authority}`).toString();
  } catch {
    return undefined;
  }
}

/**
 * The UniversalServerRequest of a Node request; its signal aborts when the exchange closes.
 * Undefined for a request without a usable host (an HTTP/1.0 request may leave out Host, and a
 * Host header can hold anything), where connect-node throws: thrown from a request listener,
 * that would end the process.
 */
export function universalRequestOf(
  req: NodeRequest,
  res: NodeResponse,
  contextValues: ContextValues | undefined,
): UniversalServerRequest | undefined {
  const url = urlOf(req);
  if (url === undefined) return undefined;
  const controller = new AbortController();
  abortWhenClosed(req, res, controller);
  return {
    httpVersion: req.httpVersion,
    method: req.method ?? "",
    url,
    header: webHeaders(req.headers),
    body: chunksOf(req),
    signal: controller.signal,
    contextValues,
  };
}
