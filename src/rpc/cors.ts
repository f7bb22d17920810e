/**
 * CORS on the web port, so a page on another origin can call Select and Watch over Connect
 * and gRPC-Web: the methods and headers are Connect's own lists (`cors` of @connectrpc/connect),
 * the allowed origins come from `web.corsOrigins` (none by default; `*` only when configured).
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import { cors } from "@connectrpc/connect";

/** How long a browser may cache a preflight answer. */
const PREFLIGHT_MAX_AGE_S = 7_200;

type Request = http.IncomingMessage | http2.Http2ServerRequest;
type Response = http.ServerResponse | http2.Http2ServerResponse;

/** The value of Access-Control-Allow-Origin for `origin`, or undefined when it is not allowed. */
function allowedOrigin(origins: readonly string[], origin: string | undefined): string | undefined {
  if (!origin) return undefined;
  if (origins.includes("*")) return "*";
  return origins.includes(origin) ? origin : undefined;
}

/**
 * Wraps a request handler: answers preflights (OPTIONS with Access-Control-Request-Method)
 * itself, and adds the CORS headers to every request from an allowed origin. Requests from
 * other origins pass through unchanged, so the browser blocks them.
 */
export function withCors<Req extends Request, Res extends Response>(
  origins: readonly string[],
  handler: (req: Req, res: Res) => void,
): (req: Req, res: Res) => void {
  if (origins.length === 0) return handler;
  return (req, res) => {
    const origin = allowedOrigin(origins, req.headers.origin);
    if (origin) {
      res.setHeader("access-control-allow-origin", origin);
      if (origin !== "*") res.setHeader("vary", "Origin");
      res.setHeader("access-control-expose-headers", cors.exposedHeaders.join(", "));
    }
    if (req.method === "OPTIONS" && req.headers["access-control-request-method"]) {
      if (origin) {
        res.setHeader("access-control-allow-methods", cors.allowedMethods.join(", "));
        res.setHeader("access-control-allow-headers", cors.allowedHeaders.join(", "));
        res.setHeader("access-control-max-age", String(PREFLIGHT_MAX_AGE_S));
      }
      res.writeHead(origin ? 204 : 403);
      res.end();
      return;
    }
    handler(req, res);
  };
}
