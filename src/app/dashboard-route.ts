/**
 * Serves the dashboard's allow-listed files on the web port (behaviour.md O9) with headers that
 * keep the page to itself: a Content-Security-Policy without inline scripts or styles that lets
 * the page talk only to its own origin, nosniff, no framing, no referrer. GET and HEAD only.
 */
import type { HttpRoute } from "../rpc/connect-server.js";
import type { Asset, AssetLoader } from "./dashboard-assets.js";

/** Scripts, styles, images and API calls from this origin only; nothing inline, no frames, no forms. */
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  // Revalidate every time (ETag): a restarted server with a changed page is seen at once.
  "cache-control": "no-cache",
};

/** The request's path without its query; undefined when it is not a plain path. */
function pathOf(url: string | undefined): string | undefined {
  if (!url?.startsWith("/")) return undefined;
  const query = url.indexOf("?");
  return query < 0 ? url : url.slice(0, query);
}

/** The dashboard route; `onError` hears of an asset that failed to load (a 500 is answered). */
export function dashboardRoute(
  assets: ReadonlyMap<string, AssetLoader>,
  onError: (cause: unknown) => void,
): HttpRoute {
  return (req, res) => {
    const path = pathOf(req.url);
    const load = path === undefined ? undefined : assets.get(path);
    if (!load) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD", "content-type": "text/plain" });
      res.end("method not allowed\n");
      return true;
    }
    load().then(
      (asset: Asset) => {
        const headers = { ...SECURITY_HEADERS, etag: asset.etag };
        if (req.headers["if-none-match"] === asset.etag) {
          res.writeHead(304, headers);
          res.end();
          return;
        }
        res.writeHead(200, {
          ...headers,
          "content-type": asset.contentType,
          "content-length": String(asset.body.length),
        });
        if (req.method === "HEAD") res.end();
        else res.end(asset.body);
      },
      (cause: unknown) => {
        onError(cause);
        res.writeHead(500, { ...SECURITY_HEADERS, "content-type": "text/plain" });
        res.end("dashboard unavailable; see the server log\n");
      },
    );
    return true;
  };
}
